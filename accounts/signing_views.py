"""The Signing keys page (docs/signatures.md): a manufacturer or hospital user generates
a key in the browser (only the public key reaches the server), uploads an X.509
certificate, restores a key from its encrypted backup, or revokes a key."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.access import role_required
from accounts.models import Organization, SigningKey, User
from accounts.signing import (
    signing_key_register_browser,
    signing_key_register_certificate,
    signing_key_revoke,
    signing_keys_of,
)

signer_required = role_required(Organization.Kind.MANUFACTURER, Organization.Kind.HOSPITAL)


class BrowserKeyForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name of the key"), max_length=100)
    public_key = forms.CharField(widget=forms.HiddenInput, max_length=2000)


class CertificateForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name of the key"), max_length=100)
    certificate = forms.CharField(
        label=gettext_lazy("Signing certificate (PEM)"), widget=forms.Textarea(attrs={"rows": 6})
    )
    chain = forms.CharField(
        label=gettext_lazy("Intermediate certificates (PEM, if any)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@signer_required
def signing_keys(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    browser_form = BrowserKeyForm()
    certificate_form = CertificateForm(prefix="certificate")
    status = 200
    if request.method == "POST":
        kind = request.POST.get("kind")
        try:
            if kind == "certificate":
                certificate_form = CertificateForm(request.POST, prefix="certificate")
                if certificate_form.is_valid():
                    v = certificate_form.cleaned_data
                    key = signing_key_register_certificate(
                        user=user,
                        name=v["name"],
                        certificate_pem=v["certificate"],
                        chain_pem=v["chain"],
                    )
                    messages.success(
                        request,
                        _("Signing key %(key)s registered.") % {"key": key.short_fingerprint},
                    )
                    return redirect("accounts:signing-keys")
            else:
                browser_form = BrowserKeyForm(request.POST)
                if browser_form.is_valid():
                    v = browser_form.cleaned_data
                    key = signing_key_register_browser(
                        user=user, name=v["name"], public_key=v["public_key"]
                    )
                    messages.success(
                        request,
                        _("Signing key %(key)s registered.") % {"key": key.short_fingerprint},
                    )
                    return redirect("accounts:signing-keys")
        except ValidationError as exc:
            form = certificate_form if kind == "certificate" else browser_form
            form.add_error(None, exc)
        status = 422
    return render(
        request,
        "accounts/signing_keys.html",
        {
            "keys": signing_keys_of(user=user),
            "browser_form": browser_form,
            "certificate_form": certificate_form,
        },
        status=status,
    )


@signer_required
@require_POST
def signing_key_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    organization = user.organization
    assert organization is not None  # signer_required
    key = SigningKey.objects.filter(pk=pk, organization=organization).first()
    if key is None:
        raise Http404
    signing_key_revoke(key=key, by=user, reason=str(request.POST.get("reason", "")))
    messages.success(request, _("Signing key %(key)s revoked.") % {"key": key.short_fingerprint})
    return redirect("accounts:signing-keys")
