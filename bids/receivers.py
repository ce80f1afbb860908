"""Bids hear the requests' events (market.requests.events): the agencies with an active bid are told
by e-mail, once the change commits, that the request they bid on was amended or cancelled."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from market.accounts.models import Membership
from market.requests.events import request_amended, request_cancelled
from market.requests.models import ServiceRequest

from .models import Bid, BidStatus


def bidders_notify(*, service_request: ServiceRequest, subject: str, body: str) -> int:
    """E-mail every member of the agencies with an active bid on the request; returns how many."""
    org_ids = Bid.objects.filter(request=service_request, status=BidStatus.ACTIVE).values_list(
        "agency__organization_id", flat=True)
    emails = sorted(set(Membership.objects.filter(organization_id__in=org_ids).exclude(user__email="")
                        .values_list("user__email", flat=True)))
    if emails:
        send_mass_mail([(subject, body, settings.DEFAULT_FROM_EMAIL, [e]) for e in emails], fail_silently=True)
    return len(emails)


def on_request_amended(sender, *, request: ServiceRequest, amendment, **kwargs) -> None:
    transaction.on_commit(lambda: bidders_notify(
        service_request=request, subject=_("Amendment to “%(p)s”") % {"p": request.project_name},
        body=_("The request “%(p)s” was amended: %(r)s. New deadline: %(d)s.")
        % {"p": request.project_name, "r": amendment.reason,
           "d": timezone.localtime(request.bid_deadline).strftime("%Y-%m-%d %H:%M")}))


def on_request_cancelled(sender, *, request: ServiceRequest, reason: str, **kwargs) -> None:
    transaction.on_commit(lambda: bidders_notify(
        service_request=request, subject=_("Cancelled: %(p)s") % {"p": request.project_name},
        body=_("The request “%(p)s” was cancelled: %(r)s") % {"p": request.project_name, "r": reason}))


def connect() -> None:
    request_amended.connect(on_request_amended, dispatch_uid="bids.request_amended")
    request_cancelled.connect(on_request_cancelled, dispatch_uid="bids.request_cancelled")
