"""Forms of the catalog pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.models import ProductKind, Specification
from catalog.selectors import specification_choices


class SpecificationField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Specification) -> str:
        return f"{obj.item.code} {obj.item.display_name} · {obj.label}"


class ProductRegisterForm(forms.Form):
    specification = SpecificationField(
        label=_("Item and specification"), queryset=Specification.objects.none()
    )
    name = forms.CharField(label=_("Product name"), max_length=200)
    name_en = forms.CharField(label=_("English name"), max_length=200, required=False)
    approval_number = forms.CharField(
        label=_("Approval number (drugs)"),
        max_length=40,
        required=False,
        help_text=_("e.g. 国药准字H20051234"),
    )
    dosage_form = forms.CharField(label=_("Dosage form"), max_length=40, required=False)
    is_originator = forms.BooleanField(label=_("Originator / reference product"), required=False)
    is_consistency_evaluated = forms.BooleanField(
        label=_("Passed consistency evaluation"), required=False
    )
    registration_number = forms.CharField(
        label=_("Registration certificate number (consumables)"), max_length=60, required=False
    )
    model_number = forms.CharField(label=_("Model / specification"), max_length=120, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["specification"].queryset = specification_choices()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        specification = data.get("specification")
        if specification is None:
            return data
        if specification.item.kind == ProductKind.DRUG and not data.get("approval_number"):
            self.add_error("approval_number", _("A drug needs its approval number (国药准字)."))
        if specification.item.kind == ProductKind.CONSUMABLE and not data.get(
            "registration_number"
        ):
            self.add_error(
                "registration_number",
                _("A consumable needs its registration certificate number."),
            )
        return data
