"""REST API v1 of the tender app: a round's procurement document, its amendment notices
and its clarifications (docs/procurement-document.md).

The document, the notices and the answered clarifications are public (no token needed),
as on the public round page; asking is for manufacturers, answering for the round's
office. No response to anyone but the round's office names who asked a question.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import permissions
from accounts.models import User
from procurement.models import Round
from tender import selectors, services
from tender.models import Amendment, AmendmentChange, Clarification, DocumentPdf
from tender.presentation import document_number


class IsManufacturer(permissions.IsManufacturer):
    message = "Only manufacturers ask questions on a round's documents."


class IsOffice(permissions.IsOffice):
    message = "Only a procurement office answers questions."


def _published(code: str) -> Round:
    try:
        return selectors.round_get_published(code=code)
    except Round.DoesNotExist as exc:
        raise Http404 from exc


# --- serializers ---------------------------------------------------------------------------


class VersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    document_number = serializers.CharField()
    published_at = serializers.DateTimeField()
    content_sha256 = serializers.CharField()
    amendment_number = serializers.IntegerField(allow_null=True)
    pdfs = serializers.DictField(
        child=serializers.CharField(allow_null=True),
        help_text="URL of the PDF per language (zh-hans, en); null while it is being prepared.",
    )


class DocumentSerializer(VersionSerializer):
    content = serializers.JSONField(
        help_text="The structured document (format jicai-procurement-document/1): round, "
        "rule_set (with parameters and periods in days), timetable, items with their "
        "specifications, ceilings and pooled demand, amendments."
    )
    versions = VersionSerializer(many=True)


class ChangeSerializer(serializers.ModelSerializer):
    item_code = serializers.SerializerMethodField()
    specification_code = serializers.SerializerMethodField()

    class Meta:
        model = AmendmentChange
        fields = [
            "kind",
            "field",
            "item_code",
            "specification_code",
            "old_value",
            "new_value",
            "material",
            "automatic",
        ]

    def get_item_code(self, change: AmendmentChange) -> str | None:
        return change.round_item.item.code if change.round_item else None

    def get_specification_code(self, change: AmendmentChange) -> str | None:
        return change.specification.code if change.specification else None


class AmendmentSerializer(serializers.ModelSerializer):
    changes = ChangeSerializer(many=True)

    class Meta:
        model = Amendment
        fields = ["number", "published_at", "reason", "reason_en", "material", "changes"]


class PublishedClarificationSerializer(serializers.Serializer):
    """An answered question as everyone sees it: never who asked."""

    number = serializers.IntegerField()
    item_code = serializers.CharField(allow_null=True, source="round_item__item__code")
    question = serializers.CharField(source="published_question")
    answer = serializers.CharField()
    answered_at = serializers.DateTimeField()


class OwnClarificationSerializer(serializers.ModelSerializer):
    """A question as its asker (or the round's office) sees it."""

    item_code = serializers.SerializerMethodField()

    class Meta:
        model = Clarification
        fields = [
            "id",
            "item_code",
            "question",
            "asked_at",
            "status",
            "number",
            "published_question",
            "answer",
            "answered_at",
        ]

    def get_item_code(self, clarification: Clarification) -> str | None:
        return clarification.round_item.item.code if clarification.round_item else None


class AskSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=2000)
    item_code = serializers.CharField(
        required=False, allow_blank=True, help_text="The item the question is about, if one."
    )


class AnswerSerializer(serializers.Serializer):
    answer = serializers.CharField(max_length=5000)
    published_question = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="The question as it will be published (default: as asked). Leave out "
        "anything that names the asker.",
    )


_DETAIL = inline_serializer("TenderRefused", {"detail": serializers.CharField()})

# --- views ---------------------------------------------------------------------------------


def _version_row(request: Request, round_: Round, version: Any) -> dict[str, Any]:
    stored = {pdf.language for pdf in version.pdfs.all()}
    return {
        "number": version.number,
        "document_number": document_number(round_.code, version.number),
        "published_at": version.published_at,
        "content_sha256": version.content_sha256,
        "amendment_number": version.amendment.number if version.amendment else None,
        "pdfs": {
            language: request.build_absolute_uri(
                reverse("tender:document-pdf", args=[round_.code, version.number, language])
            )
            if language in stored
            else None
            for language in DocumentPdf.Language.values
        },
    }


class DocumentView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["procurement document"],
        summary="A round's procurement document: the current version and every version",
        responses={200: DocumentSerializer, 404: OpenApiResponse(description="Not published.")},
    )
    def get(self, request: Request, code: str) -> Response:
        round_ = _published(code)
        versions = list(selectors.document_versions(round_=round_))
        current = versions[0]
        body = {
            **_version_row(request, round_, current),
            "content": current.content,
            "versions": [_version_row(request, round_, v) for v in versions],
        }
        return Response(DocumentSerializer(body).data)


class AmendmentListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["procurement document"],
        summary="A round's amendment notices, newest first, each change old -> new",
        responses={200: AmendmentSerializer(many=True)},
    )
    def get(self, request: Request, code: str) -> Response:
        round_ = _published(code)
        return Response(
            AmendmentSerializer(selectors.amendments_public(round_=round_), many=True).data
        )


class ClarificationListView(APIView):
    """GET: the answered clarifications (public, without who asked). POST: a manufacturer
    asks a question (until the rule set's cutoff before the bid deadline)."""

    def get_permissions(self) -> list[BasePermission]:
        if self.request.method == "GET":
            return [AllowAny()]
        return [IsAuthenticated(), IsManufacturer()]

    @extend_schema(
        tags=["procurement document"],
        summary="A round's answered questions (never who asked)",
        responses={200: PublishedClarificationSerializer(many=True)},
    )
    def get(self, request: Request, code: str) -> Response:
        round_ = _published(code)
        rows = selectors.clarifications_published(round_=round_)
        return Response(PublishedClarificationSerializer(rows, many=True).data)

    @extend_schema(
        tags=["procurement document"],
        summary="Ask a question on a round's documents (manufacturers)",
        request=AskSerializer,
        responses={
            201: OwnClarificationSerializer,
            400: OpenApiResponse(_DETAIL, description="An invalid question."),
            409: OpenApiResponse(_DETAIL, description="Questions are not accepted now."),
        },
    )
    def post(self, request: Request, code: str) -> Response:
        round_ = _published(code)
        serializer = AskSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item_code = serializer.validated_data.get("item_code") or ""
        round_item = None
        if item_code:
            round_item = round_.items.filter(item__code=item_code).first()
            if round_item is None:
                return Response(
                    {"detail": f"Item {item_code} is not in round {round_.code}."},
                    status=status.HTTP_400_BAD_REQUEST,
                )
        user: User = request.user  # type: ignore[assignment]
        try:
            clarification = services.clarification_ask(
                round_=round_,
                by=user,
                question=serializer.validated_data["question"],
                round_item=round_item,
            )
        except ValidationError as exc:
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_409_CONFLICT)
        return Response(
            OwnClarificationSerializer(clarification).data, status=status.HTTP_201_CREATED
        )


class MyClarificationsView(APIView):
    permission_classes = [IsAuthenticated, IsManufacturer]

    @extend_schema(
        tags=["procurement document"],
        summary="Your questions on a round, answered or not (manufacturers)",
        responses={200: OwnClarificationSerializer(many=True)},
    )
    def get(self, request: Request, code: str) -> Response:
        round_ = _published(code)
        questions = selectors.clarification_list_for_user(user=request.user, round_=round_)  # type: ignore[arg-type]
        return Response(OwnClarificationSerializer(questions, many=True).data)


class ClarificationAnswerView(APIView):
    permission_classes = [IsAuthenticated, IsOffice]

    @extend_schema(
        tags=["procurement document"],
        summary="Answer a question and publish it (the round's office)",
        request=AnswerSerializer,
        responses={
            200: OwnClarificationSerializer,
            409: OpenApiResponse(_DETAIL, description="Already answered, or bidding closed."),
        },
    )
    def post(self, request: Request, code: str, pk: int) -> Response:
        user: User = request.user  # type: ignore[assignment]
        round_ = Round.objects.filter(code=code, office=user.organization).first()
        if round_ is None:
            raise Http404
        try:
            clarification = selectors.clarification_get_for_office(user=user, round_=round_, pk=pk)
        except Clarification.DoesNotExist as exc:
            raise Http404 from exc
        serializer = AnswerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.clarification_answer(
                clarification=clarification,
                by=user,
                answer=serializer.validated_data["answer"],
                published_question=serializer.validated_data.get("published_question", ""),
            )
        except ValidationError as exc:
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_409_CONFLICT)
        clarification.refresh_from_db()
        return Response(OwnClarificationSerializer(clarification).data)
