"""Random inspections (双随机一公开): the plan, its commitment, the draw recomputed by a verifier from
the published data only, and the published results."""

import datetime as dt
import hashlib
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from agencies.models import AgencyServiceItem
from market.core.models import AuditEvent
from market.accounts.models import Region
from market.catalogue.models import ServiceItem
from supervision import draw, services
from supervision.models import Inspection, InspectionOutcome, InspectionPlan, PlanStatus
from tests.factories import make_agencies_bulk, make_regulator, make_user

from .helpers import freeze

pytestmark = pytest.mark.django_db


def catalogue_item():
    return ServiceItem.objects.filter(is_active=True).order_by("code").first()


def make_plan(*, population=8, sample=3, pool=4, per_agency=2, regions=()):
    item = catalogue_item()
    make_agencies_bulk(population, service_items=[item], region_codes=("440104", "440303"))
    make_agencies_bulk(3, service_items=[ServiceItem.objects.exclude(pk=item.pk).filter(is_active=True).first()])
    inspectors = [make_regulator() for _ in range(pool)]
    plan = services.plan_create(actor=inspectors[0], title="2026年度测绘中介机构双随机抽查", sample_size=sample,
                                inspectors=inspectors, inspectors_per_agency=per_agency, service_items=[item],
                                regions=list(regions), draw_at=timezone.now() + dt.timedelta(days=1),
                                description="依据《广东省网上中介服务超市管理办法》开展抽查")
    return plan, inspectors


def publish_and_draw(plan, actor):
    plan = services.plan_publish(actor=actor, plan=plan)
    with freeze(plan.draw_at):
        plan = services.plan_draw(actor=actor, plan=plan)
    return plan


def recompute(published: dict) -> dict:
    """A verifier's own implementation of the published procedure, using only the published JSON."""
    secret = bytes.fromhex(published["secret"])
    assert hashlib.sha256(secret).hexdigest() == published["commitment"]
    params = published["parameters"]
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    seed = hashlib.sha256(secret + canonical).digest()
    population = sorted(a["agency_id"] for a in params["population"])
    tickets = {a: hashlib.sha256(seed + str(a).encode("ascii")).hexdigest() for a in population}
    drawn = sorted(population, key=tickets.get)[: params["sample_size"]]
    iseed = hashlib.sha256(seed + b"inspectors").digest()
    pool = sorted(i["user_id"] for i in params["inspectors"])
    itickets = {u: hashlib.sha256(iseed + str(u).encode("ascii")).hexdigest() for u in pool}
    order = sorted(pool, key=itickets.get)
    k = params["inspectors_per_agency"]
    assignments = {str(a): [order[(i * k + j) % len(order)] for j in range(k)] for i, a in enumerate(drawn)}
    return {"seed": seed.hex(), "drawn": drawn, "assignments": assignments,
            "agency_tickets": {str(a): t for a, t in tickets.items()}}


def test_publication_freezes_the_population_and_commits_to_a_secret(client):
    plan, inspectors = make_plan()
    plan = services.plan_publish(actor=inspectors[0], plan=plan)
    assert plan.status == PlanStatus.PUBLISHED
    assert plan.commitment == hashlib.sha256(bytes.fromhex(plan.secret)).hexdigest()
    assert len(plan.parameters["population"]) == 8  # only the agencies offering the item
    assert [i["user_id"] for i in plan.parameters["inspectors"]] == sorted(u.pk for u in inspectors)
    before = client.get(reverse("supervision:plan-json", args=[plan.pk])).json()
    assert before["commitment"] == plan.commitment and before["parameters"] == plan.parameters
    assert "secret" not in before and plan.secret not in json.dumps(before)
    assert plan.secret not in client.get(reverse("supervision:plan", args=[plan.pk])).content.decode()


def test_the_draw_is_recomputed_from_the_published_data_only(client):
    plan, inspectors = make_plan(population=8, sample=3, pool=4, per_agency=2)
    plan = services.plan_publish(actor=inspectors[0], plan=plan)
    commitment = client.get(f"/api/v1/supervision/inspection-plans/{plan.pk}/").json()["commitment"]
    with freeze(plan.draw_at + dt.timedelta(minutes=1)):
        services.plan_draw(actor=None, plan=plan)
    published = client.get(reverse("supervision:plan-json", args=[plan.pk])).json()
    assert published["commitment"] == commitment  # the commitment published before the draw
    mine = recompute(published)
    assert mine["seed"] == published["seed"]
    assert mine["agency_tickets"] == published["agency_tickets"]
    assert mine["drawn"] == published["drawn"]
    assert mine["assignments"] == published["assignments"]
    assert draw.verify(published) == []
    # The stored inspections are the published ones, with the published inspectors.
    rows = {i.agency_id: sorted(i.inspectors.values_list("pk", flat=True)) for i in Inspection.objects.filter(plan=plan)}
    assert rows == {a: sorted(published["assignments"][str(a)]) for a in published["drawn"]}
    assert [r["agency_id"] for r in published["results"]] == published["drawn"]
    # Every inspector in the pool of 4 is used once before anyone twice (3 agencies × 2 = 6 places).
    used = [u for a in published["drawn"] for u in published["assignments"][str(a)]]
    assert len(set(used[:4])) == 4


def test_tampering_with_the_published_draw_is_detected():
    plan, inspectors = make_plan()
    plan = publish_and_draw(plan, inspectors[0])
    published = dict(plan.result)
    assert draw.verify(published) == []
    forged = {**published, "drawn": list(reversed(published["drawn"]))}
    assert "drawn does not match" in draw.verify(forged)
    other_population = {**published, "parameters": {**published["parameters"],
                                                   "population": published["parameters"]["population"][:-1]}}
    assert draw.verify(other_population)
    assert "commitment does not match SHA-256(secret)" in draw.verify({**published, "secret": "00" * 32})


def test_the_draw_waits_for_the_published_time_and_runs_once():
    plan, inspectors = make_plan()
    plan = services.plan_publish(actor=inspectors[0], plan=plan)
    with pytest.raises(ValidationError) as exc:
        services.plan_draw(actor=inspectors[0], plan=plan)
    assert exc.value.code == "too_early"
    from market.core.deadlines import run_due

    assert run_due(now=plan.draw_at)["supervision.inspection_draws"] == 1
    assert run_due(now=plan.draw_at)["supervision.inspection_draws"] == 0
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAWN and plan.inspections.count() == 3
    assert AuditEvent.objects.filter(action="inspection_plan.draw", object_id=str(plan.pk)).exists()


def test_a_sample_larger_than_the_population_draws_everyone():
    plan, inspectors = make_plan(population=2, sample=5)
    plan = publish_and_draw(plan, inspectors[0])
    assert plan.inspections.count() == 2


def test_regions_narrow_the_population():
    plan, inspectors = make_plan(regions=[Region.objects.get(code="440300")])
    plan = services.plan_publish(actor=inspectors[0], plan=plan)
    uscc_regions = {a["uscc"][2:8] for a in plan.parameters["population"]}
    assert uscc_regions == {"440303"} and len(plan.parameters["population"]) == 4


def test_plans_need_regulators_and_a_big_enough_pool():
    regulator = make_regulator()
    with pytest.raises(PermissionDenied):
        services.plan_create(actor=make_user(), title="抽查", sample_size=1, inspectors=[regulator],
                             draw_at=timezone.now())
    with pytest.raises(ValidationError) as exc:
        services.plan_create(actor=regulator, title="抽查", sample_size=1, inspectors=[regulator, make_user()],
                             inspectors_per_agency=1, draw_at=timezone.now())
    assert "inspectors" in exc.value.error_dict
    with pytest.raises(ValidationError) as exc:
        services.plan_create(actor=regulator, title="抽查", sample_size=1, inspectors=[regulator],
                             inspectors_per_agency=2, draw_at=timezone.now())
    assert "inspectors" in exc.value.error_dict


def test_an_empty_population_cannot_be_published():
    regulator = make_regulator()
    plan = services.plan_create(actor=regulator, title="抽查", sample_size=1, inspectors=[regulator],
                                inspectors_per_agency=1, service_items=[catalogue_item()],
                                draw_at=timezone.now() + dt.timedelta(hours=1))
    with pytest.raises(ValidationError) as exc:
        services.plan_publish(actor=regulator, plan=plan)
    assert exc.value.code == "empty_population"


def test_assigned_inspectors_enter_results_which_are_published(client):
    plan, inspectors = make_plan(population=3, sample=2, pool=2, per_agency=1)
    plan = publish_and_draw(plan, inspectors[0])
    first, second = plan.inspections.order_by("rank")
    assigned = first.inspectors.get()
    stranger = next(u for u in inspectors if u != assigned)
    with pytest.raises(PermissionDenied):
        services.inspection_record(actor=stranger, inspection=first, outcome=InspectionOutcome.COMPLIANT, findings="未发现问题")
    services.inspection_record(actor=assigned, inspection=first, outcome=InspectionOutcome.RECTIFY,
                               findings="收费公示不完整，责令十个工作日内整改。")
    with pytest.raises(ValidationError):
        services.inspection_record(actor=assigned, inspection=first, outcome=InspectionOutcome.COMPLIANT, findings="再次")
    html = client.get(reverse("supervision:plan", args=[plan.pk])).content.decode()
    assert "收费公示不完整，责令十个工作日内整改。" in html
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAWN
    services.inspection_record(actor=second.inspectors.get(), inspection=second, outcome=InspectionOutcome.COMPLIANT,
                               findings="未发现问题。")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.COMPLETED and plan.completed_at
    results = client.get(f"/api/v1/supervision/inspection-plans/{plan.pk}/").json()["results"]
    assert [r["outcome"] for r in results] == ["rectify", "compliant"]


def test_draft_plans_are_not_public(client):
    plan, _inspectors = make_plan()
    assert client.get(reverse("supervision:plan", args=[plan.pk])).status_code == 404
    assert client.get(f"/api/v1/supervision/inspection-plans/{plan.pk}/").status_code == 404
    assert InspectionPlan.objects.get(pk=plan.pk).status == PlanStatus.DRAFT


def test_the_plan_pages_work_for_a_regulator(client):
    regulator = make_regulator()
    inspector = make_regulator()
    make_agencies_bulk(3, service_items=[catalogue_item()])
    client.force_login(regulator)
    assert client.get(reverse("supervision:plan-new")).status_code == 200
    draw_at = timezone.localtime(timezone.now() + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("supervision:plan-new"), {
        "title": "随机抽查", "sample_size": 2, "inspectors_per_agency": 1, "inspectors": [regulator.pk, inspector.pk],
        "service_items": [catalogue_item().pk], "draw_at": draw_at})
    assert response.status_code == 302, response.content.decode()[:2000]
    plan = InspectionPlan.objects.get(title="随机抽查")
    assert client.post(reverse("supervision:plan-publish", args=[plan.pk])).status_code == 302
    plan.refresh_from_db()
    assert plan.status == PlanStatus.PUBLISHED
    html = client.get(reverse("supervision:plan", args=[plan.pk])).content.decode()
    assert plan.commitment in html and "style=" not in html
    assert AgencyServiceItem.objects.exists()


def test_only_the_assigned_inspector_gets_the_result_form_and_can_post_it(client):
    plan, inspectors = make_plan(population=2, sample=1, pool=2, per_agency=1)
    plan = publish_and_draw(plan, inspectors[0])
    inspection = plan.inspections.get()
    assigned = inspection.inspectors.get()
    other = next(u for u in inspectors if u != assigned)
    url = reverse("supervision:inspection-result", args=[plan.pk, inspection.pk])
    client.force_login(other)
    assert url not in client.get(reverse("supervision:plan", args=[plan.pk])).content.decode()
    client.post(url, {f"i{inspection.pk}-outcome": "compliant", f"i{inspection.pk}-findings": "未发现问题"})
    inspection.refresh_from_db()
    assert inspection.recorded_at is None
    client.force_login(assigned)
    assert url in client.get(reverse("supervision:plan", args=[plan.pk])).content.decode()
    client.post(url, {f"i{inspection.pk}-outcome": "compliant", f"i{inspection.pk}-findings": "未发现问题"})
    inspection.refresh_from_db()
    assert inspection.outcome == "compliant" and inspection.recorded_by == assigned
