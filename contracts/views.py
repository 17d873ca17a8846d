"""Award pages: evaluation and scenarios, objections, finalization, published results.

Thin: check the role, fetch through a selector, validate a form, call one service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Case, Count, F, Max, When
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import hospital_required, office_required, role_required
from accounts.models import Organization, Region
from accounts.pagination import paginate
from bidding.models import OpenedBid
from contracts import reassignment, selectors, services
from contracts.forms import (
    AmendmentForm,
    BackupForm,
    ObjectionAnswerForm,
    ObjectionForm,
    PickForm,
    PurchaseForm,
    PurchaseUploadForm,
    ScenarioForm,
    SelectionOpenForm,
    SupplyFailureForm,
    SwitchForm,
)
from contracts.models import (
    BidResult,
    Contract,
    ContractLine,
    EvaluationRun,
    ItemAward,
    Objection,
    ProvinceAllocation,
    ProvinceChoice,
    ProvinceSelection,
    Purchase,
    SupplyFailure,
)
from contracts.reassignment_forms import LostVolumeChoiceForm
from contracts.tasks import CONTRACT_PDF_WAIT
from procurement.models import Round

party_required = role_required(Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER)


def _query(request: HttpRequest) -> str:
    """The list's search text (``?q=``), trimmed and bounded."""
    return request.GET.get("q", "").strip()[:100]


def _id(text: str) -> int | None:
    """A row id from a query parameter; None for anything else ("²" passes ``isdigit`` but
    not ``int``; a number too large for the database column would be a 500)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def _error(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


# --- office: evaluation and scenarios -----------------------------------------------------


def _office_round_action(
    request: HttpRequest, round_id: int, action: Callable[..., object], success: str
) -> HttpResponse:
    """One office button on the award page: call the service, report, back to the page."""
    round_ = selectors.round_get_for_office(user=request.user, round_id=round_id)  # type: ignore[arg-type]
    try:
        action(round_=round_, by=request.user)
        messages.success(request, success)
    except ValidationError as exc:
        _error(request, exc)
    return redirect("contracts:round", round_id=round_.pk)


@office_required
def round_award(request: HttpRequest, round_id: int) -> HttpResponse:
    round_ = selectors.round_get_for_office(user=request.user, round_id=round_id)  # type: ignore[arg-type]
    return render(request, "contracts/round_award.html", _round_context(request, round_))


ROUND_PAGE_OBJECTIONS = 20


def _round_context(request: HttpRequest, round_: Any, **extra: Any) -> dict[str, Any]:
    all_runs = selectors.run_list_for_round(round_=round_).order_by("-requested_at", "-pk")
    runs = list(all_runs[:30])  # the latest, for the runs still pending
    contract_counts = [
        (Contract.Status(status).label, count)
        for status, count in round_.contracts.values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
        .order_by("status")
    ]
    official = selectors.official_run(round_=round_)
    return {
        "round": round_,
        "page_obj": paginate(request, all_runs),
        "official": official,
        "pending": [r for r in runs if r.is_pending],
        "comparison": services.evaluation_comparison(round_=round_),
        "scenario_form": extra.pop("scenario_form", None) or ScenarioForm(round_=round_),
        # The open ones first; the full list is the objections page of the round.
        "objections": round_.objections.select_related("round_item__item", "organization")
        .annotate(answered=Case(When(status=Objection.Status.OPEN, then=0), default=1))
        .order_by("answered", "-filed_at", "-pk")[:ROUND_PAGE_OBJECTIONS],
        "objection_count": round_.objections.count(),
        "open_objections": round_.objections.filter(status=Objection.Status.OPEN).count(),
        "can_evaluate": round_.status in services.EVALUABLE,
        "selection": ProvinceSelection.objects.filter(round=round_).first(),
        "selection_form": SelectionOpenForm(),
        "contract_counts": contract_counts,
        # What has to happen before the contracts can be drawn up ("" once they can).
        "contracts_blocker": ""
        if contract_counts or round_.status != Round.Status.AWARDED
        else services.contracts_generate_blocker(round_=round_),
        "contracts_pending": None
        if contract_counts
        else services.contracts_generate_pending(round_=round_),
        "contracts_unfinished": None
        if contract_counts
        else services.contracts_generate_unfinished(round_=round_),
        "provisional": selectors.provisional_rounds(round_ids=[round_.pk]).get(round_.pk, ""),
        **extra,
    }


@office_required
@require_POST
def evaluate(request: HttpRequest, round_id: int) -> HttpResponse:
    round_ = selectors.round_get_for_office(user=request.user, round_id=round_id)  # type: ignore[arg-type]
    try:
        run = services.evaluation_request(round_=round_, by=request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        _error(request, exc)
        return redirect("contracts:round", round_id=round_.pk)
    return redirect("contracts:run", run_id=run.pk)


@office_required
@require_POST
def scenario(request: HttpRequest, round_id: int) -> HttpResponse:
    round_ = selectors.round_get_for_office(user=request.user, round_id=round_id)  # type: ignore[arg-type]
    form = ScenarioForm(request.POST, round_=round_)
    if not form.is_valid():
        return render(
            request,
            "contracts/round_award.html",
            _round_context(request, round_, scenario_form=form),
            status=400,
        )
    try:
        run = services.evaluation_request(
            round_=round_,
            by=request.user,  # type: ignore[arg-type]
            rule_set=form.cleaned_data["rule_set"],
        )
    except ValidationError as exc:
        _error(request, exc)
        return redirect("contracts:round", round_id=round_.pk)
    return redirect("contracts:run", run_id=run.pk)


@office_required
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = selectors.run_get_for_office(user=request.user, run_id=run_id)  # type: ignore[arg-type]
    context: dict[str, Any] = {"run": run, "round": run.round}
    if run.status == EvaluationRun.Status.DONE:
        context["items"] = selectors.results_tables(run=run.source_run)
    return render(request, "contracts/run_detail.html", context)


@office_required
def run_progress(request: HttpRequest, run_id: int) -> HttpResponse:
    """The htmx-polled progress partial; when the run ends, the page reloads itself."""
    run = selectors.run_get_for_office(user=request.user, run_id=run_id)  # type: ignore[arg-type]
    response = render(request, "contracts/_run_progress.html", {"run": run})
    if not run.is_pending and getattr(request, "htmx", False):
        response["HX-Refresh"] = "true"
    return response


@office_required
@require_POST
def run_retry(request: HttpRequest, run_id: int) -> HttpResponse:
    run = selectors.run_get_for_office(user=request.user, run_id=run_id)  # type: ignore[arg-type]
    try:
        services.evaluation_retry(run=run, by=request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        _error(request, exc)
    return redirect("contracts:run", run_id=run.pk)


# --- office: objection period, answers, finalization ---------------------------------------


@office_required
@require_POST
def objection_period(request: HttpRequest, round_id: int) -> HttpResponse:
    return _office_round_action(
        request,
        round_id,
        services.objection_period_open,
        _("The proposed winners are published for objections."),
    )


@office_required
@require_POST
def finalize(request: HttpRequest, round_id: int) -> HttpResponse:
    return _office_round_action(
        request,
        round_id,
        services.award_finalize,
        _("The award is final and the results are published."),
    )


@office_required
def objection_answer(request: HttpRequest, objection_id: int) -> HttpResponse:
    objection = selectors.objection_get_for_user(user=request.user, objection_id=objection_id)  # type: ignore[arg-type]
    bids = list(
        OpenedBid.objects.filter(round_item=objection.round_item)
        .select_related("manufacturer", "specification")
        .order_by("unit_comparable_price", "pk")
    )
    form = ObjectionAnswerForm(request.POST or None, bids=bids)
    if request.method == "POST" and objection.status == Objection.Status.OPEN and form.is_valid():
        data = form.cleaned_data
        try:
            if data["decision"] == ObjectionAnswerForm.UPHOLD:
                run = services.objection_uphold(
                    objection=objection,
                    by=request.user,  # type: ignore[arg-type]
                    answer=data["answer"],
                    excluded_bid_id=data["excluded_bid"],
                )
                messages.success(
                    request, _("Objection upheld; the evaluation runs again without the bid.")
                )
                return redirect("contracts:run", run_id=run.pk)
            services.objection_dismiss(
                objection=objection,
                by=request.user,  # type: ignore[arg-type]
                answer=data["answer"],
            )
            messages.success(request, _("Objection dismissed."))
            return redirect("contracts:round", round_id=objection.round_id)
        except ValidationError as exc:
            form.add_error(None, exc)
    return render(
        request,
        "contracts/objection_answer.html",
        {"objection": objection, "form": form, "round": objection.round},
        status=400 if request.method == "POST" else 200,
    )


# --- hospitals and manufacturers -----------------------------------------------------------


@party_required
def objection_new(request: HttpRequest, round_id: int) -> HttpResponse:
    round_, run = selectors.published_round_get(round_id=round_id)
    awards = list(ItemAward.objects.filter(run=run).select_related("round_item__item"))
    form = ObjectionForm(request.POST or None, request.FILES or None, awards=awards)
    if request.method == "POST" and form.is_valid():
        try:
            services.objection_file(
                round_=round_,
                round_item_id=form.cleaned_data["round_item"],
                by=request.user,  # type: ignore[arg-type]
                text=form.cleaned_data["text"],
                attachment=form.cleaned_data.get("attachment"),
            )
            messages.success(request, _("Your objection is filed; the office will answer it."))
            return redirect("contracts:objections")
        except ValidationError as exc:
            form.add_error(None, exc)
    return render(
        request,
        "contracts/objection_new.html",
        {
            "round": round_,
            "form": form,
            "open": round_.status == round_.Status.OBJECTION
            and timezone.now() < round_.objection_ends_at,
        },
        status=400 if request.method == "POST" else 200,
    )


@role_required(Organization.Kind.OFFICE, Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER)
def objections(request: HttpRequest) -> HttpResponse:
    """Objections (the office: of its rounds; a party: its own), newest first, by status."""
    listed = selectors.objection_list_for_user(user=request.user)  # type: ignore[arg-type]
    status = request.GET.get("status", "")
    if status in Objection.Status.values:
        listed = listed.filter(status=status)
    round_id = request.GET.get("round", "")
    if (round_pk := _id(round_id)) is not None:
        listed = listed.filter(round_id=round_pk)
    return render(
        request,
        "contracts/objections.html",
        {
            "page_obj": paginate(request, listed.order_by("-filed_at", "-pk")),
            "status": status,
            "statuses": Objection.Status.choices,
        },
    )


@party_required
def my_awards(request: HttpRequest) -> HttpResponse:
    """Results, provinces and hospital allocations; the hospital allocations a page at a
    time (a national winner supplies tens of thousands of hospitals), searchable, and each
    figure that may still change marked provisional."""
    user = request.user
    query = _query(request)
    provinces = list(selectors.province_allocations_list_for_user(user=user))  # type: ignore[arg-type]
    page = paginate(
        request,
        selectors.hospital_allocations_matching(
            selectors.hospital_allocations_list_for_user(user=user),  # type: ignore[arg-type]
            query,
        ),
    )
    rounds = {p.run.round for p in provinces} | {a.run.round for a in page}
    provisional = selectors.provisional_rounds(round_ids={r.pk for r in rounds})
    return render(
        request,
        "contracts/my_awards.html",
        {
            # Its own page parameter: the hospital allocations below read ?page=.
            "bid_results": paginate(
                request,
                selectors.bid_results_list_for_manufacturer(user=user).order_by(  # type: ignore[arg-type]
                    "-run__round__created_at", "round_item__item__code", "pk"
                ),
                param="results_page",
            ),
            "provinces": provinces,
            "page_obj": page,
            "q": query,
            "provisional": provisional,
            "provisional_notes": sorted(
                (r.code, provisional[r.pk]) for r in rounds if r.pk in provisional
            ),
            "selections": selectors.selection_list_for_manufacturer(user=user),  # type: ignore[arg-type]
        },
    )


@role_required(Organization.Kind.OFFICE, Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER)
def notifications(request: HttpRequest) -> HttpResponse:
    """The organization's notifications, newest first; the unread ones on the page shown
    are marked "new", then read (those on later pages stay unread until shown)."""
    page = paginate(
        request,
        selectors.notification_list_for_user(user=request.user).order_by("-created_at", "-pk"),  # type: ignore[arg-type]
    )
    response = render(request, "contracts/notifications.html", {"page_obj": page})
    services.notifications_mark_read(
        organization=request.user.organization,  # type: ignore[union-attr,arg-type]
        ids=[n.pk for n in page],
    )
    return response


# --- public --------------------------------------------------------------------------------


def results(request: HttpRequest, round_id: int) -> HttpResponse:
    """The published results: proposed winners during the objection period, then final."""
    round_, run = selectors.published_round_get(round_id=round_id)
    return render(
        request,
        "contracts/results.html",
        {
            "round": round_,
            "run": run,
            "final": round_.status in selectors.FINAL,
            "items": selectors.results_tables(run=run),
            "objection_url": reverse("contracts:objection-new", args=[round_.pk]),
            "provisional": selectors.provisional_rounds(round_ids=[round_.pk]).get(round_.pk, ""),
        },
    )


# --- province selection --------------------------------------------------------------------


@office_required
@require_POST
def selection_open(request: HttpRequest, round_id: int) -> HttpResponse:
    round_ = selectors.round_get_for_office(user=request.user, round_id=round_id)  # type: ignore[arg-type]
    form = SelectionOpenForm(request.POST)
    if form.is_valid():
        try:
            services.selection_open(
                round_=round_,
                by=request.user,  # type: ignore[arg-type]
                closes_at=form.cleaned_data["closes_at"],
            )
            messages.success(request, _("Province selection is open."))
            return redirect("contracts:selection", round_id=round_.pk)
        except ValidationError as exc:
            _error(request, exc)
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
    return redirect("contracts:round", round_id=round_.pk)


@office_required
@require_POST
def selection_close(request: HttpRequest, round_id: int) -> HttpResponse:
    selection = selectors.selection_get_for_user(user=request.user, round_id=round_id)  # type: ignore[arg-type]
    try:
        run = services.selection_close(selection=selection, by=request.user)  # type: ignore[arg-type]
        messages.success(request, _("Province selection closed; the platform assigns the rest."))
        return redirect("contracts:run", run_id=run.pk)
    except ValidationError as exc:
        _error(request, exc)
    return redirect("contracts:selection", round_id=round_id)


SELECTION_WAITING = {"open", "closing", "allocating"}


def _selection_state(selection_: ProvinceSelection, is_open: bool) -> str:
    """``open``; ``closing`` (time is up, the minute check has not closed it yet);
    ``allocating`` (closed, the platform's allocation runs); then ``done`` or ``failed``."""
    if is_open:
        return "open"
    if selection_.status == ProvinceSelection.Status.OPEN:
        return "closing"
    run = selection_.result_run
    if run is None or run.is_pending:
        return "allocating"
    return str(run.status)


def _selection_version(selection_: ProvinceSelection, state: str) -> str:
    """What the page shows, in one short string: the state and, per item, the latest
    pick (picks are only ever added, never changed). The page polls with it; a change
    means news."""
    latest = (
        ProvinceChoice.objects.filter(selection=selection_, kind=ProvinceChoice.Kind.PRIMARY)
        .values_list("round_item_id")
        .annotate(n=Max("pk"))
        .values_list("round_item_id", "n")
        .order_by("round_item_id")
    )
    return state + "|" + ",".join(f"{item}:{n}" for item, n in latest)


def _parse_version(version: str) -> tuple[str, dict[int, int]] | None:
    state, _sep, counts = version.partition("|")
    try:
        made = {
            int(item): int(n)
            for item, n in (part.split(":", 1) for part in counts.split(",") if part)
        }
    except ValueError:
        return None
    return state, made


def _selection_boards(
    request: HttpRequest,
    selection_: ProvinceSelection,
    is_open: bool,
    only: set[int] | None = None,
) -> list[dict[str, Any]]:
    """The draft board of each item the user may see (the office: all; a winner: its
    own items), with a pick form when it is the winner's turn. ``only``: those items."""
    org_id = request.user.organization_id  # type: ignore[union-attr]
    is_office = request.user.organization.kind == Organization.Kind.OFFICE  # type: ignore[union-attr]
    awards = (
        ItemAward.objects.filter(run=selection_.run.source_run)
        .select_related("round_item__item")
        .order_by("round_item__item__code")
    )
    if only is not None:
        awards = awards.filter(round_item_id__in=only)
    if not is_office:
        # A winner sees only its own items: skip building the others' boards (several
        # queries each) just to throw them away.
        awards = awards.filter(
            round_item_id__in=BidResult.objects.filter(
                run=selection_.run.source_run,
                manufacturer_id=org_id,
                outcome=BidResult.Outcome.WON,
            ).values("round_item_id")
        )
    regions = {r.pk: r for r in Region.objects.all()}
    boards = []
    for award in awards:
        item_id = award.round_item_id
        board = services.draft_board(selection=selection_, round_item_id=item_id)
        mine = next((w for w in board.winners if w.manufacturer_id == org_id), None)
        if mine is None and not is_office:
            continue
        current = board.current
        winners = {w.opened_bid_id: w for w in board.winners}
        entry: dict[str, Any] = {
            "award": award,
            "board": board,
            "picks": [
                {
                    "pick": p,
                    "winner": winners[p.bid_id],
                    "region": regions.get(p.region_id) if p.region_id else None,
                }
                for p in board.picks
            ],
            "free": board.free,
            "mine": mine,
            "choosing": winners[current.bid_id] if current is not None else None,
        }
        if mine is not None and is_open:
            if current is not None and current.bid_id == mine.opened_bid_id:
                entry["pick_form"] = PickForm(
                    initial={"round_item": item_id},
                    free=board.free,
                    auto_id=f"id_item{item_id}_%s",
                )
            if board.done_for(mine.opened_bid_id):
                own = {p.region_id for p in board.picks if p.bid_id == mine.opened_bid_id}
                entry["backup_form"] = BackupForm(
                    initial={
                        "round_item": item_id,
                        "regions": [
                            regions[r].code for r in board.backups.get(mine.opened_bid_id, [])
                        ],
                    },
                    choices=[r for r in board.regions if r.pk not in own],
                    auto_id=f"id_item{item_id}_%s",
                )
        boards.append(entry)
    return boards


def _selection_news(
    selection_: ProvinceSelection, boards: list[dict[str, Any]], seen: dict[int, int]
) -> list[str]:
    """The picks made since the page last looked (choices newer than the latest it saw),
    said in sentences to be read out politely, and whose turn it now is."""
    news = []
    for entry in boards:
        item_id = entry["award"].round_item_id
        code = entry["award"].round_item.item.code
        names = {w.opened_bid_id: w.manufacturer.display_name for w in entry["board"].winners}
        left: set[int] = set()
        for choice in (
            ProvinceChoice.objects.filter(
                selection=selection_,
                kind=ProvinceChoice.Kind.PRIMARY,
                round_item_id=item_id,
                pk__gt=seen.get(item_id, 0),
            )
            .select_related("region")
            .order_by("pick")
        ):
            maker = names.get(choice.opened_bid_id, "")
            if choice.region is not None:
                news.append(
                    _("%(item)s: %(maker)s chose %(province)s.")
                    % {"item": code, "maker": maker, "province": choice.region.name}
                )
            elif choice.opened_bid_id not in left:
                left.add(choice.opened_bid_id)
                news.append(
                    _("%(item)s: %(maker)s left its remaining picks to the platform.")
                    % {"item": code, "maker": maker}
                )
        if "pick_form" in entry:
            news.append(_("%(item)s: it is your turn to choose a province.") % {"item": code})
    return news


@role_required(Organization.Kind.OFFICE, Organization.Kind.MANUFACTURER)
def selection(request: HttpRequest, round_id: int) -> HttpResponse:
    """The draft boards of a round; a winner picks here when it is its turn.

    While the selection is open (or closing, or being allocated) the page polls with
    htmx (``?v=``, the version it shows): nothing new gives 204; new picks swap in the
    boards that changed and are announced in a polite live region (a form being filled
    elsewhere on the page is left alone); a change of state reloads the page.
    """
    selection_ = selectors.selection_get_for_user(user=request.user, round_id=round_id)  # type: ignore[arg-type]
    is_open = selection_.status == selection_.Status.OPEN and timezone.now() < selection_.closes_at
    if request.method == "POST":
        if not is_open:
            messages.error(request, _("Province selection is closed."))
            return redirect("contracts:selection", round_id=round_id)
        try:
            _selection_post(request, selection_)
        except ValidationError as exc:
            _error(request, exc)
        return redirect("contracts:selection", round_id=round_id)
    state = _selection_state(selection_, is_open)
    version = _selection_version(selection_, state)
    context: dict[str, Any] = {
        "selection": selection_,
        "round": selection_.round,
        "open": is_open,
        "state": state,
        "waiting": state in SELECTION_WAITING,
        "version": version,
    }
    if getattr(request, "htmx", False) and "v" in request.GET:
        seen = _parse_version(request.GET["v"])
        if request.GET["v"] == version:
            return HttpResponse(status=204)
        if seen is None or seen[0] != state:
            response = HttpResponse(status=204)
            response["HX-Refresh"] = "true"
            return response
        now_made = _parse_version(version)[1]  # type: ignore[index]
        changed = {
            item
            for item in now_made.keys() | seen[1].keys()
            if now_made.get(item, 0) != seen[1].get(item, 0)
        }
        boards = _selection_boards(request, selection_, is_open, only=changed)
        context.update(boards=boards, news=_selection_news(selection_, boards, seen[1]))
        return render(request, "contracts/_selection_poll.html", context)
    context["boards"] = _selection_boards(request, selection_, is_open)
    return render(request, "contracts/selection.html", context)


def _selection_post(request: HttpRequest, selection_: Any) -> None:
    try:
        round_item_id = int(request.POST.get("round_item", ""))
    except ValueError:
        round_item_id = 0
    # Compared in Python: a tampered id too large for the database is refused, not a 500.
    if round_item_id not in set(selection_.round.items.values_list("pk", flat=True)):
        raise ValidationError(_("Choose an item of this round."))
    board = services.draft_board(selection=selection_, round_item_id=round_item_id)
    if "regions" in request.POST or request.POST.get("action") == "backups":
        form = BackupForm(request.POST, choices=board.regions)
        if not form.is_valid():
            raise ValidationError(_("Choose provinces of this item."))
        chosen = list(Region.objects.filter(code__in=form.cleaned_data["regions"]))
        services.selection_backups_set(
            selection=selection_,
            round_item_id=round_item_id,
            by=request.user,  # type: ignore[arg-type]
            regions=chosen,
        )
        messages.success(request, _("Your backup provinces are saved."))
        return
    pick = PickForm(request.POST, free=board.free)
    if not pick.is_valid():
        raise ValidationError(_("That province is not free any more; choose again."))
    code = pick.cleaned_data["region"]
    region = None if code == PickForm.PLATFORM else Region.objects.get(code=code)
    services.selection_pick(
        selection=selection_,
        round_item_id=round_item_id,
        by=request.user,  # type: ignore[arg-type]
        region=region,
    )
    if region is None:
        messages.success(request, _("Your remaining picks are left to the platform."))
    else:
        messages.success(request, _("You chose %(province)s.") % {"province": region.name})


# --- contracts -----------------------------------------------------------------------------


@office_required
@require_POST
def contracts_generate(request: HttpRequest, round_id: int) -> HttpResponse:
    return _office_round_action(
        request,
        round_id,
        services.contracts_generate_request,
        _("The contracts are being drawn up; the hospitals are then asked to confirm."),
    )


@office_required
def contracts_status(request: HttpRequest, round_id: int) -> HttpResponse:
    """The htmx-polled state of a request to draw up the contracts; when the task has
    drawn them up (or the request is no longer waited for), the page reloads itself."""
    round_ = selectors.round_get_for_office(user=request.user, round_id=round_id)  # type: ignore[arg-type]
    if not getattr(request, "htmx", False):
        return redirect("contracts:round", round_id=round_.pk)
    pending = services.contracts_generate_pending(round_=round_)
    if pending is None:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(
        request,
        "contracts/_contracts_pending.html",
        {"round": round_, "contracts_pending": pending},
    )


@office_required
@require_POST
def execution_start(request: HttpRequest, round_id: int) -> HttpResponse:
    return _office_round_action(
        request,
        round_id,
        services.execution_start,
        _("Execution has started: hospitals record their purchases."),
    )


@role_required(Organization.Kind.OFFICE, Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER)
def contract_list(request: HttpRequest) -> HttpResponse:
    """The party's contracts, a page at a time, filtered by status, round and text."""
    contracts = selectors.contract_list_for_user(user=request.user)  # type: ignore[arg-type]
    rounds = Round.objects.filter(pk__in=contracts.values("round_id")).order_by("-created_at")
    status = request.GET.get("status", "")
    if status in Contract.Status.values:
        contracts = contracts.filter(status=status)
    round_id = request.GET.get("round", "")
    if (round_pk := _id(round_id)) is not None:
        contracts = contracts.filter(round_id=round_pk)
    query = _query(request)
    contracts = selectors.contracts_matching(contracts, query)
    return render(
        request,
        "contracts/contract_list.html",
        {
            "page_obj": paginate(request, contracts.order_by("-round__created_at", "number")),
            "status": status,
            "statuses": Contract.Status.choices,
            "rounds": rounds,
            "round_id": round_id,
            "q": query,
        },
    )


@role_required(Organization.Kind.OFFICE, Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER)
def contract_detail(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = selectors.contract_get_for_user(user=request.user, contract_id=contract_id)  # type: ignore[arg-type]
    org: Organization = request.user.organization  # type: ignore[union-attr,assignment]
    # The page's poll carries when the PDF was asked for, so its wait ends on time.
    pdf_since = None if contract.pdf_ready else _pdf_wait_token(contract, _pdf_request(contract))
    can_confirm = (
        org.pk == contract.hospital_id and contract.status == Contract.Status.AWAITING_HOSPITAL
    ) or (
        org.pk == contract.manufacturer_id
        and contract.status == Contract.Status.AWAITING_MANUFACTURER
    )
    versions = [
        (a, services.contract_lines(contract, a.version - 1))
        for a in contract.amendments.order_by("version")
    ]
    return render(
        request,
        "contracts/contract_detail.html",
        {
            "contract": contract,
            "lines": services.contract_lines(contract),
            "can_confirm": can_confirm,
            "versions": versions,
            "pdf_since": pdf_since,
            "amend_form": AmendmentForm(lines=services.contract_lines(contract))
            if org.kind == Organization.Kind.OFFICE and contract.status == Contract.Status.CONFIRMED
            else None,
        },
    )


PDF_WAIT_SALT = "contracts.contract-pdf-wait"


def _pdf_request_key(contract: Contract) -> str:
    # Per revision: a confirmation or an amendment makes a new PDF to ask for. The creation
    # time is there because an id (and a number) can come back after a rollback (SQLite
    # reuses ids), and a key left by a contract that no longer exists must not hold it.
    created = contract.created_at.timestamp()
    return f"contracts:pdf-requested:{contract.pk}:{contract.revision}:{created}"


def _pdf_request(contract: Contract, *, again: bool = False) -> float:
    """Queue the contract's PDF at most once per wait (``CONTRACT_PDF_WAIT``) and return
    when it was queued (a POSIX time): the start of the wait the page shows.

    Every visit of a contract page whose PDF is not ready used to queue a task: a user
    reloading the page, or the hospital, the manufacturer and the office opening it, queued
    one each. The first request of a wait claims a cache key (``cache.add`` is atomic)
    that expires with the wait; later ones reuse its time. Past the wait the page says the
    PDF is late, the key is gone and the next request queues again. ``again`` (the "request
    it again" button, offered only once a wait is over) always queues and restarts the wait.
    With a per-process cache (the default local-memory one) the bound is once per web
    process; a shared cache (Redis, Memcached) makes it once in all.
    """
    now = timezone.now().timestamp()
    key = _pdf_request_key(contract)
    timeout = CONTRACT_PDF_WAIT.total_seconds()
    if again:
        cache.set(key, now, timeout=timeout)
    elif not cache.add(key, now, timeout=timeout):
        since = cache.get(key)
        return float(since) if since is not None else now  # (expired in between)
    services.contract_pdf_request(contract=contract)
    return now


def _pdf_wait_token(contract: Contract, since: float) -> str:
    return signing.dumps([contract.pk, since], salt=PDF_WAIT_SALT)


def _pdf_wait_since(token: str, contract: Contract) -> float | None:
    """When the polling page asked for the contract's PDF (a POSIX time), from the signed
    token its poll URL carries; None for a missing, altered or another contract's token.

    The contract stores no request time (the confirmation and amendment times are when
    its content changed, not when somebody asked for its PDF), so the page carries it."""
    try:
        contract_id, since = signing.loads(token, salt=PDF_WAIT_SALT)
    except (signing.BadSignature, TypeError, ValueError):
        return None
    return float(since) if contract_id == contract.pk else None


@role_required(Organization.Kind.OFFICE, Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER)
@require_http_methods(["GET", "POST"])
def contract_pdf_status(request: HttpRequest, contract_id: int) -> HttpResponse:
    """The htmx-polled PDF links of a contract: "being prepared" until the task has
    rendered the current revision, then the download links (and the polling stops).

    The poll carries the time of the request (signed); past ``CONTRACT_PDF_WAIT`` (the
    task's time limit and a margin) the polling stops and says the PDF is late, with a
    button that POSTs here to request it again. Requesting again is safe at any time: the
    task does nothing for a current PDF and never renders one contract twice at once."""
    contract = selectors.contract_get_for_user(user=request.user, contract_id=contract_id)  # type: ignore[arg-type]
    posted = request.method == "POST"
    now = timezone.now().timestamp()
    if posted and not contract.pdf_ready:
        since = _pdf_request(contract, again=True)
    else:
        # A poll without a token (a page rendered before the token existed) starts the
        # clock: the page requested the PDF when it was rendered, two seconds before.
        since = _pdf_wait_since(request.GET.get("since", ""), contract) or now
    if not getattr(request, "htmx", False):
        if posted and not contract.pdf_ready:
            messages.info(request, _("The PDF is requested again; it appears here when ready."))
        return redirect("contracts:contract", contract_id=contract.pk)
    late = not contract.pdf_ready and now - since > CONTRACT_PDF_WAIT.total_seconds()
    return render(
        request,
        "contracts/_contract_pdf.html",
        {
            "contract": contract,
            "pdf_since": _pdf_wait_token(contract, since),
            "pdf_late": late,
            "pdf_wait_minutes": round(CONTRACT_PDF_WAIT.total_seconds() / 60),
            "pdf_requested_again": posted,
        },
    )


@role_required(Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER)
@require_POST
def contract_confirm(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = selectors.contract_get_for_user(user=request.user, contract_id=contract_id)  # type: ignore[arg-type]
    try:
        services.contract_confirm(contract=contract, by=request.user)  # type: ignore[arg-type]
        messages.success(request, _("Contract %(number)s confirmed.") % {"number": contract.number})
    except ValidationError as exc:
        _error(request, exc)
    return redirect("contracts:contract", contract_id=contract.pk)


@office_required
@require_POST
def contract_amend(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = selectors.contract_get_for_user(user=request.user, contract_id=contract_id)  # type: ignore[arg-type]
    form = AmendmentForm(request.POST, lines=services.contract_lines(contract))
    if form.is_valid():
        try:
            services.contract_amend(
                contract=contract,
                by=request.user,  # type: ignore[arg-type]
                reason=form.cleaned_data["reason"],
                effective_from=form.cleaned_data["effective_from"],
                quantities=form.quantities(),
            )
            messages.success(request, _("The amendment is recorded; the original is kept."))
        except ValidationError as exc:
            _error(request, exc)
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
    return redirect("contracts:contract", contract_id=contract.pk)


@role_required(Organization.Kind.OFFICE, Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER)
def contract_pdf(request: HttpRequest, contract_id: int, language: str) -> HttpResponse:
    contract = selectors.contract_get_for_user(user=request.user, contract_id=contract_id)  # type: ignore[arg-type]
    if language not in {"zh", "en"}:
        raise Http404
    if not contract.pdf_ready:
        _pdf_request(contract)
        messages.info(request, _("The PDF is being prepared; try again in a moment."))
        return redirect("contracts:contract", contract_id=contract.pk)
    field = contract.pdf_zh if language == "zh" else contract.pdf_en
    # FileResponse streams; the role decorator is typed for HttpResponse.
    return cast(
        HttpResponse,
        FileResponse(
            field.open("rb"),
            as_attachment=True,
            filename=f"{contract.number}-{language}.pdf",
            content_type="application/pdf",
        ),
    )


# --- execution -----------------------------------------------------------------------------


def _hospital_lines(request: HttpRequest) -> list[Any]:
    """The current lines of the hospital's confirmed contracts in execution (the form)."""
    contracts = selectors.contract_list_for_user(user=request.user).filter(  # type: ignore[arg-type]
        status=Contract.Status.CONFIRMED, round__status=Round.Status.IN_EXECUTION
    )
    return list(
        ContractLine.objects.filter(contract__in=contracts, version=F("contract__current_version"))
        .select_related("contract__manufacturer", "round_item__item")
        .order_by("contract__number", "round_item__item__code")
    )


@hospital_required
def purchases(request: HttpRequest) -> HttpResponse:
    """Record a month of purchases (form), or upload a spreadsheet of them."""
    lines = _hospital_lines(request)
    form = PurchaseForm(request.POST or None, lines=lines)
    if request.method == "POST" and form.is_valid():
        number, item_code = form.cleaned_data["line"].split("|", 1)
        try:
            services.purchases_record(
                hospital=request.user.organization,  # type: ignore[union-attr,arg-type]
                by=request.user,  # type: ignore[arg-type]
                lines=[
                    services.PurchaseLine(
                        contract_number=number,
                        item_code=item_code,
                        month=form.cleaned_data["month"],
                        quantity=form.cleaned_data["quantity"],
                    )
                ],
                channel=Purchase.Channel.WEB,
            )
            messages.success(request, _("The purchase is recorded."))
            return redirect("contracts:purchases")
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
    query = _query(request)
    recorded = selectors.purchases_matching(
        selectors.purchase_list_for_user(user=request.user),  # type: ignore[arg-type]
        query,
    ).order_by("-month", "contract__number", "round_item__item__code", "pk")
    return render(
        request,
        "contracts/purchases.html",
        {
            "form": form,
            "upload_form": PurchaseUploadForm(),
            "page_obj": paginate(request, recorded),
            "q": query,
            "has_lines": bool(lines),
        },
        status=400 if request.method == "POST" else 200,
    )


@hospital_required
def purchases_upload(request: HttpRequest) -> HttpResponse:
    """Upload: a preview first (nothing written), then the commit of the same file."""
    from catalog.imports import upload_discard, upload_get_for_user, upload_store
    from catalog.models import StoredUpload

    user = request.user
    scope = str(user.organization_id)  # type: ignore[union-attr]
    if request.method == "POST" and "token" in request.POST:
        try:
            upload = upload_get_for_user(
                user=user,  # type: ignore[arg-type]
                token=request.POST["token"],
                purpose=services.PURCHASE_UPLOAD,
                scope=scope,
            )
        except StoredUpload.DoesNotExist:  # unknown, used, or another user's token
            messages.error(request, _("That upload is no longer available; upload the file again."))
            return redirect("contracts:purchases")
        outcome = services.purchases_import(
            hospital=user.organization,  # type: ignore[union-attr,arg-type]
            by=user,  # type: ignore[arg-type]
            data=bytes(upload.data),
            filename=upload.filename,
            max_bytes=settings.JICAI_MAX_UPLOAD_BYTES,
            commit=True,
        )
        if outcome.committed:
            upload_discard(upload=upload)
            messages.success(
                request,
                _("%(created)s purchases recorded, %(changed)s changed, %(unchanged)s unchanged.")
                % {
                    "created": outcome.created,
                    "changed": outcome.changed,
                    "unchanged": outcome.unchanged,
                },
            )
            return redirect("contracts:purchases")
        return render(
            request,
            "contracts/purchases_preview.html",
            {"outcome": outcome, "token": upload.token},
            status=400,
        )
    form = PurchaseUploadForm(request.POST or None, request.FILES or None)
    if request.method != "POST" or not form.is_valid():
        return redirect("contracts:purchases")
    uploaded = form.cleaned_data["file"]
    data = uploaded.read(settings.JICAI_MAX_UPLOAD_BYTES + 1)
    outcome = services.purchases_import(
        hospital=user.organization,  # type: ignore[union-attr,arg-type]
        by=user,  # type: ignore[arg-type]
        data=data,
        filename=uploaded.name,
        max_bytes=settings.JICAI_MAX_UPLOAD_BYTES,
        commit=False,
    )
    token = None
    if outcome.ok:
        token = upload_store(
            user=user,  # type: ignore[arg-type]
            purpose=services.PURCHASE_UPLOAD,
            scope=scope,
            filename=uploaded.name,
            data=data,
        ).token
    return render(
        request,
        "contracts/purchases_preview.html",
        {"outcome": outcome, "token": token},
        status=200 if outcome.ok else 400,
    )


PROGRESS_DETAILS = ("hospitals", "lines", "behind")
BEHIND_PREVIEW = 10


@role_required(Organization.Kind.OFFICE, Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER)
def progress(request: HttpRequest) -> HttpResponse:
    """Bought against agreed and pro-rata: totals per item, province and winner; then, a
    page at a time and searchable, per hospital, per contract line, or (the office) the
    hospitals behind schedule. Every table is one aggregate query over the round's
    current lines (``selectors.progress_grouped``)."""
    user = request.user
    is_office = user.organization.kind == Organization.Kind.OFFICE  # type: ignore[union-attr]
    contracts = selectors.contract_list_for_user(user=user).filter(  # type: ignore[arg-type]
        status=Contract.Status.CONFIRMED
    )
    rounds = Round.objects.filter(pk__in=contracts.values("round_id")).order_by("-created_at")
    round_id = request.GET.get("round", "")
    chosen = next((r for r in rounds if str(r.pk) == round_id), rounds.first())
    # A hospital's own lines are few: it sees them, not a table of one hospital.
    org_kind = user.organization.kind  # type: ignore[union-attr]
    details = (
        PROGRESS_DETAILS
        if is_office
        else ("lines",)
        if org_kind == "hospital"
        else PROGRESS_DETAILS[:2]
    )
    detail = request.GET.get("detail", "")
    if detail not in details:
        detail = details[0]
    query = _query(request)
    context: dict[str, Any] = {
        "rounds": rounds,
        "round": chosen,
        "today": timezone.localdate(),
        "detail": detail,
        "details": details,
        "q": query,
    }
    if chosen is None:
        return render(request, "contracts/progress.html", context)
    lines = selectors.current_lines(contracts=contracts.filter(round=chosen))
    schedule = selectors.progress_schedule(lines=lines, today=context["today"])
    found = selectors.progress_lines_matching(lines, query)
    behind = selectors.progress_behind(lines=lines, schedule=schedule) if is_office else []
    if detail == "lines":
        page = paginate(request, selectors.progress_line_rows(lines=found, schedule=schedule))
        page.object_list = selectors.line_progress_rows(page.object_list)
    elif detail == "behind":
        page = paginate(
            request,
            behind if not query else selectors.progress_behind(lines=found, schedule=schedule),
        )
    else:
        page = paginate(
            request, selectors.progress_grouped(lines=found, schedule=schedule, key="hospital")
        )
        page.object_list = selectors.progress_rows(page.object_list, "hospital", lines=found)

    summary = selectors.progress_summary(lines=lines, schedule=schedule)
    context.update(
        total=summary.total,
        by_item=summary.by_item,
        by_province=summary.by_region,
        by_winner=summary.by_manufacturer,
        page_obj=page,
        behind=behind[:BEHIND_PREVIEW],
        behind_count=len(behind),
    )
    return render(request, "contracts/progress.html", context)


@role_required(Organization.Kind.OFFICE, Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER)
def supply_failures(request: HttpRequest) -> HttpResponse:
    """Reported supply failures, newest first, by status."""
    failures = selectors.supply_failure_list_for_user(user=request.user)  # type: ignore[arg-type]
    status = request.GET.get("status", "")
    if status in SupplyFailure.Status.values:
        failures = failures.filter(status=status)
    return render(
        request,
        "contracts/supply_failures.html",
        {
            "page_obj": paginate(request, failures.order_by("-reported_at", "-pk")),
            "status": status,
            "statuses": SupplyFailure.Status.choices,
        },
    )


@role_required(Organization.Kind.OFFICE, Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER)
def supply_failure_new(request: HttpRequest, round_id: int) -> HttpResponse:
    contracts = selectors.contract_list_for_user(user=request.user)  # type: ignore[arg-type]
    round_ = Round.objects.filter(pk=round_id, pk__in=contracts.values("round_id")).first()
    if round_ is None:
        raise Http404
    official = selectors.official_run(round_=round_)
    awards = (
        list(ItemAward.objects.filter(run=official.source_run).select_related("round_item__item"))
        if official
        else []
    )
    form = SupplyFailureForm(request.POST or None, awards=awards)
    if request.method == "POST" and form.is_valid():
        try:
            services.supply_failure_report(
                round_=round_,
                round_item_id=form.cleaned_data["round_item"],
                region=form.cleaned_data["region"],
                by=request.user,  # type: ignore[arg-type]
                description=form.cleaned_data["description"],
            )
            messages.success(request, _("The supply failure is reported to the office."))
            return redirect("contracts:supply-failures")
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
    return render(
        request,
        "contracts/supply_failure_new.html",
        {"round": round_, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@office_required
def supplier_switch(request: HttpRequest, failure_id: int) -> HttpResponse:
    failure = (
        selectors.supply_failure_list_for_user(user=request.user)  # type: ignore[arg-type]
        .filter(pk=failure_id)
        .first()
    )
    if failure is None:
        raise Http404
    official = selectors.official_run(round_=failure.round)
    run = official.source_run if official else None
    winners = [
        w
        for w in BidResult.objects.filter(
            run=run, round_item=failure.round_item, outcome=BidResult.Outcome.WON
        ).select_related("manufacturer")
        if w.manufacturer_id != failure.manufacturer_id
    ]
    allocation = ProvinceAllocation.objects.filter(
        run=run, round_item=failure.round_item, region=failure.region
    ).first()
    form = SwitchForm(
        request.POST or None,
        winners=winners,
        default=allocation.backup_bid_id if allocation else None,
    )
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.supplier_switch(
                failure=failure,
                by=request.user,  # type: ignore[arg-type]
                switch_from=form.cleaned_data["switch_from"],
                backup_bid_id=form.cleaned_data["backup_bid"],
            )
            messages.success(
                request,
                _("Switched; %(count)s contracts amended or drawn up.") % {"count": len(changed)},
            )
            return redirect("contracts:supply-failures")
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
    return render(
        request,
        "contracts/supplier_switch.html",
        {"failure": failure, "form": form},
        status=400 if request.method == "POST" else 200,
    )


# --- hospitals: winners for the volume of losing products (consumables) ----------------


@hospital_required
def lost_volume(request: HttpRequest, round_id: int) -> HttpResponse:
    """A hospital orders the winners that receive its volume of declared products that
    lost (consumable rounds, while the proposed winners are published)."""
    round_, _run = selectors.published_round_get(round_id=round_id)
    if round_.kind != Round.Kind.CONSUMABLES:
        raise Http404
    hospital = cast(Organization, request.user.organization)  # type: ignore[union-attr]
    items = reassignment.lost_volume_items(round_=round_, hospital=hospital)
    blocker = reassignment.choice_window_blocker(round_=round_)
    forms = {
        i.round_item.pk: LostVolumeChoiceForm(
            winners=i.winners, chosen=i.chosen, prefix=f"item-{i.round_item.pk}"
        )
        for i in items
    }
    page_errors: list[str] = []
    if request.method == "POST":
        posted = request.POST.get("round_item", "")
        item = next((i for i in items if str(i.round_item.pk) == posted), None)
        if item is None:
            page_errors.append(
                blocker or _("Your hospital has no volume of a losing product on this item.")
            )
        else:
            form = LostVolumeChoiceForm(
                request.POST,
                winners=item.winners,
                chosen=item.chosen,
                prefix=f"item-{item.round_item.pk}",
            )
            forms[item.round_item.pk] = form
            clear = "clear" in request.POST
            if clear or form.is_valid():
                try:
                    reassignment.lost_volume_choice_set(
                        round_=round_,
                        round_item_id=item.round_item.pk,
                        by=request.user,  # type: ignore[arg-type]
                        opened_bid_ids=[] if clear else form.opened_bid_ids(),
                    )
                    code = item.round_item.item.code
                    messages.success(
                        request,
                        _("%(code)s: your choice is removed; the minimum-cost default applies.")
                        % {"code": code}
                        if clear or not form.opened_bid_ids()
                        else _("%(code)s: your choice of winners is saved.") % {"code": code},
                    )
                    url = reverse("contracts:lost-volume", args=[round_.pk])
                    return redirect(f"{url}#item-{item.round_item.pk}")
                except ValidationError as exc:
                    for message in exc.messages:
                        form.add_error(None, message)
    return render(
        request,
        "contracts/reassign.html",
        {
            "round": round_,
            "items": [(i, forms[i.round_item.pk]) for i in items],
            "blocker": blocker,
            "page_errors": page_errors,
        },
        status=400 if request.method == "POST" else 200,
    )
