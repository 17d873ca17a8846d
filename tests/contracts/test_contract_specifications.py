"""Contracts at the specification bought: a hand-computed two-strength example.

The item is atorvastatin with two specifications: 20 mg x 7 (representative) and
40 mg x 7. makers[0] seals 0.3000 per 40 mg tablet; under the batch-4 ratio (strength
x1.7 per doubling) that is 0.3000 / 1.7 = 0.176470... -> 0.1765 per 20 mg tablet, the
lowest comparable price, so it wins and, as the cheapest winner, takes both provinces
(the other bids: 0.2000, 0.2500 and 0.2800 per 20 mg tablet; 3 winners, 70%).

Demand: Beijing hospital 0 declares 6,000 x 20 mg; Beijing hospital 1 declares 4,000 x
40 mg; the Shanghai hospital declares 6,000 x 20 mg and 4,000 x 40 mg. Agreed volume 70%:
4,200; 2,800; 7,000 tablets.

* Hospital 1 buys 40 mg only: 2,800 tablets (400 packs of 7) at 0.3000 = 840.00 (not
  2,800 x 0.1765 at the 20 mg representative).
* Shanghai: 7,000 split 6:4 -> 4,200 x 20 mg at the derived 0.1765 = 741.30 and
  2,800 x 40 mg at 0.3000 = 840.00; the contract's total 1,581.30.
* Hospital 0 buys 20 mg only: 4,200 x 0.1765 = 741.30.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from awards import services
from awards.models import HospitalAllocation
from catalog.models import Specification
from contracts import services as contract_services
from contracts.models import Contract, ContractLine, ContractLineSpecification
from contracts.specifications import split_quantity
from procurement.models import Ceiling, DemandDeclaration
from tests.awards.factories import OpenedRound, opened_round
from tests.factories import TEST_PASSWORD
from tests.pdf_layout import overlapping_words, page_words

pytestmark = pytest.mark.django_db
D = Decimal


def _two_strength_round(capture) -> OpenedRound:  # type: ignore[no-untyped-def]
    built = opened_round(prices=("0.3000", "0.2000", "0.2500", "0.2800"))
    item = built.round_item.item
    twenty = Specification.objects.get(item=item)
    twenty.code, twenty.label, twenty.strength_value = "20mg", "20 mg x 7", D("20")
    twenty.save()
    forty = Specification.objects.create(
        item=item, code="40mg", label="40 mg x 7", strength_value=D("40"), pack_count=7
    )
    Ceiling.objects.create(
        round_item=built.round_item, specification=forty, max_valid_bid_price=D("0.8500")
    )
    first = built.bids[0]
    first.specification = forty
    first.unit_price, first.unit_comparable_price = D("0.3000"), D("0.1765")
    first.save()
    first.bid.specification = forty
    first.bid.save()
    _h0, h1, shanghai = (h.organization for h in built.hospitals)
    DemandDeclaration.objects.filter(hospital=h1).update(specification=forty)
    DemandDeclaration.objects.filter(hospital=shanghai).update(quantity=6000)
    DemandDeclaration.objects.create(
        round_item=built.round_item, hospital=shanghai, specification=forty, quantity=4000
    )
    with capture(execute=True):
        services.evaluation_request(round_=built.round, by=built.office)
    services.objection_period_open(round_=built.round, by=built.office)
    services.award_finalize(round_=built.round, by=built.office)
    selection = services.selection_open(
        round_=built.round, by=built.office, closes_at=timezone.now() + datetime.timedelta(hours=1)
    )
    with capture(execute=True):
        services.selection_close(selection=selection, by=built.office)
    built.round.refresh_from_db()
    contract_services.contracts_generate(round_=built.round, by=built.office)
    return built


def _specs(contract: Contract) -> list[tuple[str, bool, int, Decimal, Decimal]]:
    return [
        (s.specification.code, s.is_bid, s.quantity, s.unit_price, s.amount)
        for s in ContractLineSpecification.objects.filter(line__contract=contract)
    ]


def test_contract_lines_are_the_specifications_bought_at_their_own_prices(
    django_capture_on_commit_callbacks,
) -> None:
    built = _two_strength_round(django_capture_on_commit_callbacks)
    h0, h1, shanghai = (h.organization for h in built.hospitals)
    winner = built.makers[0].organization
    assert set(Contract.objects.values_list("manufacturer_id", flat=True)) == {winner.pk}

    forty_only = Contract.objects.get(hospital=h1)
    assert _specs(forty_only) == [("40mg", True, 2800, D("0.3"), D("840.00"))]
    assert forty_only.total == D("840.00")
    spec_line = ContractLineSpecification.objects.get(line__contract=forty_only)
    assert spec_line.boxes == (400, 0)

    both = Contract.objects.get(hospital=shanghai)
    assert _specs(both) == [
        ("40mg", True, 2800, D("0.3"), D("840.00")),
        ("20mg", False, 4200, D("0.1765"), D("741.30")),
    ]
    (line,) = ContractLine.objects.filter(contract=both)
    assert line.amount == both.total == D("1581.30")
    assert (
        line.quantity
        == 7000
        == HospitalAllocation.objects.get(hospital=shanghai, run=both.run).quantity
    )

    twenty_only = Contract.objects.get(hospital=h0)
    assert _specs(twenty_only) == [("20mg", False, 4200, D("0.1765"), D("741.30"))]

    # The contract page shows the 40 mg line at 0.3000 per tablet, with packs.
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=built.hospitals[1].username, password=TEST_PASSWORD)
    page = client.get(reverse("contracts:contract", args=[forty_only.pk])).content.decode()
    assert "40 mg x 7" in page and "0.3000" in page and "0.1765" not in page
    assert "2,800" in page and "400" in page


def test_the_pdf_states_the_specification_bought(django_capture_on_commit_callbacks) -> None:
    import subprocess
    import tempfile

    built = _two_strength_round(django_capture_on_commit_callbacks)
    both = Contract.objects.get(hospital=built.hospitals[2].organization)
    assert contract_services.contract_pdf_render(contract_id=both.pk)
    both.refresh_from_db()
    for field in ("pdf_zh", "pdf_en"):
        with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
            f.write(getattr(both, field).read())
            f.flush()
            text = subprocess.run(
                ["pdftotext", "-layout", f.name, "-"], capture_output=True, text=True, check=True
            ).stdout
            # Every word on the page, none printed over another nor off the page.
            pages = page_words(Path(f.name))
            # The registered label (under the English name on the English PDF) may wrap:
            # read the text in the order it was laid out.
            raw = subprocess.run(
                ["pdftotext", "-raw", f.name, "-"], capture_output=True, text=True, check=True
            ).stdout
        squeezed = "".join(raw.split())
        assert "40mgx7" in squeezed and "0.3000" in text and "840.00" in text, field
        assert "20mgx7" in squeezed and "0.1765" in text and "741.30" in text, field
        assert "1,581.30" in text, field
        for words in pages:
            assert not overlapping_words(words), (field, overlapping_words(words)[:5])


def test_an_amendment_keeps_the_mix_and_the_prices(django_capture_on_commit_callbacks) -> None:
    built = _two_strength_round(django_capture_on_commit_callbacks)
    both = Contract.objects.get(hospital=built.hospitals[2].organization)
    both = contract_services.contract_confirm(contract=both, by=built.hospitals[2])
    both = contract_services.contract_confirm(contract=both, by=built.makers[0])
    contract_services.contract_amend(
        contract=both,
        by=built.office,
        reason="Volume reduced.",
        effective_from=both.starts_on,
        quantities={built.round_item.pk: 3501},
    )
    both.refresh_from_db()
    lines = ContractLineSpecification.objects.filter(line__contract=both, line__version=1)
    # 3,501 split 4:6 (2,800 : 4,200): 1,400.4 and 2,100.6 -> 1,400 and 2,101.
    assert [(s.specification.code, s.quantity, s.amount) for s in lines] == [
        ("40mg", 1400, D("420.00")),
        ("20mg", 2101, D("370.83")),
    ]
    assert both.total == D("790.83")


def test_largest_remainder_adds_up() -> None:
    assert split_quantity(10, {1: 1, 2: 1, 3: 1}) == {1: 4, 2: 3, 3: 3}
    assert split_quantity(7000, {5: 6000, 9: 4000}) == {5: 4200, 9: 2800}
    assert sum(split_quantity(1_000_003, {1: 3, 2: 7, 3: 11}).values()) == 1_000_003
