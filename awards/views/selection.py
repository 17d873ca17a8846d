"""Province selection: the office opens and closes it; the winners pick on the draft
boards, which poll while the selection waits for picks, its deadline or the allocation.

Thin: check the role, fetch through a selector, validate a form, call one service.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import office_required, role_required
from accounts.models import Organization, Region
from awards import selectors, services
from awards.forms import BackupForm, PickForm, SelectionOpenForm
from awards.models import BidResult, ItemAward, ProvinceChoice, ProvinceSelection
from awards.views.base import error_messages


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
            return redirect("awards:selection", round_id=round_.pk)
        except ValidationError as exc:
            error_messages(request, exc)
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
    return redirect("awards:round", round_id=round_.pk)


@office_required
@require_POST
def selection_close(request: HttpRequest, round_id: int) -> HttpResponse:
    selection = selectors.selection_get_for_user(user=request.user, round_id=round_id)  # type: ignore[arg-type]
    try:
        run = services.selection_close(selection=selection, by=request.user)  # type: ignore[arg-type]
        messages.success(request, _("Province selection closed; the platform assigns the rest."))
        return redirect("awards:run", run_id=run.pk)
    except ValidationError as exc:
        error_messages(request, exc)
    return redirect("awards:selection", round_id=round_id)


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
    shown = list(awards)
    # Every board in one go (a few queries in all, not a few per item).
    all_boards = services.draft_boards(
        selection=selection_, round_item_ids=[a.round_item_id for a in shown]
    )
    boards = []
    for award in shown:
        item_id = award.round_item_id
        board = all_boards[item_id]
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
            return redirect("awards:selection", round_id=round_id)
        try:
            _selection_post(request, selection_)
        except ValidationError as exc:
            error_messages(request, exc)
        return redirect("awards:selection", round_id=round_id)
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
        return render(request, "awards/_selection_poll.html", context)
    context["boards"] = _selection_boards(request, selection_, is_open)
    return render(request, "awards/selection.html", context)


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
