"""The bid sheet by spreadsheet (issue 14): download the round's template, fill it,
upload it, see row-numbered errors (nothing sealed) or the review of exactly what will be
sealed, then seal every line or none through the sheet's own service."""

from __future__ import annotations

import io
import re

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from bidding.models import Bid
from tests.bidding.conftest import World
from tests.bidding.test_pages import client_for

HEADERS = {
    "item": "品种编码 (item code)",
    "spec": "规格编码 (specification code)",
    "product": "产品批准文号 (product approval number)",
    "price": "单价 (unit price)",
    "capacity": "年供应能力 (annual capacity)",
}


def _template(world: World) -> openpyxl.Workbook:
    client = client_for(world.bidder)
    response = client.get(reverse("bidding:sheet-template", args=[world.round.code]))
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith(f'{world.round.code}-bids.xlsx"')
    return openpyxl.load_workbook(io.BytesIO(response.content))


def _filled(world: World, values: dict[str, tuple[str, str]]) -> SimpleUploadedFile:
    """The downloaded template with (price, capacity) filled in by specification code."""
    book = _template(world)
    sheet = book.active
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        spec = row[header.index(HEADERS["spec"])].value
        if spec in values:
            row[header.index(HEADERS["price"])].value = values[spec][0]
            row[header.index(HEADERS["capacity"])].value = values[spec][1]
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile("bids.xlsx", buffer.getvalue())


def _upload(world: World, file: SimpleUploadedFile):
    return client_for(world.bidder).post(
        reverse("bidding:sheet-upload", args=[world.round.code]), {"file": file}
    )


def test_the_template_has_a_row_per_line_with_the_eligible_product_filled_in(
    world: World,
) -> None:
    sheet = _template(world).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    header = rows[0]
    for name in HEADERS.values():
        assert name in header
    by_spec = {r[header.index(HEADERS["spec"])]: r for r in rows[1:]}
    assert set(by_spec) == {"20MG", "40MG"}
    assert by_spec["20MG"][header.index(HEADERS["product"])] == world.bidder_20.approval_number
    assert by_spec["20MG"][header.index("最高有效申报价 (maximum valid bid price)")] == "2.1200"
    assert by_spec["20MG"][header.index(HEADERS["price"])] in (None, "")


def test_a_filled_template_is_reviewed_then_sealed_all_lines_at_once(world: World) -> None:
    response = _upload(world, _filled(world, {"20MG": ("1.9876", 120000), "40MG": ("3.5", 80000)}))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Confirm your bids" in page
    assert "1.9876" in page and "3.5" in page
    assert Bid.objects.count() == 0  # reviewed, not sealed
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    action = re.search(r'<form method="post" action="([^"]+)">', page)
    assert action is not None and action.group(1) == reverse(
        "bidding:sheet", args=[world.round.code]
    )
    sealed = client_for(world.bidder).post(action.group(1), {**hidden, "step": "confirm"})
    assert sealed.status_code == 200
    assert Bid.objects.filter(status=Bid.Status.ACTIVE).count() == 2


def test_errors_name_their_rows_and_nothing_is_sealed(world: World) -> None:
    response = _upload(world, _filled(world, {"20MG": ("0.1x", 120000), "40MG": ("3.5", "many")}))
    assert response.status_code == 422
    page = response.content.decode()
    assert "Nothing was sealed. Please correct the file:" in page
    errors = re.findall(r"<li>(Row \d+, [^<]*)</li>", page)
    assert len(errors) == 2, errors
    assert errors[0].startswith("Row 2, 单价 (unit price): ")
    assert errors[1].startswith("Row 3, 年供应能力 (annual capacity): ")
    assert Bid.objects.count() == 0


def test_a_row_not_on_the_sheet_is_refused_by_its_row_number(world: World) -> None:
    book = _template(world)
    sheet = book.active
    sheet.append(["NOPE", "x", "10MG", "x", "片", "1", "", "0.5", "100"])
    buffer = io.BytesIO()
    book.save(buffer)
    page = _upload(world, SimpleUploadedFile("bids.xlsx", buffer.getvalue())).content.decode()
    assert (
        "Row 4, 品种编码 (item code): this item and specification (and product) are not on "
        "your bid sheet." in page
    )
    assert Bid.objects.count() == 0


def test_a_confirmation_after_the_deadline_seals_none_of_the_lines(world: World) -> None:
    import datetime

    from django.utils import timezone

    from procurement.models import Round

    page = _upload(
        world, _filled(world, {"20MG": ("1.9876", 120000), "40MG": ("3.5", 80000)})
    ).content.decode()
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    past = timezone.now() - datetime.timedelta(seconds=1)
    Round.objects.filter(pk=world.round.pk).update(
        demand_opens_at=past - datetime.timedelta(days=2),
        demand_closes_at=past - datetime.timedelta(days=1),
        bid_deadline=past,
        opening_at=past + datetime.timedelta(hours=1),
    )
    client_for(world.bidder).post(
        reverse("bidding:sheet", args=[world.round.code]), {**hidden, "step": "confirm"}
    )
    assert Bid.objects.count() == 0


def test_an_uploaded_sheet_is_signed_in_the_browser_and_sealed_with_its_signatures(
    world: World,
) -> None:
    """A round that requires signatures: the review of an uploaded file carries each
    line's content to sign for static/js/signing.js (``form[data-sign]``) and posts to the
    bid sheet, which seals each line with the signature the browser made."""
    import base64

    from bidding.models import BidVersion
    from procurement.models import Round
    from tests.signing.keys import browser_key

    Round.objects.filter(pk=world.round.pk).update(signatures_required=True)
    key = browser_key(world.bidder)
    page = _upload(
        world, _filled(world, {"20MG": ("1.9876", 120000), "40MG": ("3.5", 80000)})
    ).content.decode()
    sheet_url = reverse("bidding:sheet", args=[world.round.code])
    form = re.search(rf'<form method="post" action="({re.escape(sheet_url)})"([^>]*)>', page)
    assert form is not None
    assert " data-sign " in form.group(2) and key.key.fingerprint in form.group(2)
    assert "data-sign-button" in page
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    contents = dict(
        re.findall(r'name="(signature-[^"]+)" value="" data-sign-content="([^"]+)"', page)
    )
    assert len(contents) == 2
    fields["signing_key"] = key.key.fingerprint
    for name, encoded in contents.items():  # what signing.js does
        fields[name] = base64.b64encode(key.sign(base64.b64decode(encoded)).value).decode()
    sealed = client_for(world.bidder).post(form.group(1), {**fields, "step": "confirm"})
    assert sealed.status_code == 200
    assert Bid.objects.filter(status=Bid.Status.ACTIVE).count() == 2
    assert set(BidVersion.objects.values_list("signing_key", flat=True)) == {key.key.pk}
