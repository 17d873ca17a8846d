"""REST API of signing keys, and the signature field every signed submission carries
(docs/signatures.md). Under /api/v1/signing-keys/."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import SigningKey, User
from accounts.signing import (
    SIGNING_KINDS,
    SignatureInput,
    signing_key_register_browser,
    signing_key_register_certificate,
    signing_keys_of,
)


class SignatureSerializer(serializers.Serializer):
    """A signature of the submission's canonical content (docs/signatures.md)."""

    key = serializers.CharField(
        max_length=80, help_text="SHA-256 fingerprint (hex) of your registered signing key."
    )
    value = serializers.CharField(
        max_length=200,
        help_text="ECDSA P-256 / SHA-256 signature, base64: raw r||s (64 bytes, as WebCrypto "
        "gives) or DER.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            attrs["parsed"] = SignatureInput.parse(key=attrs["key"], value=attrs["value"])
        except ValidationError as exc:
            raise serializers.ValidationError({"value": exc.messages}) from None
        return attrs


def signature_of(validated: dict[str, Any] | None) -> SignatureInput | None:
    """The parsed signature of a validated ``SignatureSerializer`` (None if absent)."""
    if not validated:
        return None
    parsed: SignatureInput = validated["parsed"]
    return parsed


class IsSigner(BasePermission):
    message = "Signing keys are for manufacturer and hospital users."

    def has_permission(self, request: Request, view: Any) -> bool:
        organization = getattr(request.user, "organization", None)
        return bool(
            request.user
            and request.user.is_authenticated
            and organization is not None
            and organization.kind in SIGNING_KINDS
        )


class SigningKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = SigningKey
        fields = [
            "id",
            "name",
            "kind",
            "fingerprint",
            "subject",
            "valid_from",
            "valid_until",
            "created_at",
            "revoked_at",
        ]


class SigningKeyRegisterSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    public_key = serializers.CharField(
        required=False,
        max_length=2000,
        help_text="A P-256 public key: PEM, or base64 of its DER SubjectPublicKeyInfo. "
        "Give this or certificate.",
    )
    certificate = serializers.CharField(
        required=False,
        max_length=20000,
        help_text="An X.509 signing certificate (PEM) for a P-256 key, issued under a "
        "trust anchor the platform is configured with.",
    )
    chain = serializers.CharField(
        required=False, allow_blank=True, max_length=50000, help_text="Intermediate CAs (PEM)."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("public_key")) == bool(attrs.get("certificate")):
            raise serializers.ValidationError("Give either public_key or certificate.")
        return attrs


class SigningKeysView(APIView):
    """Your signing keys; register a new one."""

    permission_classes = [IsSigner]

    @extend_schema(responses=SigningKeySerializer(many=True), summary="Your signing keys")
    def get(self, request: Request) -> Response:
        user = request.user
        assert isinstance(user, User)
        return Response(SigningKeySerializer(signing_keys_of(user=user), many=True).data)

    @extend_schema(
        request=SigningKeyRegisterSerializer,
        responses={201: SigningKeySerializer},
        summary="Register a signing key (public key or X.509 certificate)",
    )
    def post(self, request: Request) -> Response:
        user = request.user
        assert isinstance(user, User)
        data = SigningKeyRegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        try:
            if v.get("public_key"):
                key = signing_key_register_browser(
                    user=user, name=v["name"], public_key=v["public_key"]
                )
            else:
                key = signing_key_register_certificate(
                    user=user,
                    name=v["name"],
                    certificate_pem=v["certificate"],
                    chain_pem=v.get("chain", ""),
                )
        except ValidationError as exc:
            return Response(
                {"detail": " ".join(exc.messages), "code": exc.code or ""},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(SigningKeySerializer(key).data, status=status.HTTP_201_CREATED)
