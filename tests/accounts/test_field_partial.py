"""The shared field partial: the ids Django's widgets point aria-describedby at exist."""

from __future__ import annotations

import re

from django import forms
from django.template.loader import render_to_string


class _Form(forms.Form):
    quantity = forms.IntegerField(label="Quantity", help_text="Whole units.", min_value=1)


def test_error_and_help_are_what_the_widget_is_described_by():
    form = _Form(data={"quantity": "0"})
    assert not form.is_valid()
    html = render_to_string("partials/field.html", {"field": form["quantity"]})
    described = re.search(r'aria-describedby="([^"]+)"', html)
    assert described is not None
    ids = described.group(1).split()
    assert ids == ["id_quantity_helptext", "id_quantity_error"]
    for id_ in ids:
        assert f'id="{id_}"' in html
    assert 'aria-invalid="true"' in html
