"""Catalog forms: checkbox groups in a fieldset, every control labelled."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import user_of

pytestmark = pytest.mark.django_db


def test_the_eligibility_checkboxes_are_a_labelled_group():
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user_of("manufacturer"))
    html = client.get(reverse("catalog:product-register")).content.decode()
    pattern = r'<fieldset class="choice-group" id="eligibility"(.*?)</fieldset>'
    group = re.search(pattern, html, re.S)
    assert group is not None
    assert "<legend>Eligibility to bid (drugs)</legend>" in group.group(1)
    for name in ("is_originator", "is_consistency_evaluated"):
        assert re.search(
            rf'<label for="id_{name}"><input type="checkbox" name="{name}" id="id_{name}">',
            group.group(1),
        ), name
