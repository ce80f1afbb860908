import datetime as dt
import json

import pytest
from django.core.management import call_command

from bids import services
from market.opendata.models import OcdsRelease
from market.opendata.schema import validation_errors
from tests.factories import org_admin
from tests.request_factories import active_agency, agency_admin, freeze, published_request

pytestmark = pytest.mark.django_db


def _awarded():
    from market.core.deadlines import run_due

    request = published_request(selection_method="lowest")
    agencies = [active_agency(item=request.service_item) for _ in range(3)]
    for a, p in zip(agencies, [4_000_000, 4_500_000, 5_000_000]):
        services.bid_submit(actor=agency_admin(a), request=request, agency=a, price_fen=p)
    with freeze(request.bid_deadline + dt.timedelta(minutes=1)):
        services.selection_run(actor=org_admin(request.owner), request=request)
    request.refresh_from_db()
    with freeze(request.publicity_ends_at):
        run_due(now=request.publicity_ends_at)
    return request


def test_release_package_and_record_validate_against_the_official_schemas(client):
    request = _awarded()
    body = client.get("/api/v1/ocds/releases/").json()
    assert len(body["releases"]) == 3  # tender, award, awardUpdate
    assert [r["tag"] for r in body["releases"]] == [["tender"], ["award"], ["awardUpdate"]]
    assert validation_errors(body, kind="release-package") == []
    ocid = body["releases"][0]["ocid"]
    assert ocid == f"ocds-gdzjcs-{request.pk}"
    record = client.get(f"/api/v1/ocds/records/{ocid}/").json()
    assert validation_errors(record, kind="record-package") == []
    compiled = record["records"][0]["compiledRelease"]
    assert compiled["awards"][0]["status"] == "active"
    assert compiled["awards"][0]["value"] == {"amount": 40000.0, "currency": "CNY"}
    assert compiled["tender"]["procurementMethod"] == "open" and compiled["tender"]["awardCriteria"] == "priceOnly"
    supplier = compiled["awards"][0]["suppliers"][0]
    party = next(p for p in compiled["parties"] if p["id"] == supplier["id"])
    assert party["identifier"]["scheme"] == "CN-USCC" and "supplier" in party["roles"]


def test_release_before_deadline_carries_no_bid_price(client):
    request = published_request()
    agency = active_agency(item=request.service_item)
    services.bid_submit(actor=agency_admin(agency), request=request, agency=agency, price_fen=4_321_099)
    request.refresh_from_db()
    from market.opendata.ocds import ocds_release_record

    ocds_release_record(request=request, tag="tenderUpdate")  # a release made while bidding is open
    text = json.dumps(client.get("/api/v1/ocds/releases/").json())
    assert "43210.99" not in text and "4321099" not in text
    assert "numberOfTenderers" not in text and agency.organization.uscc not in text


def test_releases_filter_by_date_and_page(client):
    _awarded()
    first = OcdsRelease.objects.order_by("date").first()
    later = client.get("/api/v1/ocds/releases/", {"since": (first.date + dt.timedelta(seconds=1)).isoformat()}).json()
    assert len(later["releases"]) == 2
    paged = client.get("/api/v1/ocds/releases/", {"page_size": 2}).json()
    assert len(paged["releases"]) == 2 and "next" in paged["links"]
    assert client.get("/api/v1/ocds/releases/", {"since": "not-a-date"}).status_code == 400
    assert client.get("/api/v1/ocds/records/ocds-gdzjcs-999999/").status_code == 404


def test_export_command_writes_a_valid_package(tmp_path):
    _awarded()
    out = tmp_path / "ocds.json"
    call_command("export_ocds", "--out", str(out), "--validate", verbosity=0)
    package = json.loads(out.read_text(encoding="utf-8"))
    assert len(package["releases"]) == 3 and validation_errors(package, kind="release-package") == []
