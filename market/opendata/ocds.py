"""Open Contracting Data Standard 1.1: each published change of a request becomes a release
(tender, amendment, award, contract, implementation); packages and records are built from them.

Sealed data never enters a release: bid prices and nonces appear only in releases made after
bidding closed (awards carry the winning amount; the tender carries the number of tenderers)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bids.models import Bid, BidStatus, SelectionRun
from market.contracts.models import Contract, ContractStatus
from market.requests.models import RequestStatus, SelectionMethod, ServiceRequest
from .models import OcdsRelease

ORG_SCHEME = "CN-USCC"  # unified social credit code (统一社会信用代码)
PUBLISHER = {"name": "广东省政务服务和数据管理局", "scheme": ORG_SCHEME}
LICENSE = "https://creativecommons.org/licenses/by/4.0/"

METHOD = {  # official `method` codelist (closed)
    SelectionMethod.RANDOM: "open", SelectionMethod.LOWEST: "open", SelectionMethod.REFERENCE: "open",
    SelectionMethod.WEIGHTED: "open", SelectionMethod.DIRECT: "direct",
}
AWARD_CRITERIA = {  # official `awardCriteria` codelist
    SelectionMethod.RANDOM: "qualityOnly", SelectionMethod.LOWEST: "priceOnly", SelectionMethod.REFERENCE: "priceOnly",
    SelectionMethod.WEIGHTED: "ratedCriteria", SelectionMethod.DIRECT: "qualityOnly",
}
CRITERIA_DETAILS = {
    SelectionMethod.RANDOM: "随机抽取：在合格报名机构中按公开可验证程序随机抽取（价格不超过最高限价，不参与评比）",
    SelectionMethod.LOWEST: "竞价·最低价：合格报价中最低价中选，同价以可验证抽签决定",
    SelectionMethod.REFERENCE: "竞价·最优价：去掉最高、最低报价后取平均值乘以随机下浮系数（0.95–0.98），最接近者中选",
    SelectionMethod.WEIGHTED: "择优·综合评分：价格分与质量分加权，总分最高者中选",
    SelectionMethod.DIRECT: "直接选取：仅限社会资金或依法豁免，理由随结果公开",
}
# The release tag for each status a request moves into.
TAG_FOR_STATUS = {
    RequestStatus.PUBLISHED: "tender", RequestStatus.CANCELLED: "tenderCancellation", RequestStatus.FAILED: "tenderUpdate",
    RequestStatus.PUBLICITY: "award", RequestStatus.AWARDED: "awardUpdate", RequestStatus.CONTRACTED: "contract",
    RequestStatus.IN_SERVICE: "implementation", RequestStatus.DELIVERED: "implementation",
    RequestStatus.ACCEPTED: "implementation", RequestStatus.CLOSED: "contractTermination",
}


def ocid_for(request: ServiceRequest) -> str:
    return f"{settings.MARKET['OCDS_PREFIX']}-{request.pk}"


def _value(fen: int | None) -> dict | None:
    return None if fen is None else {"amount": fen / 100, "currency": "CNY"}


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z") if value else None


def _party(org, roles: list[str]) -> dict:
    return {"id": f"{ORG_SCHEME}-{org.uscc}", "name": org.name, "roles": roles,
            "identifier": {"scheme": ORG_SCHEME, "id": org.uscc, "legalName": org.name},
            "address": {"region": org.region_id, "countryName": "中国"}}


def _tender_status(request: ServiceRequest, now: dt.datetime) -> str:
    status = request.effective_status(now)
    if status == RequestStatus.PUBLISHED:
        return "active"
    if status == RequestStatus.CANCELLED:
        return "cancelled"
    if status == RequestStatus.FAILED:
        return "unsuccessful"
    return "complete"


def build_release(*, request: ServiceRequest, tags: list[str], now: dt.datetime, sequence: int) -> dict:
    """One release describing the request as it stands at `now`."""

    ocid = ocid_for(request)
    owner = request.owner
    parties = {owner.uscc: _party(owner, ["buyer", "procuringEntity"])}
    tender: dict[str, Any] = {
        "id": f"{ocid}-tender", "title": request.project_name, "description": request.description or request.project_name,
        "status": _tender_status(request, now), "value": _value(request.budget_fen),
        "procurementMethod": METHOD[request.selection_method],
        "procurementMethodDetails": request.get_selection_method_display(),
        "awardCriteria": AWARD_CRITERIA[request.selection_method],
        "awardCriteriaDetails": CRITERIA_DETAILS[request.selection_method],
        "mainProcurementCategory": "services", "submissionMethod": ["electronicSubmission"],
        "tenderPeriod": {"startDate": _iso(request.published_at), "endDate": _iso(request.bid_deadline)},
        "items": [{"id": "1", "description": request.service_item.name, "quantity": 1,
                   "classification": {"scheme": "GD-ZJFW", "id": request.service_item.code,
                                      "description": request.service_item.name}}],
        "eligibilityCriteria": "、".join(q.name for q in request.required_qualifications.all()) or "无资质要求",
        "contractPeriod": {"durationInDays": request.service_term_days},
    }
    amendments = [{"id": str(a.pk), "date": _iso(a.created_at), "rationale": a.reason,
                   "description": "、".join(sorted(a.changes))} for a in request.amendments.all()]
    if amendments:
        tender["amendments"] = amendments
    if request.status == RequestStatus.CANCELLED:
        tender["statusDetails"] = request.status_reason
    release: dict[str, Any] = {
        "ocid": ocid, "id": f"{ocid}-{sequence:04d}", "date": _iso(now), "tag": tags, "initiationType": "tender",
        "language": "zh", "buyer": {"id": parties[owner.uscc]["id"], "name": owner.name}, "tender": tender,
    }
    if not request.is_sealed_at(now):  # only after bidding closed
        bidders = list(Bid.objects.filter(request=request, status=BidStatus.ACTIVE).select_related("agency__organization"))
        tender["numberOfTenderers"] = len(bidders)
        tender["tenderers"] = [{"id": f"{ORG_SCHEME}-{b.agency.organization.uscc}", "name": b.agency.organization.name}
                               for b in bidders]
        for b in bidders:
            org = b.agency.organization
            parties.setdefault(org.uscc, _party(org, ["tenderer"]))
    awards = []
    for run in SelectionRun.objects.filter(request=request).select_related("winner__agency__organization").order_by("run"):
        status = {"selected": "active" if request.status != RequestStatus.PUBLICITY else "pending",
                  "failed": "unsuccessful", "void": "cancelled"}[run.outcome]
        award = {"id": f"{ocid}-award-{run.run}", "status": status, "date": _iso(run.created_at),
                 "title": request.project_name}
        if run.winner_id:
            org = run.winner.agency.organization
            supplier = parties.setdefault(org.uscc, _party(org, ["tenderer"]))
            if "supplier" not in supplier["roles"] and run.outcome == "selected":
                supplier["roles"].append("supplier")
            award["value"] = _value(run.winner.price_fen)
            award["suppliers"] = [{"id": supplier["id"], "name": org.name}]
        else:
            award["statusDetails"] = run.published.get("failed_reason", "")
        awards.append(award)
    if awards:
        release["awards"] = awards
    contracts = _contracts(request, ocid)
    if contracts:
        release["contracts"] = contracts
    release["parties"] = list(parties.values())
    return release


def _contracts(request: ServiceRequest, ocid: str) -> list[dict]:
    status_map = {ContractStatus.DRAFTED: "pending", ContractStatus.IN_SERVICE: "active",
                  ContractStatus.DELIVERED: "active", ContractStatus.ACCEPTED: "active", ContractStatus.CLOSED: "terminated",
                  ContractStatus.BREACHED: "cancelled", ContractStatus.REFUSED: "cancelled",
                  ContractStatus.CANCELLED: "cancelled"}
    out = []

    award_for_bid = {run.winner_id: f"{ocid}-award-{run.run}"
                     for run in SelectionRun.objects.filter(request=request).exclude(winner=None)}
    for c in Contract.objects.filter(request=request).order_by("pk"):
        entry = {"id": f"{ocid}-contract-{c.pk}", "awardID": award_for_bid.get(c.bid_id, f"{ocid}-award-1"),
                 "status": status_map.get(c.status, "pending"), "value": _value(c.amount_fen),
                 "title": request.project_name}
        if c.signed_at:
            entry["dateSigned"] = _iso(c.signed_at)
            entry["period"] = {"startDate": _iso(c.signed_at), "endDate": _iso(c.due_at)}
        milestones = [{"id": "delivered", "title": "提交服务成果", "type": "delivery",
                       "status": "met" if c.delivered_at else "scheduled", "dueDate": _iso(c.due_at),
                       **({"dateMet": _iso(c.delivered_at)} if c.delivered_at else {})}]
        if c.accepted_at:
            milestones.append({"id": "accepted", "title": "验收通过", "type": "delivery", "status": "met",
                               "dateMet": _iso(c.accepted_at)})
        entry["implementation"] = {"milestones": milestones}
        out.append(entry)
    return out


def ocds_release_record(*, request: ServiceRequest, tag: str, now: dt.datetime | None = None) -> OcdsRelease | None:
    """Store a release for a change of a published request (drafts are never published)."""
    if request.published_at is None:
        return None
    now = now or timezone.now()
    with transaction.atomic():
        sequence = OcdsRelease.objects.filter(request=request).count() + 1
        request = (ServiceRequest.objects.select_related("owner", "service_item")
                   .prefetch_related("required_qualifications", "amendments").get(pk=request.pk))
        data = build_release(request=request, tags=[tag], now=now, sequence=sequence)
        return OcdsRelease.objects.create(ocid=data["ocid"], release_id=data["id"], request=request, date=now,
                                          tags=[tag], data=data)


def release_package(*, releases: list[dict], uri: str, now: dt.datetime | None = None) -> dict:
    return {"uri": uri, "version": "1.1", "publishedDate": _iso(now or timezone.now()), "publisher": PUBLISHER,
            "license": LICENSE, "publicationPolicy": f"{settings.WAGTAILADMIN_BASE_URL}/guides/",
            "releases": releases}


def _merge(target: dict, source: dict) -> dict:
    """OCDS merge: later values replace earlier ones; arrays of objects with ids merge by id."""
    for key, value in source.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        elif isinstance(value, list) and value and all(isinstance(v, dict) and "id" in v for v in value) \
                and isinstance(target.get(key), list):
            by_id = {str(v.get("id")): v for v in target[key] if isinstance(v, dict)}
            for item in value:
                if str(item["id"]) in by_id:
                    _merge(by_id[str(item["id"])], item)
                else:
                    target[key].append(item)
                    by_id[str(item["id"])] = item
        else:
            target[key] = value
    return target


def compiled_release(releases: list[dict]) -> dict:
    import copy

    compiled: dict = {}
    for r in sorted(releases, key=lambda r: r["date"]):
        _merge(compiled, copy.deepcopy(r))
    if releases:
        compiled["id"] = f"{releases[0]['ocid']}-compiled"
        compiled["tag"] = ["compiled"]
    return compiled


def record_package(*, ocid: str, releases: list[dict], uri: str, now: dt.datetime | None = None) -> dict:
    record = {"ocid": ocid, "releases": releases, "compiledRelease": compiled_release(releases)}
    return {"uri": uri, "version": "1.1", "publishedDate": _iso(now or timezone.now()), "publisher": PUBLISHER,
            "license": LICENSE, "records": [record]}
