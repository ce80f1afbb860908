"""REST API of agencies (/api/v1/agencies/…). Thin: parse, call services, serialize.
Errors (Django or DRF) become JSON through market.core.errors."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from rest_framework import serializers
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import status
from rest_framework.exceptions import NotAuthenticated
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from market.api.pagination import PAGE_NOT_FOUND, Pagination
from market.accounts.api import ERRORS
from market.accounts.models import Region
from market.catalogue.models import QualificationType, ServiceItem

from . import selectors, services
from . import serializers as s
from .files import private_file_get, private_file_response
from .models import AgencyServiceItem, AgencyStatus, Practitioner
from .permissions import can_see_private, require_see_private

TAGS = ["agencies"]
LIST_PARAMETERS = [
    OpenApiParameter("service_item", str, description="catalogue code of an offered service item"),
    OpenApiParameter("region", str, description="GB/T 2260 code; a prefecture matches its counties and towns"),
    OpenApiParameter("qualification", str, description="qualification type code held with a certificate valid today"),
    OpenApiParameter("q", str, description="words of the name, or the exact USCC"),
    OpenApiParameter("sort", str, enum=["name", "grade"], description="name (default) or credit grade, A first"),
    OpenApiParameter("status", str, enum=AgencyStatus.values,
                     description="members see their own registrations and regulators all in any status"),
    OpenApiParameter("page", int), OpenApiParameter("page_size", int),
]


def _require_login(request) -> None:
    if not (request.user and request.user.is_authenticated):
        raise NotAuthenticated(_("Log in (or send an API token) to do this."))


def _agency_for(request, pk: int):
    """The agency, if the requester may see it at all (404 otherwise, whatever the reason)."""
    agency = selectors.agency_visible(user=request.user).filter(pk=pk).first()
    if agency is None:
        raise Http404
    return agency


def _detail(request, pk: int) -> Response:
    agency = _agency_for(request, pk)
    private = can_see_private(request.user, agency)
    if private:  # the private view needs its files and people too
        agency = (selectors.agency_visible(user=request.user).prefetch_related("licence_files", "practitioners")
                  .filter(pk=pk).first())
    serializer = (s.AgencyPrivateSerializer if private else s.AgencySerializer)(agency, context={"today": timezone.localdate()})
    return Response(serializer.data)


class AgencyListView(APIView):
    """The agency directory and agency registration."""

    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(tags=TAGS, parameters=LIST_PARAMETERS, responses={200: inline_serializer("AgencyPage", {
        "count": serializers.IntegerField(), "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True), "results": s.AgencySerializer(many=True)}), **PAGE_NOT_FOUND},
                   operation_id="agencies_list", summary="List agencies (the public sees active agencies only)")
    def get(self, request):
        filters = selectors.AgencyFilters.from_params(request.query_params)
        qs = selectors.agency_visible(user=request.user, filters=filters)
        paginator = Pagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        data = s.AgencySerializer(page, many=True, context={"today": timezone.localdate()}).data
        return paginator.get_paginated_response(data)

    @extend_schema(tags=TAGS, request=s.AgencyRegisterSerializer, responses={201: s.AgencyPrivateSerializer, **ERRORS},
                   summary="Register an agency (a draft); the caller becomes its administrator")
    def post(self, request):
        _require_login(request)
        data = s.AgencyRegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        region = Region.objects.filter(code=v.pop("region")).first()
        agency = services.agency_register(actor=request.user, region=region, **v)
        response = _detail(request, agency.pk)
        response.status_code = status.HTTP_201_CREATED
        return response


class AgencyDetailView(APIView):
    @extend_schema(tags=TAGS, responses={200: s.AgencyPrivateSerializer, 404: ERRORS[404]},
                   summary="One agency (private fields for its staff and regulators)")
    def get(self, request, pk: int):
        return _detail(request, pk)

    @extend_schema(tags=TAGS, request=s.AgencyPatchSerializer, responses={200: s.AgencyPrivateSerializer, **ERRORS},
                   summary="Change a draft or returned registration")
    def patch(self, request, pk: int):
        _require_login(request)
        agency = _agency_for(request, pk)
        data = s.AgencyPatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        items = v.pop("service_items", None)
        people = v.pop("practitioners", None)
        if "region" in v:
            v["region"] = Region.objects.filter(code=v["region"]).first()
        with transaction.atomic():  # all of it or nothing
            if v:
                services.agency_update_profile(actor=request.user, agency=agency, **v)
            if items is not None:
                _replace_items(request, agency, items)
            if people is not None:
                _replace_practitioners(request, agency, people)
        return _detail(request, pk)


def _replace_items(request, agency, items: list[dict]) -> None:
    by_code = {i.code: i for i in ServiceItem.objects.filter(code__in=[x["code"] for x in items])}
    unknown = [x["code"] for x in items if x["code"] not in by_code]
    if unknown:
        raise DjangoValidationError({"service_items": [_("Unknown service item code: %(codes)s") % {"codes": ", ".join(unknown)}]})
    wanted = set(by_code)
    for offer in AgencyServiceItem.objects.filter(agency=agency).select_related("service_item"):
        if offer.service_item.code not in wanted:
            services.agency_item_remove(actor=request.user, offered_item=offer)
    for x in items:
        try:
            services.agency_item_set(actor=request.user, agency=agency, service_item=by_code[x["code"]],
                                     fee_quote=x["fee_quote"], fee_quote_fen=x["fee_quote_fen"], commitment=x["commitment"])
        except DjangoValidationError as exc:
            if not hasattr(exc, "error_dict"):
                raise
            raise DjangoValidationError({f"service_items.{x['code']}.{k}": v for k, v in exc.message_dict.items()}) from None


def _replace_practitioners(request, agency, people: list[dict]) -> None:
    for person in Practitioner.objects.filter(agency=agency):
        services.practitioner_remove(actor=request.user, practitioner=person)
    for p in people:
        services.practitioner_add(actor=request.user, agency=agency, name=p["name"], title=p.get("title", ""),
                                  certificate_number=p.get("certificate_number", ""))


class AgencySubmitView(APIView):
    @extend_schema(tags=TAGS, request=None, responses={200: s.AgencyPrivateSerializer, **ERRORS},
                   summary="Submit a draft (or a returned registration) for review")
    def post(self, request, pk: int):
        _require_login(request)
        agency = _agency_for(request, pk)
        services.agency_transition(agency=agency, to=AgencyStatus.SUBMITTED, actor=request.user)
        return _detail(request, pk)


class AgencyReviewView(APIView):
    @extend_schema(tags=TAGS, request=s.AgencyReviewSerializer, responses={200: s.AgencyPrivateSerializer, **ERRORS},
                   summary="A regulator approves (publicity starts), returns or rejects a submitted registration")
    def post(self, request, pk: int):
        _require_login(request)
        agency = _agency_for(request, pk)
        data = s.AgencyReviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.agency_review(actor=request.user, agency=agency, decision=data.validated_data["decision"],
                               comment=data.validated_data["comment"])
        return _detail(request, pk)


class AgencyWithdrawView(APIView):
    @extend_schema(tags=TAGS, request=s.AgencyWithdrawSerializer, responses={200: s.AgencyPrivateSerializer, **ERRORS},
                   summary="The agency's administrator withdraws its registration")
    def post(self, request, pk: int):
        _require_login(request)
        agency = _agency_for(request, pk)
        data = s.AgencyWithdrawSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.agency_transition(agency=agency, to=AgencyStatus.WITHDRAWN, actor=request.user,
                                   comment=data.validated_data["comment"])
        return _detail(request, pk)


class QualificationListView(APIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(tags=TAGS, responses={200: s.AgencyQualificationPrivateSerializer(many=True), **ERRORS},
                   summary="An agency's qualification certificates with their validity")
    def get(self, request, pk: int):
        agency = _agency_for(request, pk)
        serializer = s.AgencyQualificationPrivateSerializer if can_see_private(request.user, agency) else s.AgencyQualificationSerializer
        return Response(serializer(agency.all_qualifications, many=True, context={"today": timezone.localdate()}).data)

    @extend_schema(tags=TAGS, request={"multipart/form-data": s.AgencyQualificationInputSerializer,
                                       "application/json": s.AgencyQualificationInputSerializer},
                   responses={201: s.AgencyQualificationPrivateSerializer, **ERRORS},
                   summary="Add a qualification certificate (with its scan)")
    def post(self, request, pk: int):
        _require_login(request)
        agency = _agency_for(request, pk)
        data = s.AgencyQualificationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        qtype = QualificationType.objects.filter(code=v["qualification_type"]).first()
        if qtype is None:
            raise DjangoValidationError({"qualification_type": [_("Unknown qualification type code.")]})
        qual = services.qualification_add(actor=request.user, agency=agency, qualification_type=qtype,
                                          certificate_number=v["certificate_number"], issuer=v["issuer"], level=v["level"],
                                          valid_from=v["valid_from"], valid_to=v["valid_to"], upload=v.get("file"))
        return Response(s.AgencyQualificationPrivateSerializer(qual, context={"today": timezone.localdate()}).data,
                        status=status.HTTP_201_CREATED)


class QualificationFileView(APIView):
    @extend_schema(tags=TAGS, responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **ERRORS},
                   summary="Download a certificate scan (the agency's staff and regulators only)")
    def get(self, request, pk: int, qid: int):
        _require_login(request)
        obj = private_file_get(kind="qualification", pk=qid, user=request.user)
        if obj.agency_id != pk:
            raise Http404
        return private_file_response(obj)


class LicenceFileListView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(tags=TAGS, responses={200: s.AgencyLicenceFileSerializer(many=True), **ERRORS},
                   summary="The agency's licence files (its staff and regulators only)")
    def get(self, request, pk: int):
        _require_login(request)
        agency = _agency_for(request, pk)
        require_see_private(request.user, agency)
        return Response(s.AgencyLicenceFileSerializer(agency.licence_files.order_by("uploaded_at", "pk"), many=True).data)

    @extend_schema(tags=TAGS, request={"multipart/form-data": s.AgencyLicenceFileInputSerializer},
                   responses={201: s.AgencyLicenceFileSerializer, **ERRORS}, summary="Upload a licence file")
    def post(self, request, pk: int):
        _require_login(request)
        agency = _agency_for(request, pk)
        data = s.AgencyLicenceFileInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        doc = services.licence_file_add(actor=request.user, agency=agency, upload=data.validated_data["file"],
                                        kind=data.validated_data["kind"])
        return Response(s.AgencyLicenceFileSerializer(doc).data, status=status.HTTP_201_CREATED)


class LicenceFileView(APIView):
    @extend_schema(tags=TAGS, responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **ERRORS},
                   summary="Download a licence file (the agency's staff and regulators only)")
    def get(self, request, pk: int, fid: int):
        _require_login(request)
        obj = private_file_get(kind="licence", pk=fid, user=request.user)
        if obj.agency_id != pk:
            raise Http404
        return private_file_response(obj)

