"""API for bids, quality scores, selection and objections. Sealed rules apply to every read."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies.models import Agency
from market.requests import selectors as request_selectors
from market.requests.api import _get_request
from market.api.serializers import ErrorSerializer, FenField, IdField
from market.accounts.models import Organization

from . import selectors, services
from .models import Bid, BidStatus, Evaluator, ResultObjection

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}


class BidWriteSerializer(serializers.Serializer):
    agency = IdField(required=False, help_text=_("Agency id (default: your only one)"))
    price_fen = FenField(min_value=1, required=False, allow_null=True)
    discount_bp = serializers.IntegerField(min_value=0, max_value=10000, required=False, allow_null=True)
    nonce = serializers.RegexField(r"^[0-9a-fA-F]{32,128}$", required=False, allow_blank=True,
                                   help_text=_("16–64 random bytes in hex, chosen by your client"))
    proposal = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class BidSerializer(serializers.Serializer):
    """A bid as its agency reads it (fields declared, not derived from the model: a submission
    answers with it, and deriving the fields each time cost more than the rest of the answer)."""

    id = serializers.IntegerField(read_only=True)
    request = serializers.IntegerField(source="request_id", read_only=True)
    agency = serializers.IntegerField(source="agency_id", read_only=True)
    agency_name = serializers.CharField(source="agency.organization.name", read_only=True)
    status = serializers.ChoiceField(choices=BidStatus.choices, read_only=True, label=gettext_lazy("status"))
    price_fen = serializers.IntegerField(read_only=True, label=gettext_lazy("price (fen)"))
    discount_bp = serializers.IntegerField(read_only=True, allow_null=True, label=gettext_lazy("discount rate (basis points)"))
    nonce = serializers.CharField(read_only=True, label=gettext_lazy("nonce"))
    proposal = serializers.CharField(read_only=True, label=gettext_lazy("proposal"))
    content_hash = serializers.CharField(read_only=True)
    submitted_at = serializers.DateTimeField(read_only=True, label=gettext_lazy("submitted at"))
    updated_at = serializers.DateTimeField(read_only=True, label=gettext_lazy("updated at"))


BidListSerializer = inline_serializer("BidList", {
    "count": serializers.IntegerField(), "sealed": serializers.BooleanField(), "bids": BidSerializer(many=True)})


NOT_YOURS = gettext_lazy("You do not act for this agency.")


def _agency_for(user, agency_id: int | None) -> Agency:
    """The agency the user bids for: the one named (whether the user may act for it the service asks,
    and the view answers 404 if not), else the user's only agency."""
    if agency_id is not None:
        agency = (Agency.objects.select_related("organization")
                  .filter(pk=agency_id, organization__kind=Organization.Kind.AGENCY)[:1])
        if not agency:
            raise NotFound(NOT_YOURS)
        return agency[0]
    ids = selectors.user_agency_ids(user)
    agencies = list(Agency.objects.filter(pk__in=ids).exclude(status__in=["withdrawn", "rejected"]).select_related("organization"))
    if len(agencies) != 1:
        raise serializers.ValidationError({"agency": [_("Say which agency bids.")]})
    return agencies[0]


def _conflict(exc: services.BidRefused) -> Response:
    code = exc.refusal.code
    http = status.HTTP_409_CONFLICT if code == "duplicate" else (
        status.HTTP_403_FORBIDDEN if code in ("banned", "suspended", "not_active", "avoided") else status.HTTP_400_BAD_REQUEST)
    return Response({"message": exc.refusal.message, "field": None, "code": code}, status=http)


@extend_schema(tags=["bids"])
class RequestBidsView(APIView):
    @extend_schema(responses={200: BidListSerializer, **ERRORS})
    def get(self, request, pk: int):
        """The bids of a request: before the deadline, a count and only your own bid."""
        obj = _get_request(pk, request.user)
        now = timezone.now()
        count, visible = selectors.bids_visible(request=obj, user=request.user, now=now)
        return Response({"count": count, "sealed": obj.is_sealed_at(now), "bids": BidSerializer(visible, many=True).data})

    @extend_schema(request=BidWriteSerializer, responses={201: BidSerializer, **ERRORS})
    def post(self, request, pk: int):
        if not request.user.is_authenticated:
            self.permission_denied(request)
        s = BidWriteSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        agency = _agency_for(request.user, d.get("agency"))
        try:
            # The service reads and locks the request itself; whether this user may see it is asked
            # only when it is not open (a draft of someone else's is "no such request", not "not open").
            bid = services.bid_submit(actor=request.user, request=pk, agency=agency, price_fen=d.get("price_fen"),
                                      discount_bp=d.get("discount_bp"), nonce=d.get("nonce") or None,
                                      proposal=d.get("proposal", ""))
        except PermissionDenied:  # not a member of the agency named: as if there were no such agency
            raise NotFound(NOT_YOURS)
        except services.BidRefused as exc:
            if exc.refusal.code == "not_open" and request_selectors.request_get_for_action(pk=pk, user=request.user) is None:
                raise NotFound(_("No such service request."))
            return _conflict(exc)
        return Response(BidSerializer(bid).data, status=status.HTTP_201_CREATED)


def _own_bid(request, bid_id: int) -> Bid:
    bid = Bid.objects.select_related("agency__organization", "request").filter(pk=bid_id).first()
    if bid is None or bid.agency_id not in selectors.user_agency_ids(request.user):
        raise NotFound(_("No such bid of yours."))
    return bid


@extend_schema(tags=["bids"])
class BidDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: BidSerializer, **ERRORS})
    def get(self, request, bid_id: int):
        return Response(BidSerializer(_own_bid(request, bid_id)).data)

    @extend_schema(request=BidWriteSerializer, responses={200: BidSerializer, **ERRORS})
    def patch(self, request, bid_id: int):
        bid = _own_bid(request, bid_id)
        s = BidWriteSerializer(data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        try:
            bid = services.bid_change(actor=request.user, bid=bid, price_fen=d.get("price_fen"),
                                      discount_bp=d.get("discount_bp"), nonce=d.get("nonce") or None,
                                      proposal=d.get("proposal"))
        except services.BidRefused as exc:
            return _conflict(exc)
        return Response(BidSerializer(bid).data)

    @extend_schema(responses={200: BidSerializer, **ERRORS})
    def delete(self, request, bid_id: int):
        bid = _own_bid(request, bid_id)
        try:
            bid = services.bid_withdraw(actor=request.user, bid=bid)
        except services.BidRefused as exc:
            return _conflict(exc)
        return Response(BidSerializer(bid).data)


class EvaluatorsSerializer(serializers.Serializer):
    names = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1, max_length=50)


class ScoresSerializer(serializers.Serializer):
    evaluator = serializers.CharField(max_length=64)
    bid = IdField()
    scores = serializers.DictField(child=serializers.DecimalField(max_digits=6, decimal_places=2))


@extend_schema(tags=["selection"])
class EvaluatorsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=EvaluatorsSerializer, responses={200: EvaluatorsSerializer, **ERRORS})
    def post(self, request, pk: int):
        obj = _get_request(pk, request.user)
        s = EvaluatorsSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        panel = services.evaluators_set(actor=request.user, request=obj, names=s.validated_data["names"])
        return Response({"names": [e.name for e in panel]})


@extend_schema(tags=["selection"])
class ScoresView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=ScoresSerializer, responses={204: None, **ERRORS})
    def post(self, request, pk: int):
        obj = _get_request(pk, request.user)
        s = ScoresSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        evaluator = Evaluator.objects.filter(request=obj, name=s.validated_data["evaluator"]).first()
        if evaluator is None:
            raise serializers.ValidationError({"evaluator": [_("No evaluator of this name on the panel.")]})
        bid = get_object_or_404(Bid, pk=s.validated_data["bid"], request=obj)
        services.quality_scores_submit(actor=request.user, evaluator=evaluator, bid=bid, scores=s.validated_data["scores"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class SelectSerializer(serializers.Serializer):
    bid = IdField(required=False, help_text=_("Direct choice only: the chosen bid"))
    reason = serializers.CharField(required=False, allow_blank=True, max_length=5000,
                                   help_text=_("Direct choice only: the published reason"))


@extend_schema(tags=["selection"])
class SelectView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=SelectSerializer, responses={200: dict, **ERRORS})
    def post(self, request, pk: int):
        obj = _get_request(pk, request.user)
        s = SelectSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        run = services.selection_run(actor=request.user, request=obj, direct_bid_id=s.validated_data.get("bid"),
                                     direct_reason=s.validated_data.get("reason", ""))
        return Response(run.published)


@extend_schema(tags=["selection"])
class SelectionView(APIView):
    @extend_schema(responses={200: dict, **ERRORS})
    def get(self, request, pk: int):
        """The published result with everything a verifier needs (secret, nonces, seed, tickets)."""
        obj = _get_request(pk, request.user)
        run = selectors.current_selection(request=obj)
        if run is None:
            raise NotFound(_("No result has been published for this request."))
        history = [r.published for r in obj.selection_runs.order_by("run")]
        return Response({**run.published, "history": history if len(history) > 1 else []})


class ObjectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ResultObjection
        fields = ["id", "request", "bid", "reason", "status", "ruling", "created_at", "ruled_at"]
        read_only_fields = ["id", "request", "status", "ruling", "created_at", "ruled_at"]
        extra_kwargs = {"reason": {"max_length": 5000}}


class RulingSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["uphold", "dismiss"])
    ruling = serializers.CharField(max_length=5000)


@extend_schema(tags=["selection"])
class ObjectionCreateView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=ObjectionSerializer, responses={201: ObjectionSerializer, **ERRORS})
    def post(self, request, pk: int):
        obj = _get_request(pk, request.user)
        s = ObjectionSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        bid = s.validated_data["bid"]
        if bid.agency_id not in selectors.user_agency_ids(request.user):
            raise NotFound(_("No such bid of yours."))
        objection = services.objection_lodge(actor=request.user, request=obj, bid=bid, reason=s.validated_data["reason"])
        return Response(ObjectionSerializer(objection).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["selection"])
class ObjectionRuleView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=RulingSerializer, responses={200: ObjectionSerializer, **ERRORS})
    def post(self, request, objection_id: int):
        objection = get_object_or_404(ResultObjection, pk=objection_id)
        s = RulingSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        objection = services.objection_rule(actor=request.user, objection=objection,
                                            uphold=s.validated_data["decision"] == "uphold", ruling=s.validated_data["ruling"])
        return Response(ObjectionSerializer(objection).data)
