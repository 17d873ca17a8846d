"""The round history's note of a publication names the objection period's end as pages
show times (China Standard Time, to the minute), not as the ISO 8601 string stored."""

from __future__ import annotations

from django.utils import translation

from procurement.transition_notes import note_text

STORED = "run 3 published; objection period 3 d, until 2026-12-09T23:26:30.474407+00:00"


def test_the_objection_period_end_is_shown_in_china_standard_time() -> None:
    with translation.override("en"):
        assert note_text(STORED) == (
            "run 3 published; objection period 3 d, until 2026-12-10 07:26"
        )
    with translation.override("zh-hans"):
        shown = note_text(STORED)
    assert "2026-12-10 07:26" in shown and "T23:26" not in shown


def test_a_note_without_a_time_zone_is_shown_as_written() -> None:
    with translation.override("en"):
        assert note_text("run 3 published; objection period 3 d, until soon").endswith("until soon")
