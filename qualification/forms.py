"""Forms of the qualification pages. The rules live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization, Region, User
from catalog.models import Product
from procurement.forms import DateInput
from qualification.models import DocumentKind, DocumentReview
from qualification.services import HOSPITAL_KINDS, DocumentDraft, RegistrationDraft


class RegistrationForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Your organization is a"),
        choices=[
            (Organization.Kind.MANUFACTURER.value, Organization.Kind.MANUFACTURER.label),
            (Organization.Kind.HOSPITAL.value, Organization.Kind.HOSPITAL.label),
        ],
    )
    name = forms.CharField(label=_("Name (Chinese, as on the business licence)"), max_length=200)
    name_en = forms.CharField(label=_("English name"), max_length=200, required=False)
    social_credit_code = forms.CharField(
        label=_("Unified social credit code"),
        max_length=18,
        min_length=18,
        help_text=_("18 characters, as on the business licence (GB 32100-2015)."),
    )
    region = forms.ModelChoiceField(label=_("Region"), queryset=Region.objects.all())
    hospital_grade = forms.TypedChoiceField(
        label=_("Hospital grade (hospitals only)"),
        choices=[("", "—"), *Organization.Grade.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    contact_name = forms.CharField(label=_("Contact person"), max_length=100)
    email = forms.EmailField(label=_("Email"))
    username = forms.CharField(
        label=_("User name for signing in"),
        max_length=150,
        help_text=_("Letters, digits and @ . + - _ only."),
    )
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)
    password_again = forms.CharField(
        label=_("Password again"), widget=forms.PasswordInput, strip=False
    )

    def clean_username(self) -> str:
        value: str = self.cleaned_data["username"]
        field = User._meta.get_field("username")
        for validator in field.validators:
            validator(value)
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", _("The two passwords differ."))
        return data

    def draft(self) -> RegistrationDraft:
        d = self.cleaned_data
        return RegistrationDraft(
            kind=d["kind"],
            name=d["name"],
            name_en=d["name_en"],
            social_credit_code=d["social_credit_code"],
            region=d["region"],
            hospital_grade=d["hospital_grade"],
            contact_name=d["contact_name"],
            email=d["email"],
            username=d["username"],
            password=d["password"],
        )


class _DocumentFields(forms.Form):
    number = forms.CharField(label=_("Document number"), max_length=80)
    issuer = forms.CharField(label=_("Issued by"), max_length=200)
    valid_from = forms.DateField(label=_("Valid from"), widget=DateInput())
    valid_until = forms.DateField(label=_("Valid until"), widget=DateInput())
    file = forms.FileField(
        label=_("File"),
        help_text=_("The scanned document: PDF, PNG or JPEG, at most %(mb)s MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg"}),
    )

    def __init__(self, *args: Any, max_mb: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = str(self.fields["file"].help_text) % {"mb": max_mb}


def _product_label(product: Product) -> str:
    return f"{product.display_name} ({product.approval_number or product.registration_number})"


class DocumentForm(_DocumentFields):
    kind = forms.ChoiceField(label=_("Document type"), choices=DocumentKind.choices)
    product = forms.ModelChoiceField(
        label=_("Product (registration certificates, consistency evaluation, originator)"),
        queryset=Product.objects.none(),
        required=False,
    )
    user = forms.ModelChoiceField(
        label=_("Authorised user (authorisation letters)"),
        queryset=User.objects.none(),
        required=False,
    )
    field_order = ["kind", "product", "user", "number", "issuer", "valid_from", "valid_until"]

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if organization.kind == Organization.Kind.HOSPITAL:
            self.fields["kind"].choices = [  # type: ignore[attr-defined]
                (value, label) for value, label in DocumentKind.choices if value in HOSPITAL_KINDS
            ]
            del self.fields["product"]
        else:
            self.fields["kind"].choices = [  # type: ignore[attr-defined]
                (value, label)
                for value, label in DocumentKind.choices
                if value != DocumentKind.PRACTICE_LICENCE
            ]
            products = self.fields["product"]
            products.queryset = Product.objects.filter(manufacturer=organization).order_by("name")  # type: ignore[attr-defined]
            products.label_from_instance = _product_label  # type: ignore[attr-defined]
        self.fields["user"].queryset = User.objects.filter(organization=organization).order_by(  # type: ignore[attr-defined]
            "username"
        )

    def draft(self) -> DocumentDraft:
        d = self.cleaned_data
        return DocumentDraft(
            kind=d["kind"],
            number=d["number"],
            issuer=d["issuer"],
            valid_from=d["valid_from"],
            valid_until=d["valid_until"],
            product=d.get("product"),
            user=d.get("user"),
        )


class ResubmitForm(_DocumentFields):
    def draft(self, kind: str) -> DocumentDraft:
        d = self.cleaned_data
        return DocumentDraft(
            kind=kind,
            number=d["number"],
            issuer=d["issuer"],
            valid_from=d["valid_from"],
            valid_until=d["valid_until"],
        )


class ReviewForm(forms.Form):
    action = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            (DocumentReview.Action.APPROVED.value, _("Approve")),
            (DocumentReview.Action.REJECTED.value, _("Reject")),
            (DocumentReview.Action.MORE_REQUESTED.value, _("Ask for more")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Reason, or what more is needed"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required to reject or ask for more; the organization sees it."),
    )


class RegistrationDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    reason = forms.CharField(required=False, max_length=2000)


class RoundRuleForm(forms.Form):
    required = forms.TypedChoiceField(
        choices=[("1", _("Qualified bidders only")), ("0", _("Any bidder"))],
        coerce=lambda v: v == "1",
    )
