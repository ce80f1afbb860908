"""Demo agencies: many, across the province, in every status, idempotent."""

import random

import pytest
from django.contrib.auth import authenticate
from django.utils import timezone

from agencies import demo
from agencies.models import Agency, AgencyStatus, Qualification
from market.core.audit import audit_verify
from market.demo.core import DEMO_PASSWORD
from market.accounts.models import Membership
from market.accounts.permissions import can_manage

pytestmark = pytest.mark.django_db


class QuietProgress:
    def __call__(self, message):
        pass

    def iter(self, iterable, desc, total=None):
        return iterable


def test_demo_agencies_cover_every_status_and_rerun_adds_nothing():
    result = demo.seed(rng=random.Random(7), options={"agencies": 60}, progress=QuietProgress())
    assert result["agencies_created"] == 60
    assert set(Agency.objects.values_list("status", flat=True)) == set(AgencyStatus.values)
    assert Agency.objects.filter(status=AgencyStatus.ACTIVE).count() > 30
    prefectures = {code[:4] for code in Agency.objects.values_list("organization__region_id", flat=True)}
    assert len(prefectures) > 10
    today = timezone.localdate()
    assert Qualification.objects.filter(valid_to__lt=today).exists()
    assert Qualification.objects.filter(valid_to__gte=today, valid_to__lte=today + timezone.timedelta(days=30)).exists()
    # agency1 is active and administered by its demo user, who logs in with the demo password.
    user = authenticate(username="agency1", password=DEMO_PASSWORD)
    agency1 = Agency.objects.get(created_by=user)
    assert agency1.status == AgencyStatus.ACTIVE
    assert can_manage(user, agency1.organization)
    assert Membership.objects.filter(organization__kind="agency").count() == 60
    # every agency offers items, and holds a certificate (valid or not) of a type each of them requires
    for agency in Agency.objects.prefetch_related("offered_items__service_item__qualification_types", "qualifications"):
        assert agency.offered_items.all()
        held = {q.qualification_type_id for q in agency.qualifications.all()}
        for offer in agency.offered_items.all():
            required = {t.pk for t in offer.service_item.qualification_types.all()}
            assert not required or required & held, (agency, offer.service_item)
    assert audit_verify() is None
    again = demo.seed(rng=random.Random(7), options={"agencies": 60}, progress=QuietProgress())
    assert again["agencies_created"] == 0
    assert Agency.objects.count() == 60


def test_demo_directory_and_files_work(client):
    demo.seed(rng=random.Random(3), options={"agencies": 12}, progress=QuietProgress())
    assert client.get("/agencies/").status_code == 200
    active = Agency.objects.filter(status=AgencyStatus.ACTIVE).first()
    assert client.get(f"/agencies/{active.pk}/").status_code == 200
    client.force_login(active.created_by)
    doc = active.licence_files.first()
    assert client.get(f"/agencies/files/licence/{doc.pk}/").status_code == 200
