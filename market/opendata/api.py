"""Open data API: OCDS 1.1 release packages (paged, filterable by date) and records."""

from __future__ import annotations

from datetime import datetime, time
from datetime import timezone as dt_timezone

from django.utils import timezone
from django.utils.dateparse import parse_datetime, parse_date
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from . import ocds
from .models import OcdsRelease
from ..api.serializers import ErrorSerializer

MAX_PAGE_SIZE = 500
MAX_OFFSET = 2**62  # beyond this a page is past the end (and its offset too large for the database)


def _moment(value: str, field: str):
    if not value:
        return None
    # A well-formed but impossible moment (2026-02-30, 25:00) raises ValueError; one near the years 1
    # and 9999 may not convert to UTC (OverflowError).
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            if day is None:
                raise ValueError(value)
            parsed = datetime.combine(day, time.min)
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        parsed.astimezone(dt_timezone.utc)
    except (ValueError, OverflowError):
        raise ValidationError({field: [_("Use an ISO 8601 date or date-time, such as 2026-11-01.")]}) from None
    return parsed


@extend_schema(tags=["open data"], parameters=[
    OpenApiParameter("since", str, description="releases dated at or after (ISO 8601)"),
    OpenApiParameter("until", str, description="releases dated before (ISO 8601)"),
    OpenApiParameter("page", int), OpenApiParameter("page_size", int)], responses={200: dict, 400: ErrorSerializer})
class ReleasePackageView(APIView):
    """An OCDS 1.1 release package of every published change, oldest first."""

    authentication_classes: list = []

    def get(self, request):
        since = _moment(request.query_params.get("since", ""), "since")
        until = _moment(request.query_params.get("until", ""), "until")
        try:
            page = max(1, int(request.query_params.get("page", 1)))
            size = min(MAX_PAGE_SIZE, max(1, int(request.query_params.get("page_size", 100))))
        except ValueError:
            raise ValidationError({"page": [_("page and page_size are whole numbers.")]})
        qs = OcdsRelease.objects.order_by("date", "pk")
        if since:
            qs = qs.filter(date__gte=since)
        if until:
            qs = qs.filter(date__lt=until)
        offset = (page - 1) * size
        rows = list(qs.values_list("data", flat=True)[offset: offset + size + 1]) if offset < MAX_OFFSET else []
        has_next = len(rows) > size
        base = request.build_absolute_uri(request.path)
        package = ocds.release_package(releases=rows[:size], uri=request.build_absolute_uri())
        links = {}
        params = request.query_params.copy()
        if has_next:
            params["page"] = page + 1
            links["next"] = f"{base}?{params.urlencode()}"
        if page > 1:
            params["page"] = page - 1
            links["prev"] = f"{base}?{params.urlencode()}"
        if links:
            package["links"] = links
        return Response(package)


@extend_schema(tags=["open data"], responses={200: dict, 404: ErrorSerializer})
class RecordPackageView(APIView):
    """An OCDS 1.1 record package: every release of one contracting process and its compiled release."""

    authentication_classes: list = []

    def get(self, request, ocid: str):
        releases = list(OcdsRelease.objects.filter(ocid=ocid).order_by("date", "pk").values_list("data", flat=True))
        if not releases:
            raise NotFound(_("No contracting process has this ocid."))
        return Response(ocds.record_package(ocid=ocid, releases=releases, uri=request.build_absolute_uri()))
