"""The shared pagination helper and its partial."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import translation

from common.pagination import paginate

ROWS = list(range(1, 131))  # 130 rows: three pages of 50


def _page(query: str):
    request = RequestFactory().get("/list/?" + query)
    return request, paginate(request, ROWS)


def test_pages_of_fifty_by_default():
    _, page = _page("")
    assert list(page) == ROWS[:50]
    assert page.paginator.num_pages == 3


def test_bad_page_numbers_fall_back_instead_of_failing():
    assert _page("page=abc")[1].number == 1
    assert _page("page=-4")[1].number == 3  # get_page: out of range gives the last page
    assert _page("page=999")[1].number == 3


def test_per_page_only_from_the_offered_choices():
    assert len(_page("per_page=100")[1]) == 100
    assert len(_page("per_page=7")[1]) == 50
    assert len(_page("per_page=100000")[1]) == 50


def test_links_keep_other_query_parameters_and_say_where_you_are():
    request, page = _page("status=signed&page=2")
    with translation.override("en"):
        html = render_to_string("partials/pagination.html", {"page_obj": page}, request)
    assert "Rows 51–100 of 130" in html
    assert "Page 2 of 3" in html
    assert 'href="?status=signed&amp;page=3" rel="next"' in html
    assert 'href="?status=signed&amp;page=1" rel="prev"' in html
    with translation.override("zh-hans"):
        html = render_to_string("partials/pagination.html", {"page_obj": page}, request)
    assert "第 2 页" in html


def test_a_single_page_shows_the_count_but_no_links():
    request = RequestFactory().get("/list/")
    page = paginate(request, ROWS[:10])
    with translation.override("en"):
        html = render_to_string("partials/pagination.html", {"page_obj": page}, request)
    assert "Rows 1–10 of 10" in html
    assert "Next" not in html


def test_an_empty_list_renders_nothing():
    request = RequestFactory().get("/list/")
    page = paginate(request, [])
    html = render_to_string("partials/pagination.html", {"page_obj": page}, request)
    assert "pagination" not in html


def test_a_second_list_pages_by_its_own_parameter_and_keeps_the_other_lists_page():
    request = RequestFactory().get("/mine/?page=2&q=atorva&results_page=2")
    results = paginate(request, ROWS, param="results_page")
    assert results.number == 2 and list(results)[:1] == [51]
    with translation.override("en"):
        html = render_to_string(
            "partials/pagination.html",
            {"page_obj": results, "label": "Pages of my bid results"},
            request,
        )
    assert 'aria-label="Pages of my bid results"' in html
    assert 'href="?page=2&amp;q=atorva&amp;results_page=3" rel="next"' in html
    assert 'href="?page=2&amp;q=atorva&amp;results_page=1" rel="prev"' in html
    # The other list on the page keeps reading ?page=.
    assert paginate(request, ROWS).number == 2
