"""Signed contract confirmations: a bad signature is refused with nothing written; a valid
one is stored, printed in the contract PDF's signature block (signer, time, key
fingerprint) and verified by ``manage.py verify_contract_signatures``; a contract changed
after it was signed no longer verifies."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import translation

from contracts import services as contract_services
from contracts.models import Contract, ContractLine, ContractSignature
from contracts.signatures import contract_signed_content
from procurement.models import Round
from tests.awards.factories import OpenedRound
from tests.contracts.test_contracts import contracted_round
from tests.signing.keys import BrowserKey, browser_key

pytestmark = pytest.mark.django_db


def _signed_round(capture) -> tuple[OpenedRound, Contract]:  # type: ignore[no-untyped-def]
    built = contracted_round(capture)
    Round.objects.filter(pk=built.round.pk).update(signatures_required=True)
    contract = Contract.objects.select_related("round", "hospital", "manufacturer").get(
        hospital=built.hospitals[0].organization
    )
    return built, contract


def _confirm(contract: Contract, user, key: BrowserKey | None, party: str):  # type: ignore[no-untyped-def]
    signature = None
    if key is not None:
        signature = key.sign(contract_signed_content(contract=contract, party=party))
    return contract_services.contract_confirm(contract=contract, by=user, signature=signature)


def test_an_unsigned_or_badly_signed_confirmation_is_refused(
    django_capture_on_commit_callbacks,
) -> None:
    built, contract = _signed_round(django_capture_on_commit_callbacks)
    hospital = built.hospitals[0]
    with translation.override("en"), pytest.raises(ValidationError) as unsigned:
        _confirm(contract, hospital, None, "hospital")
    assert unsigned.value.code == "signature_required"
    key = browser_key(hospital)
    # Signed as the wrong party (the manufacturer's content): does not verify.
    wrong = key.sign(contract_signed_content(contract=contract, party="manufacturer"))
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        contract_services.contract_confirm(contract=contract, by=hospital, signature=wrong)
    assert refused.value.messages == [
        f"The signature does not verify with key {key.key.short_fingerprint}: it was not made "
        "over this content with this key. Nothing was saved."
    ]
    with translation.override("zh-hans"), pytest.raises(ValidationError) as refused_zh:
        contract_services.contract_confirm(contract=contract, by=hospital, signature=wrong)
    assert "签名" in refused_zh.value.messages[0]
    contract.refresh_from_db()
    assert contract.status == Contract.Status.AWAITING_HOSPITAL
    assert contract.hospital_confirmed_at is None
    assert not ContractSignature.objects.exists()


def _pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_valid_signatures_are_in_the_pdf_and_verify_independently(
    django_capture_on_commit_callbacks, tmp_path, settings, capsys
) -> None:
    settings.MEDIA_ROOT = tmp_path
    built, contract = _signed_round(django_capture_on_commit_callbacks)
    hospital, maker = built.hospitals[0], built.makers[0]
    hospital_key, maker_key = browser_key(hospital), browser_key(maker)
    _confirm(contract, hospital, hospital_key, "hospital")
    _confirm(contract, maker, maker_key, "manufacturer")
    contract.refresh_from_db()
    assert contract.status == Contract.Status.CONFIRMED
    assert ContractSignature.objects.filter(contract=contract).count() == 2

    assert contract_services.contract_pdf_render(contract_id=contract.pk)
    contract.refresh_from_db()
    texts = {}
    for language, field in (("zh", contract.pdf_zh), ("en", contract.pdf_en)):
        path = tmp_path / f"{language}.pdf"
        path.write_bytes(field.read())
        texts[language] = _pdf_text(path)
    english = " ".join(texts["en"].split())
    assert "Signatures" in english
    assert english.count("Valid signature") == 2
    assert hospital.username in english and maker.username in english
    for key in (hospital_key, maker_key):
        # The whole fingerprint, in groups of four (it may wrap between groups).
        assert key.key.fingerprint[:4] + " " + key.key.fingerprint[4:8] in english
    chinese = " ".join(texts["zh"].split())
    assert "签名" in chinese and chinese.count("签名有效") == 2

    call_command("verify_contract_signatures", contract.number)
    out = capsys.readouterr().out
    assert "hospital: VALID" in out and "manufacturer: VALID" in out
    assert hospital_key.key.fingerprint in out and "all signatures valid" in out


def test_a_contract_changed_after_signing_no_longer_verifies(
    django_capture_on_commit_callbacks, capsys
) -> None:
    built, contract = _signed_round(django_capture_on_commit_callbacks)
    _confirm(contract, built.hospitals[0], browser_key(built.hospitals[0]), "hospital")
    _confirm(contract, built.makers[0], browser_key(built.makers[0]), "manufacturer")
    line = ContractLine.objects.filter(contract=contract).first()
    assert line is not None
    ContractLine.objects.filter(pk=line.pk).update(quantity=line.quantity + 1)  # behind its back
    with pytest.raises(SystemExit) as failed:
        call_command("verify_contract_signatures", contract.number)
    assert failed.value.code == 1
    out = capsys.readouterr().out
    assert "hospital: INVALID (the contract's rows no longer match the content signed)" in out
    assert "manufacturer: INVALID" in out


def test_an_unsigned_contract_reports_absent_signatures(
    django_capture_on_commit_callbacks, capsys
) -> None:
    built = contracted_round(django_capture_on_commit_callbacks)  # signatures not required
    contract = Contract.objects.get(hospital=built.hospitals[0].organization)
    contract_services.contract_confirm(contract=contract, by=built.hospitals[0])
    assert not ContractSignature.objects.exists()
    with pytest.raises(SystemExit):
        call_command("verify_contract_signatures", contract.number)
    assert "hospital: ABSENT" in capsys.readouterr().out


def test_the_contract_page_carries_the_content_and_takes_the_signature(
    django_capture_on_commit_callbacks,
) -> None:
    import base64

    from django.test import Client
    from django.urls import reverse

    built, contract = _signed_round(django_capture_on_commit_callbacks)
    hospital = built.hospitals[0]
    key = browser_key(hospital)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(hospital)
    page = client.get(reverse("contracts:contract", args=[contract.pk])).content.decode()
    content = contract_signed_content(contract=contract, party="hospital")
    assert f'data-sign-content="{base64.b64encode(content).decode()}"' in page
    assert key.key.fingerprint in page  # data-sign-keys
    url = reverse("contracts:contract-confirm", args=[contract.pk])
    bad = key.sign(b"something else")
    response = client.post(
        url,
        {"signing_key": bad.key, "signature": base64.b64encode(bad.value).decode()},
        follow=True,
    )
    assert "The signature does not verify with key" in response.content.decode()
    contract.refresh_from_db()
    assert contract.status == Contract.Status.AWAITING_HOSPITAL
    good = key.sign(content)
    client.post(url, {"signing_key": good.key, "signature": base64.b64encode(good.value).decode()})
    contract.refresh_from_db()
    assert contract.status == Contract.Status.AWAITING_MANUFACTURER
    assert ContractSignature.objects.get().signing_key == key.key
