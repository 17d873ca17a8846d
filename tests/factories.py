"""factory_boy factories shared by the suite."""

from __future__ import annotations

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
