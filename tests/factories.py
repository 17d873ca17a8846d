"""factory_boy factories shared by the suite."""

from __future__ import annotations

import datetime
import uuid

import factory

from accounts.demo import demo_code
from accounts.models import ApiToken, Organization, Region, User

TEST_PASSWORD = "pw-for-tests-1"
_CODE_PREFIX = {"office": "11", "hospital": "12", "manufacturer": "91"}


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    kind = Organization.Kind.HOSPITAL
    name = factory.Sequence(lambda n: f"测试机构{n}")
    name_en = factory.Sequence(lambda n: f"Test organization {n}")
    social_credit_code = factory.LazyAttributeSequence(
        lambda o, n: demo_code(_CODE_PREFIX[o.kind], "11", 500000 + n)
    )
    region = factory.LazyFunction(lambda: Region.objects.get(code="11"))
    hospital_grade = factory.LazyAttribute(
        lambda o: 3 if o.kind == Organization.Kind.HOSPITAL else None
    )


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    organization = factory.SubFactory(OrganizationFactory)
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            obj.save()


def user_of(kind: str, **organization_fields: object) -> User:
    """A user acting for a new organization of the given kind."""
    fields = {f"organization__{k}": v for k, v in organization_fields.items()}
    return UserFactory(organization__kind=kind, **fields)


def api_token_for(user: User) -> str:
    """A new API token of ``user`` (the clear token, as a client would send it)."""
    _token, key = ApiToken.objects.create(user=user, name=f"test-{uuid.uuid4().hex[:12]}")
    return key


def move_contract_term(round_: object, start: datetime.date) -> None:
    """Tests only: the round's contracts begin on ``start`` instead of the timetable's
    date (a past month can then be recorded). Every place that states the term moves
    together, so a page never shows one start and another term: the round's contract
    start, each contract's start date, and each original line's start and end (the end
    is the line's term in years from the new start, as ``contracts_generate`` sets it)."""
    from contracts.models import Contract, ContractLine
    from contracts.services.contracts import term_end
    from procurement.models import Round

    Round.objects.filter(pk=round_.pk).update(contract_starts_on=start)  # type: ignore[attr-defined]
    Contract.objects.filter(round=round_).update(starts_on=start)
    for line in ContractLine.objects.filter(contract__round=round_, version=0):
        line.starts_on = start
        line.ends_on = term_end(start, line.term_years)
        line.save(update_fields=["starts_on", "ends_on"])
