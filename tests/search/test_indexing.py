"""The index follows every change after the transaction commits; drafts and sealed data never
reach it; what signals miss is caught by the sync job."""

import pytest
from django.db import connection, transaction

from agencies import services as agency_services
from agencies.models import Agency, AgencyStatus
from bids import services as bid_services
from market.requests import services as request_services
from market.catalogue.models import ServiceItem
from market.search import indexing
from market.search.api import search
from market.search.backends.elastic import es_document
from market.search.registry import build_documents
from market.search.models import SearchEntry, SearchFacetValue
from tests.factories import make_agency, make_regulator, org_admin
from tests.request_factories import active_agency, agency_admin, published_request, request_fields
from tests.search.conftest import indexed_agency

pytestmark = pytest.mark.django_db


def indexed(kind, pk) -> bool:
    return SearchEntry.objects.filter(kind=kind, object_id=pk).exists()


def test_an_agency_is_indexed_when_it_becomes_active_after_the_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        agency = make_agency(name="广州市粤海水土保持咨询有限公司", service_items=["GD-ZJ-SB-001"])
    assert callbacks, "indexing waits for the commit"
    assert indexed("agency", agency.pk)
    assert [h.id for h in search(q="水保", kinds=["agency"]).hits] == [agency.pk]


def test_nothing_is_indexed_before_the_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        agency = indexed_agency("广州环评技术有限公司")
        assert not indexed("agency", agency.pk)


def test_work_rolled_back_is_never_indexed(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                indexed_agency("广州环评技术有限公司")
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert not SearchEntry.objects.filter(kind="agency").exists()


def test_a_suspended_agency_leaves_the_index(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        agency = make_agency(name="广州环评技术有限公司")
    assert indexed("agency", agency.pk)
    with django_capture_on_commit_callbacks(execute=True):
        agency_services.agency_transition(agency=agency, to=AgencyStatus.SUSPENDED, actor=make_regulator(),
                                          comment="违规")
    assert not indexed("agency", agency.pk)
    assert not SearchFacetValue.objects.filter(entry__kind="agency", entry__object_id=agency.pk).exists()


def test_renaming_an_organization_reindexes_its_agency(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        agency = make_agency(name="广州甲咨询有限公司")
    org = agency.organization
    org.name = "广州乙环评咨询有限公司"
    with django_capture_on_commit_callbacks(execute=True):
        org.save()
    assert SearchEntry.objects.get(kind="agency", object_id=agency.pk).name == "广州乙环评咨询有限公司"
    assert [h.id for h in search(q="环评", kinds=["agency"]).hits] == [agency.pk]


def test_an_offered_item_is_indexed_with_the_agency(django_capture_on_commit_callbacks):
    from agencies.models import AgencyServiceItem

    agency = indexed_agency("广州市粤海工程咨询有限公司")
    with django_capture_on_commit_callbacks(execute=True):
        AgencyServiceItem.objects.create(agency=agency, service_item=ServiceItem.objects.get(code="GD-ZJ-DZZH-001"),
                                         fee_quote="按标准")
    assert [h.id for h in search(q="地灾", kinds=["agency"]).hits] == [agency.pk]
    assert [h.id for h in search(kinds=["agency"], filters={"service_item": "GD-ZJ-DZZH-001"}).hits] == [agency.pk]


def test_drafts_are_never_indexed_and_published_requests_are(django_capture_on_commit_callbacks, owner_org):
    item = ServiceItem.objects.get(code="GD-ZJ-HP-001")
    actor = org_admin(owner_org)
    with django_capture_on_commit_callbacks(execute=True):
        draft = request_services.request_create(actor=actor, owner=owner_org, required_qualifications=[],
                                                **request_fields(item, project_name="某工程环境影响评价（草稿）"))
    assert not indexed("request", draft.pk)
    with django_capture_on_commit_callbacks(execute=True):
        request_services.request_publish(actor=actor, request=draft)
    assert indexed("request", draft.pk)
    assert [h.id for h in search(q="环评", kinds=["request"]).hits] == [draft.pk]


def test_sealed_prices_nonces_and_the_secret_never_reach_the_index(django_capture_on_commit_callbacks, owner_org):
    with django_capture_on_commit_callbacks(execute=True):
        request = published_request(owner=owner_org, project_name="某道路改造工程测绘服务")
        agency = active_agency(item=request.service_item)
        bid = bid_services.bid_submit(actor=agency_admin(agency), request=request, agency=agency, price_fen=7_654_321,
                                      nonce="ab" * 16, proposal="我方报价七万六千五百四十三元")
    request.refresh_from_db()
    assert request.secret and bid.nonce
    indexing.rebuild_database()
    entry = SearchEntry.objects.get(kind="request", object_id=request.pk)
    secrets = ["7654321", "76543.21", "76,543.21", bid.nonce, request.secret, "七万六千"]
    stored = [entry.name, entry.body, str(entry.data), entry.url]
    stored += list(SearchFacetValue.objects.filter(entry=entry).values_list("value", flat=True))
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT vector::text FROM market_search_entry WHERE id = %s", [entry.pk])
        else:
            cur.execute("SELECT name || ' ' || body FROM market_search_fts WHERE rowid = %s", [entry.pk])
        stored.append(cur.fetchone()[0])
    docs, _ = build_documents("request", [request.pk])
    stored.append(str(es_document(docs[0]).to_dict(include_meta=True)))
    for text in stored:
        for secret in secrets:
            assert secret not in text


def test_a_grade_changed_without_signals_is_caught_by_the_sync_job(reindex):
    agency = indexed_agency("广州环评技术有限公司", grade="A")
    reindex("agency")
    Agency.objects.filter(pk=agency.pk).update(credit_grade="C", credit_score=60)  # as credit_recompute does
    assert search(kinds=["agency"], filters={"grade": "A"}).total == 1
    assert indexing.sync() == 1
    assert search(kinds=["agency"], filters={"grade": "A"}).total == 0
    assert search(kinds=["agency"], filters={"grade": "C"}).hits[0].credit_score == 60
    assert indexing.sync() == 0


def test_the_sync_job_runs_with_the_deadlines():
    from market.core.deadlines import jobs

    assert "search_sync" in [name for name, _ in jobs()]


def test_rebuild_replaces_the_whole_index(reindex):
    agency = indexed_agency("广州环评技术有限公司")
    assert reindex("agency") == {"agency": 1}
    Agency.objects.filter(pk=agency.pk).update(status=AgencyStatus.SUSPENDED)
    assert reindex("agency") == {"agency": 0}
    assert not SearchEntry.objects.filter(kind="agency").exists()
