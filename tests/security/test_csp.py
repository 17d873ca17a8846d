"""Content-Security-Policy: every page answers with the header, and no page a role can
open holds an inline script or an inline event handler (which the policy would block,
breaking the page, or which an injection could abuse)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from tests.security.test_url_matrix import CASES, PATTERNS, Url, _path, world  # noqa: F401
from tests.security.world import ROLES, World

pytestmark = pytest.mark.django_db


class InlineScriptFinder(HTMLParser):
    """Collects inline <script> elements, on*= attributes and javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            kind = (names.get("type") or "").lower()
            # Data blocks (JSON) are not executed; everything else is a script.
            if kind not in {"application/json", "application/ld+json"}:
                self.problems.append(f"inline <script {attrs}>")
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name in {"href", "src", "action", "formaction"} and (
                value or ""
            ).strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}>")


def inline_script_problems(html: str) -> list[str]:
    finder = InlineScriptFinder()
    finder.feed(html)
    return finder.problems


def _directives(header: str) -> dict[str, list[str]]:
    parts = (p.strip().split() for p in header.split(";") if p.strip())
    return {p[0]: p[1:] for p in parts}


def test_the_finder_finds_what_it_looks_for() -> None:
    assert inline_script_problems('<script>alert(1)</script><script src="/a.js"></script>') == [
        "inline <script []>"
    ]
    assert inline_script_problems('<button onclick="go()">x</button>') == [
        "<button onclick='go()'>"
    ]
    assert inline_script_problems('<a href="javascript:go()">x</a>') == [
        "<a href='javascript:go()'>"
    ]
    assert inline_script_problems('<script type="application/json">{}</script>') == []


def test_the_policy_allows_scripts_from_this_site_only() -> None:
    response = Client().get(reverse("accounts:login"))
    policy = _directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"] and policy["form-action"] == ["'self'"]
    page = response.content.decode()
    # htmx never evaluates code nor injects its indicator <style>.
    assert '"includeIndicatorStyles": false' in page and '"allowEval": false' in page


def test_swagger_ui_loads_its_start_up_script_from_a_file() -> None:
    response = Client().get(reverse("api-docs"))
    assert response.status_code == 200
    assert "Content-Security-Policy" in response
    assert inline_script_problems(response.content.decode()) == []
    script = Client().get(reverse("api-docs") + "?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")


PAGES = [(url, scene) for url, scene in CASES if not url.api and url.get == 200]


@pytest.mark.parametrize(("url", "scene_name"), PAGES, ids=[f"{u.name}[{s}]" for u, s in PAGES])
def test_every_page_has_the_policy_and_no_inline_script(
    world: World,  # noqa: F811
    url: Url,
    scene_name: str,
) -> None:
    path = _path(url, PATTERNS[url.name], world.scenes[scene_name])
    for role in ROLES:
        if url.expected(role) != 200:
            continue
        response = world.clients[role].get(path)
        assert "Content-Security-Policy" in response, f"{path} as {role}"
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        problems = inline_script_problems(response.content.decode())
        assert problems == [], f"{path} as {role}: {problems}"


def test_the_admin_pages_have_the_policy_and_no_inline_script(world: World) -> None:  # noqa: F811
    from django.contrib.admin import site

    paths = [reverse("admin:index")] + [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in site._registry
    ]
    for path in paths:
        response = world.admin.get(path)
        assert response.status_code == 200, path
        assert "Content-Security-Policy" in response, path
        assert inline_script_problems(response.content.decode()) == [], path
