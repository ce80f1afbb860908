from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from market.accounts import serializers as s
from market.accounts import services
from market.accounts.models import Organization, Region
from market.api.serializers import ErrorSerializer
from market.api.throttling import AnonThrottle, LoginThrottle, RegisterThrottle
from market.core.lockout import LOCKED_MESSAGE, client_address, is_locked

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}
TOO_MANY = {429: ErrorSerializer}  # repeated failed log-ins lock the name for a while; the login rate is throttled


class TokenView(APIView):
    """Exchange a user name and password for an API token."""

    authentication_classes: list = []
    throttle_classes = [LoginThrottle]
    throttle_scope = "login"

    @extend_schema(request=s.TokenRequestSerializer, responses={200: s.TokenSerializer, **ERRORS, **TOO_MANY}, tags=["auth"])
    def post(self, request):
        data = s.TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username = data.validated_data["username"]
        if is_locked(username, client_address(request)):  # the backend would refuse (market/lockout.py): say why
            return Response({"message": str(LOCKED_MESSAGE), "field": None, "code": "locked"}, status=429)
        user = authenticate(request, username=username, password=data.validated_data["password"])
        if user is None or not user.is_active:
            raise ValidationError({"non_field_errors": [_("The user name or password is wrong.")]})
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key, "user_id": user.pk})


class RegisterView(APIView):
    """Create an account, and optionally the owner organization it acts for."""

    authentication_classes: list = []
    throttle_classes = [AnonThrottle, RegisterThrottle]

    @extend_schema(request=s.RegisterSerializer, responses={201: s.RegisterResponseSerializer, **ERRORS, **TOO_MANY},
                   tags=["auth"])
    def post(self, request):
        data = s.RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        org_data = v.get("organization")
        with transaction.atomic():
            user = services.user_register(username=v["username"], email=v["email"], password=v["password"])
            org = None
            if org_data:
                kind = org_data.get("kind", Organization.Kind.OWNER)
                if kind != Organization.Kind.OWNER:
                    raise ValidationError({"organization.kind": [_("Only owner organizations register here; agencies use the agency registration.")]})
                region = Region.objects.filter(code=str(org_data.get("region", ""))).first()
                try:
                    org = services.organization_register(
                        actor=user, kind=kind, name=str(org_data.get("name", "")), uscc=str(org_data.get("uscc", "")),
                        region=region, address=str(org_data.get("address", "")),
                        legal_representative=str(org_data.get("legal_representative", "")),
                        contact_name=str(org_data.get("contact_name", "")), contact_phone=str(org_data.get("contact_phone", "")),
                        contact_email=str(org_data.get("contact_email", "")),
                    )
                except Exception as exc:  # prefix field names so the client knows they are nested
                    if isinstance(exc, DjangoValidationError) and hasattr(exc, "error_dict"):
                        raise ValidationError({f"organization.{k}": [str(m) for m in DjangoValidationError(v).messages]
                                               for k, v in exc.error_dict.items()})
                    raise
            token = Token.objects.create(user=user)
        body = {"user_id": user.pk, "username": user.username, "token": token.key,
                "organization": s.OrganizationSerializer(org).data if org else None}
        return Response(body, status=status.HTTP_201_CREATED)
