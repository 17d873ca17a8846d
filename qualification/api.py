"""REST API v1 of the qualification app: an organization's own qualification documents
and their review status and history (docs/qualification.md)."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Organization, User
from qualification import selectors
from qualification.models import DocumentReview


class IsParty(BasePermission):
    message = _("Only manufacturers and hospitals hold qualification documents.")

    def has_permission(self, request: Request, view: Any) -> bool:
        organization = getattr(request.user, "organization", None)
        return organization is not None and organization.kind in (
            Organization.Kind.MANUFACTURER,
            Organization.Kind.HOSPITAL,
        )


class ReviewSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=DocumentReview.Action.choices)
    by = serializers.CharField(source="by.username")
    at = serializers.DateTimeField()
    note = serializers.CharField()


class DocumentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="business_licence, drug_registration, ...")
    kind_label = serializers.CharField(source="get_kind_display")
    product = serializers.IntegerField(source="product_id", allow_null=True)
    user = serializers.CharField(source="user.username", allow_null=True, default=None)
    number = serializers.CharField()
    issuer = serializers.CharField()
    valid_from = serializers.DateField()
    valid_until = serializers.DateField()
    status = serializers.CharField(help_text="submitted, approved, rejected, more_requested")
    status_label = serializers.CharField(source="get_status_display")
    uploaded_at = serializers.DateTimeField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    history = ReviewSerializer(source="reviews", many=True)


class MyDocumentsView(APIView):
    permission_classes = [IsAuthenticated, IsParty]

    @extend_schema(
        tags=["qualification"],
        summary="Your organization's qualification documents, their status and history",
        responses={200: DocumentSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        user: User = request.user  # type: ignore[assignment]
        assert user.organization is not None
        documents = selectors.documents_of(organization=user.organization).prefetch_related(
            Prefetch(
                "reviews",
                queryset=DocumentReview.objects.select_related("by").order_by("at", "pk"),
            )
        )
        return Response(DocumentSerializer(documents, many=True).data)
