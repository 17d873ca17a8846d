"""The opening ceremony page (开标仪式) of a round, for its procurement office: designate
the opening officials, set a passphrase (each official, once), present shares at the
opening. See ``bidding.services.ceremony`` and docs/sealed-bidding.md."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from accounts.access import office_required
from accounts.models import User
from bidding import selectors
from bidding.services.ceremony import (
    ceremony_present,
    ceremony_state,
    custody_designate,
    needed_message,
    official_enroll,
)
from procurement.models import Round


def _errors(exc: ValidationError) -> list[str]:
    return [str(m) for m in exc.messages]


@office_required
@never_cache
@sensitive_post_parameters("passphrase", "passphrase_confirm")
@sensitive_variables("passphrase", "confirm")
def ceremony(request: HttpRequest, code: str) -> HttpResponse:
    round_ = selectors.round_get_by_code(code=code)
    user = request.user
    assert isinstance(user, User)
    if user.organization_id != round_.office_id:
        raise Http404("no such round")
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        passphrase = request.POST.get("passphrase", "")
        try:
            if action == "designate":
                ids = request.POST.getlist("officials")
                chosen = list(
                    User.objects.filter(
                        pk__in=[int(i) for i in ids if i.isdigit()],
                        organization_id=round_.office_id,
                        is_active=True,
                    ).order_by("username")
                )
                threshold_text = request.POST.get("threshold", "")
                threshold = int(threshold_text) if threshold_text.isdigit() else 0
                custody_designate(round_=round_, officials=chosen, threshold=threshold, by=user)
                messages.success(
                    request,
                    _("Opening officials designated. Each must now set a passphrase here."),
                )
            elif action == "enroll":
                confirm = request.POST.get("passphrase_confirm", "")
                if passphrase != confirm:
                    raise ValidationError(
                        _("The two passphrases differ; type the same passphrase twice."),
                        code="mismatch",
                    )
                official_enroll(round_=round_, user=user, passphrase=passphrase)
                messages.success(
                    request,
                    _(
                        "Passphrase set: your share is sealed to it. Keep it secret and do "
                        "not lose it; nobody can reset it."
                    ),
                )
            elif action == "present":
                result = ceremony_present(round_=round_, user=user, passphrase=passphrase)
                if result.opening is not None:
                    messages.success(
                        request, _("The bids are opened; the opening record is public.")
                    )
                    if result.opening.tampered_count:
                        messages.warning(
                            request,
                            _(
                                "%(count)s bid(s) failed the integrity check and are "
                                "reported as tampered."
                            )
                            % {"count": result.opening.tampered_count},
                        )
                    return redirect("bidding:opening", code=round_.code)
                messages.info(
                    request,
                    _("Your share is presented.") + " " + needed_message(result.needed),
                )
            else:
                raise ValidationError(_("Unknown action."), code="unknown")
            return redirect("bidding:ceremony", code=round_.code)
        except ValidationError as exc:
            errors = _errors(exc)
            status = 422
    state = ceremony_state(round_=round_)
    me = next((o for o in state.officials if o.user_id == user.pk), None)
    now = timezone.now()
    return render(
        request,
        "bidding/ceremony.html",
        {
            "round": round_,
            "state": state,
            "me": me,
            "errors": errors,
            "candidates": User.objects.filter(
                organization_id=round_.office_id, is_active=True
            ).order_by("username"),
            "can_designate": state.custody is None
            and round_.status
            in {
                Round.Status.DRAFT,
                Round.Status.DEMAND_OPEN,
                Round.Status.DEMAND_CLOSED,
                Round.Status.BIDDING_OPEN,
            },
            "opening_time_reached": now >= round_.opening_at,
            "waiting_message": needed_message(state.needed) if state.needed else "",
        },
        status=status,
    )
