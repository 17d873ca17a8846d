"""API permissions by the kind of the user's organization (one definition for every app's
API; a refusal is a 403 with DRF's JSON body)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.models import Organization


class OrganizationKindPermission(BasePermission):
    """Only signed-in users whose organization is of ``kind``."""

    kind: str = ""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        organization = getattr(user, "organization", None)
        return bool(
            user is not None
            and user.is_authenticated
            and organization is not None
            and organization.kind == self.kind
        )


class IsManufacturer(OrganizationKindPermission):
    kind = Organization.Kind.MANUFACTURER
    message = "This endpoint is available to manufacturers only."


class IsOffice(OrganizationKindPermission):
    kind = Organization.Kind.OFFICE
    message = "This endpoint is available to procurement offices only."


class IsHospital(OrganizationKindPermission):
    kind = Organization.Kind.HOSPITAL
    message = "This endpoint is available to hospitals only."
