"""API for paying a contract, and Stripe's webhook. A contract's payment also shows in the private
part of the contract (`payment_data`, registered with market.contracts.events).

Thin: each view calls a service of market.payments and answers. Errors (ValidationError,
PermissionDenied, 404) become JSON through market.core.errors, each refusal with its code."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from market.api.serializers import ErrorSerializer
from market.contracts.api import ERRORS, Authenticated, CodedErrors, contract_or_404
from market.contracts.models import Contract

from . import selectors as payment_selectors
from . import services as payment_services
from . import webhooks
from .selectors import PaymentView


class PaymentSerializer(serializers.Serializer):
    status = serializers.CharField()
    label = serializers.CharField()
    offline = serializers.BooleanField()
    payment_intent = serializers.CharField(allow_null=True)
    amount_fen = serializers.IntegerField(allow_null=True)
    capture_method = serializers.CharField(allow_null=True)
    amount_capturable_fen = serializers.IntegerField(allow_null=True)
    amount_received_fen = serializers.IntegerField(allow_null=True)
    amount_refunded_fen = serializers.IntegerField(allow_null=True)


class PaymentStartSerializer(serializers.Serializer):
    status = serializers.CharField()
    offline = serializers.BooleanField()
    client_secret = serializers.CharField(allow_null=True)
    publishable_key = serializers.CharField(allow_blank=True)
    payment = PaymentSerializer()


def _payment_data(view: PaymentView) -> dict:
    p = view.payment
    return {"status": view.status, "label": str(view.label), "offline": view.offline,
            "payment_intent": p.intent_id if p else None, "amount_fen": p.amount_fen if p else None,
            "capture_method": p.capture_method if p else None,
            "amount_capturable_fen": p.amount_capturable_fen if p else None,
            "amount_received_fen": p.amount_received_fen if p else None,
            "amount_refunded_fen": p.amount_refunded_fen if p else None}


def payment_data(contract: Contract) -> dict:
    """The "payment" of a contract's private part."""
    return _payment_data(payment_selectors.payment_view(contract))


@extend_schema(tags=["payments"])
class PaymentStartView(Authenticated):
    """The owner starts paying the contract: returns the PaymentIntent's client secret for Stripe.js
    (the same one on a repeated call). Without Stripe configured the status is "offline"."""

    @extend_schema(request=None, responses={200: PaymentStartSerializer, **ERRORS})
    def post(self, request, pk: int):
        view = payment_services.payment_start(actor=request.user, contract=contract_or_404(pk))
        return Response({"status": view.status, "offline": view.offline, "client_secret": view.client_secret,
                         "publishable_key": view.publishable_key, "payment": _payment_data(view)})


@extend_schema(tags=["payments"])
class StripeWebhookView(CodedErrors, APIView):
    """Stripe's events. The signature (Stripe-Signature header) is verified with the endpoint
    secret; each event id is stored once and applied once, in whatever order events arrive."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]

    @extend_schema(request=None, responses={200: inline_serializer("WebhookResult", {
        "received": serializers.BooleanField(), "event": serializers.CharField(), "type": serializers.CharField(),
        "duplicate": serializers.BooleanField(), "result": serializers.CharField()}), 400: ErrorSerializer})
    def post(self, request):
        result = webhooks.webhook_receive(payload=request.body, signature=request.META.get("HTTP_STRIPE_SIGNATURE"))
        return Response({"received": True, "event": result.event_id, "type": result.type,
                         "duplicate": result.duplicate, "result": result.result})
