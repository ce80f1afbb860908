"""Warning signs (风险预警) computed from the data.

Each rule is a function `(now) -> list[Finding]` that reads with a few aggregate queries (no query
per request or per agency) and looks only at bids whose bidding has closed: sealed prices and the
list of bidders stay out of any warning until the deadline has passed. `warnings_refresh` stores
the findings as RiskWarning rows (one per rule and subject), which regulators dismiss or escalate.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

from django.db import transaction
from django.db.models import Count, Exists, F, Min, OuterRef, Subquery, Sum, Value
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency, AgencyStatus, Qualification
from bids.models import Bid, BidStatus, SelectionRun
from credit.models import Breach, BreachStatus
from market.accounts.models import Organization
from market.core.audit import audit_record
from market.requests.models import QuoteMode, RequestAvoidance, RequestStatus, ServiceRequest

from .conf import setting
from .models import IndicatorRun, RiskWarning, SubjectType, WarningRule, WarningStatus

R = WarningRule


@dataclass
class Finding:
    rule: str
    subject_type: str
    subject_key: str
    subject_label: str
    evidence: dict
    agency_ids: list[int] = field(default_factory=list)
    request_id: int | None = None
    owner_id: int | None = None


def rule_text(rule: str) -> str:
    """The rule as published to regulators, with the thresholds in force."""
    texts = {
        R.BID_ROTATION: _("Two agencies bid on the same requests at least %(shared)d times, each of them won at least one "
                          "of those requests, and between them they won at least %(share)d%% of them: they may be "
                          "taking turns to win."),
        R.IDENTICAL_PRICES: _("Two or more bids on one request (price quotes, after bidding closed) quote exactly the "
                              "same price."),
        R.ABNORMALLY_LOW: _("A bid's price is under %(pct)d%% of the mean price of the other bids on the same request "
                            "(at least %(others)d other bids)."),
        R.OWNER_CONCENTRATION: _("A project owner awarded at least %(min)d requests and %(conc_share)d%% or more of them went "
                                 "to one agency."),
        R.SINGLE_QUALIFIED: _("A request open for bids requires qualifications that only one active, unbanned and not "
                              "avoided agency holds on a valid certificate: its requirements let only that agency bid."),
    }
    return texts[rule] % {
        "shared": setting("ROTATION_MIN_SHARED"), "share": setting("ROTATION_MIN_WIN_SHARE_PCT"),
        "pct": setting("LOW_PRICE_PCT"), "others": setting("LOW_PRICE_MIN_OTHERS"),
        "min": setting("CONCENTRATION_MIN_AWARDS"), "conc_share": setting("CONCENTRATION_SHARE_PCT"),
    }


def _closed_bids(now: dt.datetime):
    """Active bids on requests whose bidding has closed by server time."""
    return Bid.objects.filter(status=BidStatus.ACTIVE, request__bid_deadline__lte=now).exclude(
        request__status=RequestStatus.DRAFT)


def _agency_names(ids) -> dict[int, tuple[str, str]]:
    return {pk: (name, uscc) for pk, name, uscc in
            Agency.objects.filter(pk__in=set(ids)).values_list("pk", "organization__name", "organization__uscc")}


# --- 1. bidding together and taking turns to win ---------------------------------------------------------


def find_bid_rotation(now: dt.datetime) -> list[Finding]:
    min_shared = setting("ROTATION_MIN_SHARED")
    min_share = setting("ROTATION_MIN_WIN_SHARE_PCT")
    base = _closed_bids(now)
    # Pairs (a < b) that bid together, counted in SQL by joining each bid with the later agencies' bids.
    pair_rows = (base.filter(request__bids__status=BidStatus.ACTIVE, request__bids__agency_id__gt=F("agency_id"))
                 .values("agency_id", "request__bids__agency_id")
                 .annotate(shared=Count("request_id", distinct=True)).filter(shared__gte=min_shared)
                 .values_list("agency_id", "request__bids__agency_id", "shared"))
    candidates = {(a, b) for a, b, _n in pair_rows}
    if not candidates:
        return []
    involved = {x for pair in candidates for x in pair}
    shared: dict[tuple[int, int], set[int]] = defaultdict(set)
    for a, b, request_id in (base.filter(agency_id__in=involved, request__bids__status=BidStatus.ACTIVE,
                                         request__bids__agency_id__in=involved,
                                         request__bids__agency_id__gt=F("agency_id"))
                             .values_list("agency_id", "request__bids__agency_id", "request_id")):
        if (a, b) in candidates:
            shared[(a, b)].add(request_id)
    request_ids = set().union(*shared.values())
    winners = dict(SelectionRun.objects.filter(outcome=SelectionRun.Outcome.SELECTED, request_id__in=request_ids)
                   .values_list("request_id", "winner__agency_id"))
    titles = dict(ServiceRequest.objects.filter(pk__in=request_ids).values_list("pk", "project_name"))
    names = _agency_names(involved)
    findings = []
    for (a, b), requests in sorted(shared.items()):
        wins_a = sorted(r for r in requests if winners.get(r) == a)
        wins_b = sorted(r for r in requests if winners.get(r) == b)
        if not wins_a or not wins_b or (len(wins_a) + len(wins_b)) * 100 < min_share * len(requests):
            continue
        label = f"{names[a][0]} / {names[b][0]}"
        findings.append(Finding(
            rule=R.BID_ROTATION, subject_type=SubjectType.AGENCY_PAIR, subject_key=f"agencies:{a}-{b}",
            subject_label=label[:255], agency_ids=[a, b],
            evidence={
                "agencies": [{"id": x, "name": names[x][0], "uscc": names[x][1]} for x in (a, b)],
                "shared_requests": len(requests), "wins": {str(a): len(wins_a), str(b): len(wins_b)},
                "requests": [{"id": r, "title": titles.get(r, ""),
                              "winner_agency_id": winners.get(r)} for r in sorted(requests)],
            }))
    return findings


# --- 2. identical prices ------------------------------------------------------------------------------------


def find_identical_prices(now: dt.datetime) -> list[Finding]:
    base = _closed_bids(now).filter(request__quote_mode=QuoteMode.PRICE)
    groups = list(base.values("request_id", "price_fen").annotate(n=Count("id")).filter(n__gte=2)
                  .values_list("request_id", "price_fen"))
    if not groups:
        return []
    wanted = set(groups)
    rows = defaultdict(list)
    for request_id, price, bid_id, agency_id, name, uscc, title in (
            base.filter(request_id__in={r for r, _p in groups}).order_by("request_id", "pk")
            .values_list("request_id", "price_fen", "pk", "agency_id", "agency__organization__name",
                         "agency__organization__uscc", "request__project_name")):
        if (request_id, price) in wanted:
            rows[request_id].append({"bid_id": bid_id, "agency_id": agency_id, "agency": name, "uscc": uscc,
                                     "price_fen": price, "title": title})
    findings = []
    for request_id, bids in sorted(rows.items()):
        title = bids[0]["title"]
        findings.append(Finding(
            rule=R.IDENTICAL_PRICES, subject_type=SubjectType.REQUEST, subject_key=f"request:{request_id}",
            subject_label=title[:255], request_id=request_id, agency_ids=sorted({b["agency_id"] for b in bids}),
            evidence={"request": {"id": request_id, "title": title},
                      "bids": [{k: v for k, v in b.items() if k != "title"} for b in bids]}))
    return findings


# --- 3. abnormally low prices -------------------------------------------------------------------------------


def find_abnormally_low(now: dt.datetime) -> list[Finding]:
    pct, min_others = setting("LOW_PRICE_PCT"), setting("LOW_PRICE_MIN_OTHERS")
    stats = (Bid.objects.filter(request_id=OuterRef("request_id"), status=BidStatus.ACTIVE).order_by()
             .values("request_id"))
    qs = (_closed_bids(now)
          .annotate(req_total=Subquery(stats.annotate(t=Sum("price_fen")).values("t")),
                    req_n=Subquery(stats.annotate(c=Count("id")).values("c")))
          .filter(req_n__gte=min_others + 1)
          # price < pct% × (total − price) / (n − 1), in integers: price × 100 × (n − 1) < pct × (total − price)
          .alias(lhs=F("price_fen") * 100 * (F("req_n") - 1), rhs=Value(pct) * (F("req_total") - F("price_fen")))
          .filter(lhs__lt=F("rhs"))
          .order_by("request_id", "pk")
          .values_list("pk", "request_id", "request__project_name", "agency_id", "agency__organization__name",
                       "agency__organization__uscc", "price_fen", "req_total", "req_n"))
    findings = []
    for bid_id, request_id, title, agency_id, name, uscc, price, total, n in qs:
        others_mean = (total - price) / (n - 1)
        findings.append(Finding(
            rule=R.ABNORMALLY_LOW, subject_type=SubjectType.REQUEST, subject_key=f"bid:{bid_id}",
            subject_label=f"{name} — {title}"[:255], request_id=request_id, agency_ids=[agency_id],
            evidence={"request": {"id": request_id, "title": title},
                      "bid": {"bid_id": bid_id, "agency_id": agency_id, "agency": name, "uscc": uscc, "price_fen": price},
                      "other_bids": n - 1, "others_mean_fen": round(others_mean),
                      "ratio_pct": round(price * 100 / others_mean, 1) if others_mean else None,
                      "threshold_pct": pct}))
    return findings


# --- 4. one owner awarding most of its requests to one agency -------------------------------------------------


def find_owner_concentration(now: dt.datetime) -> list[Finding]:
    min_awards, share = setting("CONCENTRATION_MIN_AWARDS"), setting("CONCENTRATION_SHARE_PCT")
    rows = list(SelectionRun.objects.filter(outcome=SelectionRun.Outcome.SELECTED, request__awarded_at__isnull=False,
                                            request__awarded_at__lte=now)
                .values("request__owner_id", "winner__agency_id").annotate(n=Count("id"))
                .values_list("request__owner_id", "winner__agency_id", "n"))
    totals: dict[int, int] = defaultdict(int)
    for owner_id, _agency_id, n in rows:
        totals[owner_id] += n
    hits = [(o, a, n) for o, a, n in rows if totals[o] >= min_awards and n * 100 >= share * totals[o]]
    if not hits:
        return []

    owners = dict(Organization.objects.filter(pk__in={o for o, _a, _n in hits}).values_list("pk", "name"))
    names = _agency_names(a for _o, a, _n in hits)
    awarded = defaultdict(list)
    for owner_id, agency_id, request_id, title in (
            SelectionRun.objects.filter(outcome=SelectionRun.Outcome.SELECTED, request__awarded_at__isnull=False,
                                        request__awarded_at__lte=now,
                                        request__owner_id__in={o for o, _a, _n in hits})
            .order_by("request_id").values_list("request__owner_id", "winner__agency_id", "request_id",
                                                "request__project_name")):
        awarded[(owner_id, agency_id)].append({"id": request_id, "title": title})
    findings = []
    for owner_id, agency_id, n in sorted(hits):
        findings.append(Finding(
            rule=R.OWNER_CONCENTRATION, subject_type=SubjectType.OWNER, subject_key=f"owner:{owner_id}/agency:{agency_id}",
            subject_label=f"{owners[owner_id]} → {names[agency_id][0]}"[:255], owner_id=owner_id, agency_ids=[agency_id],
            evidence={"owner": {"id": owner_id, "name": owners[owner_id]},
                      "agency": {"id": agency_id, "name": names[agency_id][0], "uscc": names[agency_id][1]},
                      "awards_total": totals[owner_id], "awards_to_agency": n,
                      "share_pct": round(n * 100 / totals[owner_id], 1), "threshold_pct": share,
                      "requests": awarded[(owner_id, agency_id)]}))
    return findings


# --- 5. requirements that let only one agency bid ----------------------------------------------------------


def find_single_qualified(now: dt.datetime) -> list[Finding]:
    today = timezone.localdate(now)
    # From the certificates' side, in one grouped query: for each open request, the distinct active,
    # unbanned, not avoided agencies holding a valid certificate of one of its required types.
    avoided = RequestAvoidance.objects.filter(request_id=OuterRef("qualification_type__requests__id"),
                                              agency_id=OuterRef("agency_id"))
    banned = Breach.objects.filter(agency_id=OuterRef("agency_id"), status=BreachStatus.ACTIVE, ban_until__gt=now)
    counted = dict(
        (request_id, (able, only)) for request_id, able, only in
        Qualification.objects.filter(
            ~Exists(avoided), ~Exists(banned), valid_from__lte=today, valid_to__gte=today,
            agency__status=AgencyStatus.ACTIVE, qualification_type__requests__status=RequestStatus.PUBLISHED,
            qualification_type__requests__bid_deadline__gt=now)
        .order_by().values("qualification_type__requests__id")
        .annotate(able=Count("agency_id", distinct=True), only=Min("agency_id")).filter(able=1)
        .values_list("qualification_type__requests__id", "able", "only"))
    if not counted:
        return []
    rows = list(ServiceRequest.objects.filter(pk__in=counted).order_by("pk").prefetch_related("required_qualifications")
                .select_related("owner", "service_item"))
    names = _agency_names(only for _able, only in counted.values())
    findings = []
    for r in rows:
        only = counted[r.pk][1]
        findings.append(Finding(
            rule=R.SINGLE_QUALIFIED, subject_type=SubjectType.REQUEST, subject_key=f"request:{r.pk}",
            subject_label=r.project_name[:255], request_id=r.pk, owner_id=r.owner_id, agency_ids=[only],
            evidence={"request": {"id": r.pk, "title": r.project_name},
                      "owner": {"id": r.owner_id, "name": r.owner.name},
                      "service_item": {"code": r.service_item.code, "name": r.service_item.name},
                      "required_qualifications": [{"code": q.code, "name": q.name} for q in r.required_qualifications.all()],
                      "able_agencies": 1,
                      "agency": {"id": only, "name": names[only][0], "uscc": names[only][1]}}))
    return findings


RULES: dict[str, Callable[[dt.datetime], list[Finding]]] = {
    R.BID_ROTATION: find_bid_rotation,
    R.IDENTICAL_PRICES: find_identical_prices,
    R.ABNORMALLY_LOW: find_abnormally_low,
    R.OWNER_CONCENTRATION: find_owner_concentration,
    R.SINGLE_QUALIFIED: find_single_qualified,
}


def findings_all(now: dt.datetime) -> list[Finding]:
    return [f for rule in RULES.values() for f in rule(now)]


def warnings_refresh(*, now: dt.datetime | None = None) -> IndicatorRun:
    """Recompute every rule and store the findings. New warnings are audited; open ones take the new
    evidence; decided ones keep their decision; those no longer found are marked not current."""
    now = now or timezone.now()
    run = IndicatorRun.objects.create(started_at=now)
    findings = findings_all(now)
    with transaction.atomic():
        existing = {(w.rule, w.subject_key): w for w in RiskWarning.objects.select_for_update().filter(
            subject_key__in=[f.subject_key for f in findings])}
        seen: list[int] = []
        created = 0
        for f in findings:
            warning = existing.get((f.rule, f.subject_key))
            if warning is None:
                warning = RiskWarning.objects.create(
                    rule=f.rule, subject_type=f.subject_type, subject_key=f.subject_key, subject_label=f.subject_label,
                    request_id=f.request_id, owner_id=f.owner_id, evidence=f.evidence, first_seen_at=now,
                    last_seen_at=now)
                warning.agencies.set(f.agency_ids)
                audit_record(actor=None, action="warning.raise", obj=warning,
                             after={"rule": f.rule, "subject": f.subject_key, "agencies": f.agency_ids})
                created += 1
            else:
                fields = ["last_seen_at", "current"]
                warning.last_seen_at, warning.current = now, True
                if warning.status == WarningStatus.OPEN:
                    warning.evidence, warning.subject_label = f.evidence, f.subject_label
                    fields += ["evidence", "subject_label"]
                    warning.agencies.set(f.agency_ids)
                warning.save(update_fields=fields)
            seen.append(warning.pk)
        RiskWarning.objects.filter(current=True).exclude(pk__in=seen).update(current=False)
        counts: dict[str, int] = defaultdict(int)
        for f in findings:
            counts[f.rule] += 1
        run.found, run.created, run.finished_at = dict(counts), created, timezone.now()
        run.save(update_fields=["found", "created", "finished_at"])
    return run


__all__ = ["Finding", "RULES", "rule_text", "findings_all", "warnings_refresh", "find_bid_rotation",
           "find_identical_prices", "find_abnormally_low", "find_owner_concentration", "find_single_qualified"]
