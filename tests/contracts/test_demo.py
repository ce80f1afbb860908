"""seed_demo makes contracts in the states a demo shows, through the services (audit events, open
data), and a second run adds nothing."""

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from market.core.audit import audit_verify
from market.contracts.models import Contract, ContractStatus, DeliveryStatus
from market.contracts.selectors import contracts_overdue
from market.core.models import AuditEvent
from market.accounts.models import User
from market.requests.models import ServiceRequest
from market.opendata.models import OcdsRelease
from market.payments.models import Payment

pytestmark = pytest.mark.django_db

SIZE = {"owners": 4, "agencies": 30, "requests": 12}


def test_seed_demo_makes_contracts_in_every_state_once(settings, client):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # seed_demo swaps it; restored after
    call_command("seed_demo", quiet=True, stdout=io.StringIO(), **SIZE)
    now = timezone.now()

    awaiting = Contract.objects.filter(status=ContractStatus.DRAFTED, confirm_deadline__gt=now)
    assert awaiting.filter(owner_confirmed_at__isnull=True).exists()
    assert Contract.objects.filter(status=ContractStatus.IN_SERVICE, due_at__gt=now, signed_at__isnull=False).exists()
    delivered = Contract.objects.filter(status=ContractStatus.DELIVERED, delivery_rounds__status=DeliveryStatus.PENDING,
                                        delivery_rounds__review_deadline__gt=now)
    assert delivered.exists() and delivered.first().delivery_rounds.get(status="pending").files.exists()
    closed = Contract.objects.filter(status=ContractStatus.CLOSED, evaluation__isnull=False)
    assert closed.exists()
    assert not Payment.objects.exists()  # no Stripe keys: paid offline, closed by the owner
    assert all(c.accepted_at and c.closed_at and c.accepted_at <= c.closed_at <= now for c in closed)
    assert contracts_overdue(now=now).exists()
    # Every awarded request of the demo got its contract; none is left for the deadline job.
    assert not ServiceRequest.objects.filter(status="awarded", contracts__isnull=True).exists()

    # Made through the services: audit events and open-data releases, and the chain holds.
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"contract.draft", "contract.confirm", "contract.in_service", "delivery.submit", "delivery.accepted",
            "contract.accepted", "evaluation.submit", "contract.closed"} <= actions
    contracted = Contract.objects.values_list("request_id", flat=True)
    tags = {t for row in OcdsRelease.objects.filter(request_id__in=contracted).values_list("tags", flat=True) for t in row}
    assert {"contract", "implementation"} <= tags
    assert audit_verify() is None

    # The demo owner sees its contracts on the desk.
    owner1 = User.objects.get(username="owner1")
    mine = Contract.objects.filter(owner__memberships__user=owner1)
    assert mine.exists()
    client.force_login(owner1)
    body = client.get("/accounts/dashboard/").content.decode()
    assert 'id="desk-contracts"' in body and all(c.number in body for c in mine.exclude(status="closed"))

    counts = (Contract.objects.count(), ServiceRequest.objects.count(), AuditEvent.objects.count(),
              OcdsRelease.objects.count())
    call_command("seed_demo", quiet=True, stdout=io.StringIO(), **SIZE)
    assert (Contract.objects.count(), ServiceRequest.objects.count(), AuditEvent.objects.count(),
            OcdsRelease.objects.count()) == counts


def test_seed_demo_with_a_short_bidding_window_still_shows_every_contract_state(settings):
    """The README suggests a bidding window of seconds for demos: the demo bids must still land
    before each deadline, so every state is built."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MARKET = {**settings.MARKET, "MIN_BIDDING_WINDOW_SECONDS": 60}
    from market.demo.contracts import _present

    call_command("seed_demo", quiet=True, stdout=io.StringIO(), **SIZE)
    assert _present(timezone.now()) == {"closed", "overdue", "delivered", "in_service", "drafted"}
