"""REST API for accounts: who am I (used by API clients to check their token)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Organization, User


class OrganizationSerializer(serializers.ModelSerializer):
    region = serializers.CharField(source="region.code")

    class Meta:
        model = Organization
        fields = ["id", "kind", "name", "name_en", "social_credit_code", "region", "hospital_grade"]


class MeSerializer(serializers.ModelSerializer):
    organization = OrganizationSerializer(allow_null=True)

    class Meta:
        model = User
        fields = ["id", "username", "language", "organization"]


class MeView(APIView):
    @extend_schema(responses=MeSerializer, summary="The signed-in user and its organization")
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)
