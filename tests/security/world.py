"""The demo data plus a round in bidding with two sealed bids: the objects the URL matrix
(``test_url_matrix.py``) resolves its URL arguments from, and one signed-in client per role.

Every object a URL points at belongs to the *own* users (``office``, ``hospital01``,
``maker01``); the *stranger* users (a second office, ``hospital16`` in another province,
``maker02``) are of the same kinds but party to none of them.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import Organization, Region, User
from awards.models import EvaluationRun, Objection, ProvinceAllocation
from bidding.models import Bid, BidVersion
from bidding.services import bid_submit
from catalog.models import Product, StoredUpload
from common.uploads import upload_store
from contracts.models import Contract, ContractPdfBatch, Purchase, SupplyFailure
from contracts.services import (
    PURCHASE_UPLOAD,
    PurchaseLine,
    contract_pdf_render,
    purchases_record,
    supply_failure_report,
)
from procurement.models import DemandDeclaration, Round, RuleSet
from procurement.services import (
    DemandLine,
    demand_declare,
    round_close_demand,
    round_open_bidding,
    round_open_demand,
)
from tender.models import DocumentPdf, ProcurementDocumentVersion
from tender.services import (
    AmendmentDraft,
    amendment_publish,
    clarification_answer,
    clarification_ask,
    document_pdf_render,
)
from tests.factories import OrganizationFactory, api_token_for

AWARDED = "DEMO-2026-A1"  # in execution: opened, awarded, contracted, purchases recorded
BIDDING = "DEMO-2026-D1"  # moved here from draft into bidding, with two sealed bids

# The sealed terms of the two bids in the bidding round. Four decimals as the bid pages
# show them; capacities with and without the thousands separator.
PRICE = "1.9763"
CAPACITY = 7_654_319
RIVAL_PRICE = "1.1057"
RIVAL_CAPACITY = 6_543_217
# hospital01's and hospital16's declared quantities on the same line of the bidding round.
HOSPITAL_QUANTITY = 123_457
RIVAL_HOSPITAL_QUANTITY = 200_003
# What hospital01 bought last month on its contract with maker01.
PURCHASED = 98_761
# maker01's question on the round in bidding, not answered: the office's and its own.
PENDING_QUESTION = "URL matrix: is the 20 mg ceiling tax-inclusive? (maker01, unanswered)"

# role -> demo user (None: anonymous). The "2" and "3" roles are strangers to every
# object; hospital3 is in a province (Tibet) outside the demo rounds' regions.
USERNAMES: dict[str, str | None] = {
    "anonymous": None,
    "office": "office",
    "office2": "office-rival",
    "hospital": "hospital01",
    "hospital2": "hospital16",
    "hospital3": "hospital-tibet",
    "maker": "maker01",
    "maker2": "maker02",
}
ROLES = tuple(USERNAMES)
KIND = {
    "anonymous": "anonymous",
    "office": "office",
    "office2": "office",
    "hospital": "hospital",
    "hospital2": "hospital",
    "hospital3": "hospital",
    "maker": "manufacturer",
    "maker2": "manufacturer",
}
STRANGERS = frozenset({"office2", "hospital2", "hospital3", "maker2"})
OUTSIDE = "hospital3"  # of a province outside the rounds' regions


@dataclass
class Scene:
    """The objects of one round that URL arguments are taken from."""

    name: str
    round: Round
    bid: Bid  # maker01's
    version: BidVersion  # its latest version
    declaration: DemandDeclaration  # hospital01's
    upload: StoredUpload  # the office's collated demand file
    rule_set: RuleSet
    contract: Contract | None = None  # hospital01 with maker01
    run: EvaluationRun | None = None  # the official run
    objection: Objection | None = None  # hospital01's
    failure: SupplyFailure | None = None  # maker01's supply in hospital01's province
    purchase: PurchaseLine | None = None  # what hospital01 bought last month from maker01
    purchase_upload: StoredUpload | None = None  # hospital01's purchase file, not committed
    pdf_batch: ContractPdfBatch | None = None  # the office's batch of the round's contract PDFs


@dataclass
class World:
    users: dict[str, User | None]
    clients: dict[str, Client]
    scenes: dict[str, Scene]
    superuser: User
    receipts: dict[str, str]  # role -> receipt hash of its sealed bid in the bidding round
    products: dict[str, int]  # role -> the product it bid with in the bidding round
    admin: Client = field(init=False)

    def __post_init__(self) -> None:
        self.admin = Client()
        self.admin.force_login(self.superuser)


def _user(username: str) -> User:
    return User.objects.select_related("organization").get(username=username)


def _scene(
    name: str, round_: Round, bid: Bid, office: User, hospital: User, **objects: Any
) -> Scene:
    """The scene of ``round_``: maker01's ``bid``, hospital01's first demand line, and an
    uploaded collated demand file of the office waiting for its commit."""
    return Scene(
        name=name,
        round=round_,
        bid=bid,
        version=bid.versions.order_by("-number").first(),  # type: ignore[arg-type]
        declaration=DemandDeclaration.objects.filter(
            round_item__round=round_, hospital=hospital.organization
        )
        .order_by("pk")
        .first(),  # type: ignore[arg-type]
        upload=upload_store(
            user=office,
            purpose="demand-collated",
            scope=round_.code,
            filename=f"{round_.code}-collated.xlsx",
            data=b"not read by any page of the matrix",
        ),
        rule_set=round_.rule_set,
        **objects,
    )


def _bidding_round(users: dict[str, User | None]) -> Round:
    """DEMO-2026-D1 through demand into bidding: hospital01 and hospital16 declare on one
    line, maker01 and maker02 seal a bid each."""
    office, maker, rival = users["office"], users["maker"], users["maker2"]
    assert office and maker and rival
    round_ = Round.objects.get(code=BIDDING)
    round_open_demand(round_=round_, by=office)
    for role, quantity in (("hospital", HOSPITAL_QUANTITY), ("hospital2", RIVAL_HOSPITAL_QUANTITY)):
        hospital = users[role]
        assert hospital is not None
        demand_declare(
            hospital=hospital.organization,  # type: ignore[arg-type]
            round_=round_,
            lines=[DemandLine(item_code="D-ATV-OS", specification_code="20MG", quantity=quantity)],
            channel="web",
            by=hospital,
        )
    round_close_demand(round_=round_, by=office)
    round_open_bidding(round_=round_, by=office)
    round_.refresh_from_db()
    for user, approval_number, price, capacity in (
        (maker, "国药准字H20193001", PRICE, CAPACITY),
        (rival, "国药准字H20193002", RIVAL_PRICE, RIVAL_CAPACITY),
    ):
        product = Product.objects.select_related("specification__item").get(
            approval_number=approval_number, manufacturer=user.organization
        )
        bid_submit(
            round_item=round_.items.get(item=product.specification.item),
            specification=product.specification,
            product=product,
            unit_price=Decimal(price),
            annual_capacity=capacity,
            by=user,
        )
    _tender(round_, office, maker, rival)
    return round_


def _tender(round_: Round, office: User, maker: User, rival: User) -> None:
    """The round's procurement document (published when bidding opened) rendered, one
    amendment (a reference price), maker02's question answered, maker01's waiting."""
    version = ProcurementDocumentVersion.objects.get(round=round_, number=1)
    document_pdf_render(version_id=version.pk)
    assert DocumentPdf.objects.filter(version=version).count() == 2
    atv = round_.items.get(item__code="D-ATV-OS")
    amendment_publish(
        round_=round_,
        by=office,
        draft=AmendmentDraft(
            reason="参考价更正（URL 矩阵）", reference_prices={atv.pk: Decimal(7)}
        ),
    )
    answered = clarification_ask(round_=round_, by=rival, question="Is delivery included?")
    clarification_answer(clarification=answered, by=office, answer="Yes, to the hospital.")
    clarification_ask(round_=round_, by=maker, question=PENDING_QUESTION, round_item=atv)


def _awarded_scene(office: User, hospital: User, maker: User) -> Scene:
    round_ = Round.objects.get(code=AWARDED)
    hospital_org = hospital.organization
    maker_org = maker.organization
    run = EvaluationRun.objects.get(round=round_, is_official=True)
    supplied = ProvinceAllocation.objects.filter(
        run=run.source_run,
        manufacturer=maker_org,
        region=hospital_org.region,  # type: ignore[union-attr]
    ).first()
    assert supplied is not None, "maker01 supplies hospital01's province in the demo award"
    failure = supply_failure_report(
        round_=round_,
        round_item_id=supplied.round_item_id,
        region=hospital_org.region,  # type: ignore[union-attr]
        by=office,
        description="Deliveries stopped (URL matrix fixture).",
    )
    # The demo round is past its objection period; an objection filed then is a plain row.
    objection = Objection.objects.create(
        round=round_,
        run=run,
        round_item_id=supplied.round_item_id,
        organization=hospital_org,
        filed_by=hospital,
        text="The winner's capacity is doubtful (URL matrix fixture).",
    )
    bid = Bid.objects.get(
        round_item__round=round_,
        manufacturer=maker_org,
        round_item__item__code="D-ATV-OS",
        specification__code="20MG",
    )
    contract = Contract.objects.get(round=round_, hospital=hospital_org, manufacturer=maker_org)
    contract_pdf_render(contract_id=contract.pk)  # so its PDF can be downloaded
    bought = Purchase.objects.filter(contract=contract).select_related("round_item__item").first()
    assert bought is not None, "the demo records last month's purchases"
    purchase = PurchaseLine(
        contract_number=contract.number,
        item_code=bought.round_item.item.code,
        month=bought.month.strftime("%Y-%m"),
        quantity=PURCHASED,
    )
    purchases_record(
        hospital=hospital_org,  # type: ignore[arg-type]
        by=hospital,
        lines=[purchase],
        channel="web",
    )
    return _scene(
        "awarded",
        round_,
        bid,
        office,
        hospital,
        contract=contract,
        run=run,
        objection=objection,
        failure=failure,
        purchase=purchase,
        # a finished batch row (no task sent): its page and progress are looked at
        pdf_batch=ContractPdfBatch.objects.create(
            round=round_,
            total=1,
            chunks=1,
            done=1,
            rendered=1,
            parts_finished=[0],
            finished_at=timezone.now(),
        ),
        purchase_upload=upload_store(
            user=hospital,
            purpose=PURCHASE_UPLOAD,
            scope=str(hospital_org.pk),  # type: ignore[union-attr]
            filename="purchases.csv",
            data=b"not read: nobody but hospital01 may commit it",
        ),
    )


def _bidding_scene(users: dict[str, User | None]) -> Scene:
    office, hospital, maker = users["office"], users["hospital"], users["maker"]
    assert office and hospital and maker
    round_ = _bidding_round(users)
    bid = Bid.objects.get(round_item__round=round_, manufacturer=maker.organization)
    return _scene("bidding", round_, bid, office, hospital)


def build_world() -> World:
    call_command("seed_demo", verbosity=0)
    rival_office = OrganizationFactory(
        kind=Organization.Kind.OFFICE, name="另一采购办公室（测试）", name_en="Another office"
    )
    User.objects.create(username="office-rival", organization=rival_office)
    tibet = OrganizationFactory(
        kind=Organization.Kind.HOSPITAL,
        name="拉萨市人民医院（测试）",
        name_en="Lhasa hospital (test)",
        region=Region.objects.get(code="54"),
    )
    assert not Round.objects.filter(regions=tibet.region).exists()
    User.objects.create(username="hospital-tibet", organization=tibet)
    users = {role: _user(name) if name else None for role, name in USERNAMES.items()}
    office, hospital, maker = users["office"], users["hospital"], users["maker"]
    assert office and hospital and maker
    scenes = {
        "awarded": _awarded_scene(office, hospital, maker),
        "bidding": _bidding_scene(users),
    }
    clients = {}
    for role, user in users.items():
        client = Client()
        if user is not None:
            client.force_login(user)
            token = api_token_for(user)
            client.defaults["HTTP_AUTHORIZATION"] = f"Token {token}"
        clients[role] = client
    superuser = User.objects.create(
        username="matrix-admin", is_staff=True, is_superuser=True, last_login=timezone.now()
    )
    assert timezone.now() < scenes["bidding"].round.bid_deadline - datetime.timedelta(minutes=5)
    sealed = {
        role: BidVersion.objects.get(
            bid__round=scenes["bidding"].round,
            bid__manufacturer=users[role].organization,  # type: ignore[union-attr]
        )
        for role in ("maker", "maker2")
    }
    return World(
        users=users,
        clients=clients,
        scenes=scenes,
        superuser=superuser,
        receipts={role: version.receipt_hash for role, version in sealed.items()},
        products={role: version.product_id for role, version in sealed.items()},
    )
