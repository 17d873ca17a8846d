from __future__ import annotations

from django.http import HttpRequest


def organization(request: HttpRequest) -> dict[str, object]:
    """Expose the signed-in user's organization and role to every template."""
    user = getattr(request, "user", None)
    org = getattr(user, "organization", None) if user is not None else None
    return {"current_organization": org, "current_role": org.kind if org else None}
