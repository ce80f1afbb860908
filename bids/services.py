"""Writes for bids, quality scoring, selection, objections and the award.

Every deadline check uses one server timestamp taken after the request row is locked, so a bid is
accepted exactly when the server clock was before the deadline when it was stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.eligibility import Refusal, qualification_refusal
from agencies.models import Agency, Qualification
from credit.standing import active_bans, agency_refusal, ban_annotations, bans_from_annotations
from market.accounts import permissions
from market.core.audit import audit_record
from market.core.db import hot_cursor
from market.core.events import emit
from market.core.statemachine import transition
from market.accounts.models import User
from market.requests.models import QuoteMode, RequestAvoidance, RequestStatus, SelectionMethod, ServiceRequest
from market.requests.services import request_transition
from market.calendar.workdays import period_end

from market.core import draw
from .models import Bid, BidStatus, Evaluator, QualityScore, ResultObjection, SelectionRun


class BidRefused(ValidationError):
    """A bid refused for a named reason (code), with a message for people."""

    def __init__(self, refusal: Refusal):
        super().__init__(refusal.message, code=refusal.code)
        self.refusal = refusal


def content_hash(*, request_id: int, agency_id: int, price_fen: int, discount_bp: int | None, nonce: str,
                 proposal: str) -> str:
    payload = json.dumps({"request": request_id, "agency": agency_id, "price_fen": price_fen, "discount_bp": discount_bp,
                          "nonce": nonce, "proposal": proposal}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# --- eligibility: small named checks, run in order ---------------------------------------------------


class RequestRules:
    """What eligibility needs from a request, read once (selection checks thousands of bids)."""

    def __init__(self, request: ServiceRequest, qualifications_by_agency: dict[int, list] | None = None, *,
                 avoided: dict[int, str] | None = None, required_ids: list[int] | None = None,
                 bans: dict | None = None):
        self.request = request
        if avoided is None:
            avoided = {a.agency_id: a.reason for a in request.avoidances.all()}
        self.avoided = avoided
        if required_ids is None:
            required_ids = [q.pk for q in request.required_qualifications.all()]
        self.required_ids = required_ids
        self.qualifications_by_agency = qualifications_by_agency  # None: read each agency's own
        self.bans = bans  # None: ask the credit record per agency


# Whether an agency plainly may bid on a request, in one statement that needs no ORM compilation: the
# hot path of a submission. Each line is one of AGENCY_CHECKS (or the duplicate check) asked as a
# yes/no; any "no" sends the caller to those named checks for the refusal and its reason, so the
# checks stay the one definition of eligibility and this only lets the common case through faster.
# tests/bids/test_eligibility_fast.py holds the two to the same answer, refusal by refusal.
_CLEAR_TO_BID_SQL = """
SELECT a.status = %s
   AND NOT EXISTS (SELECT 1 FROM credit_breach b
                   WHERE b.agency_id = a.id AND b.status = %s AND b.ban_until > %s)
   AND NOT EXISTS (SELECT 1 FROM market_requestavoidance v WHERE v.request_id = %s AND v.agency_id = a.id)
   AND (NOT EXISTS (SELECT 1 FROM market_servicerequest_required_qualifications r WHERE r.servicerequest_id = %s)
        OR EXISTS (SELECT 1 FROM market_servicerequest_required_qualifications r
                   JOIN agencies_qualification q ON q.qualification_type_id = r.qualificationtype_id
                   WHERE r.servicerequest_id = %s AND q.agency_id = a.id AND q.valid_from <= %s AND q.valid_to >= %s))
   AND NOT EXISTS (SELECT 1 FROM bids_bid x WHERE x.request_id = %s AND x.agency_id = a.id AND x.status = %s)
FROM agencies_agency a WHERE a.id = %s
"""


def _clear_to_bid(*, request_id: int, agency_id: int, now: dt.datetime) -> bool:
    """True when the agency may bid on the request at `now` and has no active bid there; False when
    anything stands in the way (then AGENCY_CHECKS name it)."""
    from agencies.models import AgencyStatus
    from credit.models import BreachStatus

    ops = connection.ops
    day = ops.adapt_datefield_value(timezone.localtime(now).date())
    params = [AgencyStatus.ACTIVE.value, BreachStatus.ACTIVE.value, ops.adapt_datetimefield_value(now),
              request_id, request_id, request_id, day, day, request_id, BidStatus.ACTIVE.value, agency_id]
    with hot_cursor() as cursor:
        cursor.execute(_CLEAR_TO_BID_SQL, params)
        row = cursor.fetchone()
    return bool(row and row[0])


def _agency_for_bid(*, request: ServiceRequest, agency_id: int, now: dt.datetime) -> tuple[Agency, RequestRules, bool]:
    """(the agency, the rules its eligibility is checked against, whether it already has an active
    bid here), read in three queries for a single bid: the agency with its organization, its ban in
    force, the request's avoidance of it and its active bid as annotations; the required types; its
    certificates of those types. The checks themselves are AGENCY_CHECKS, as for every other path."""
    agency = (Agency.objects.select_related("organization")
              .annotate(**ban_annotations(at=now),
                        avoidance=Subquery(RequestAvoidance.objects.filter(request_id=request.pk, agency_id=OuterRef("pk"))
                                           .values("reason")[:1]),
                        has_active_bid=Exists(Bid.objects.filter(request_id=request.pk, agency_id=OuterRef("pk"),
                                                                 status=BidStatus.ACTIVE)))
              .get(pk=agency_id))
    required_ids = list(request.required_qualifications.values_list("pk", flat=True))
    held = list(Qualification.objects.filter(agency_id=agency.pk, qualification_type_id__in=required_ids)
                ) if required_ids else []
    rules = RequestRules(request, qualifications_by_agency={agency.pk: held}, required_ids=required_ids,
                         avoided={agency.pk: agency.avoidance} if agency.avoidance is not None else {},
                         bans=bans_from_annotations(agency))
    return agency, rules, agency.has_active_bid


def _check_standing(rules: RequestRules, agency: Agency, now: dt.datetime) -> Refusal | None:
    return agency_refusal(agency=agency, at=now, bans=rules.bans)


def _check_avoidance(rules: RequestRules, agency: Agency, now: dt.datetime) -> Refusal | None:
    if agency.pk in rules.avoided:
        return Refusal("avoided", _("The request avoids this agency: %(reason)s") % {"reason": rules.avoided[agency.pk]})
    return None


def _check_qualification(rules: RequestRules, agency: Agency, now: dt.datetime) -> Refusal | None:
    held = None if rules.qualifications_by_agency is None else rules.qualifications_by_agency.get(agency.pk, [])
    return qualification_refusal(agency=agency, required_type_ids=rules.required_ids, on=timezone.localtime(now).date(),
                                 qualifications=held)


AGENCY_CHECKS: list[Callable[[RequestRules, Agency, dt.datetime], Refusal | None]] = [
    _check_standing, _check_avoidance, _check_qualification,
]


def agency_refusal_for_request(*, request: ServiceRequest, agency: Agency, now: dt.datetime,
                               rules: RequestRules | None = None) -> Refusal | None:
    rules = rules or RequestRules(request)
    for check in AGENCY_CHECKS:
        refusal = check(rules, agency, now)
        if refusal:
            return refusal
    return None


def _price_for(request: ServiceRequest, price_fen: int | None, discount_bp: int | None) -> tuple[int, int | None]:
    """Validate the quote against the ceiling (or the discount range); return (price in fen, discount)."""
    if request.quote_mode == QuoteMode.DISCOUNT:
        if discount_bp is None:
            raise BidRefused(Refusal("invalid_price", _("Quote a discount rate.")))
        discount_bp = int(discount_bp)
        if not (request.discount_min_bp <= discount_bp <= request.discount_max_bp):
            raise BidRefused(Refusal("discount_out_of_range",
                                     _("The discount rate must lie between %(lo)s%% and %(hi)s%%.")
                                     % {"lo": request.discount_min_bp / 100, "hi": request.discount_max_bp / 100}))
        price = request.budget_fen * (10000 - discount_bp) // 10000
        return price, discount_bp
    if price_fen is None or int(price_fen) <= 0:
        raise BidRefused(Refusal("invalid_price", _("Quote a price above zero.")))
    price_fen = int(price_fen)
    if price_fen > request.budget_fen:
        from market.core.money import fen_to_yuan

        raise BidRefused(Refusal("price_above_ceiling", _("The price %(p)s yuan is above the ceiling of %(c)s yuan.")
                                 % {"p": fen_to_yuan(price_fen), "c": fen_to_yuan(request.budget_fen)}))
    return price_fen, None


def _clean_nonce(nonce: str | None) -> str:
    if not nonce:
        return draw.new_nonce()
    try:
        raw = bytes.fromhex(nonce)
    except ValueError:
        raise BidRefused(Refusal("invalid_nonce", _("The nonce must be hexadecimal.")))
    if len(raw) < draw.MIN_NONCE_BYTES or len(raw) > 64:
        raise BidRefused(Refusal("invalid_nonce", _("The nonce must be 16 to 64 random bytes (32 to 128 hex digits).")))
    return raw.hex()


def _lock_open_request(request_id: int) -> tuple[ServiceRequest, dt.datetime]:
    """The request, locked for a bid, and the one server timestamp the bid is judged by.

    Bids take a share lock (FOR SHARE on PostgreSQL): submissions to one request run side by side,
    while whatever changes the request or closes its bidding (amendment, cancellation, selection —
    all FOR UPDATE) waits for the bids in flight, and they for it. Two bids of one agency are kept
    apart by the unique index on active bids."""
    if not 0 < request_id < 2**63:  # no row has such an id (and the database would refuse the number)
        found = []
    elif connection.vendor == "postgresql":
        found = list(ServiceRequest.objects.raw(
            "SELECT * FROM market_servicerequest WHERE id = %s FOR SHARE", [request_id]))
    else:  # SQLite: one writer at a time anyway
        found = list(ServiceRequest.objects.select_for_update().filter(pk=request_id))
    if not found or found[0].status != RequestStatus.PUBLISHED:
        raise BidRefused(Refusal("not_open", _("This request is not open for bids.")))
    request = found[0]
    now = timezone.now()  # one server timestamp, taken under the lock
    if now >= request.bid_deadline:
        raise BidRefused(Refusal("late", _("Bidding closed at %(t)s (server time); the bid is late.")
                                 % {"t": timezone.localtime(request.bid_deadline).strftime("%Y-%m-%d %H:%M:%S")}))
    return request, now


def _require_agency_member(actor: User, agency: Agency) -> None:
    if not permissions.can_act_for(actor, agency.organization):
        raise PermissionDenied(_("You may not act for %(org)s.") % {"org": agency.organization.name})


def bid_submit(*, actor: User, request: ServiceRequest | int, agency: Agency, price_fen: int | None = None,
               discount_bp: int | None = None, nonce: str | None = None, proposal: str = "") -> Bid:
    """Submit a sealed bid before the deadline. `request`: the request or its id (it is read again,
    locked, either way); a request that does not exist is refused as not open."""
    _require_agency_member(actor, agency)
    nonce = _clean_nonce(nonce)
    request_id = request if isinstance(request, int) else request.pk
    try:
        with transaction.atomic():
            request, now = _lock_open_request(request_id)
            has_bid = False
            if not _clear_to_bid(request_id=request.pk, agency_id=agency.pk, now=now):
                _agency, rules, has_bid = _agency_for_bid(request=request, agency_id=agency.pk, now=now)
                refusal = agency_refusal_for_request(request=request, agency=_agency, now=now, rules=rules)
                if refusal:
                    raise BidRefused(refusal)
            price, discount = _price_for(request, price_fen, discount_bp)
            if has_bid:
                raise BidRefused(Refusal("duplicate", _("Your agency already has a bid on this request; change it instead.")))
            digest = content_hash(request_id=request.pk, agency_id=agency.pk, price_fen=price, discount_bp=discount,
                                  nonce=nonce, proposal=proposal)
            bid = Bid.objects.create(request=request, agency=agency, submitted_by=actor, price_fen=price,
                                     discount_bp=discount, nonce=nonce, proposal=proposal, content_hash=digest,
                                     submitted_at=now, updated_at=now)
            audit_record(actor=actor, action="bid.submit", obj=bid,
                         after={"request": request.pk, "agency": agency.pk, "content_hash": digest})
    except IntegrityError:
        # Two submissions from one agency raced; the database constraint kept one.
        raise BidRefused(Refusal("duplicate", _("Your agency already has a bid on this request; change it instead.")))
    return bid


def bid_change(*, actor: User, bid: Bid, price_fen: int | None = None, discount_bp: int | None = None,
               nonce: str | None = None, proposal: str | None = None) -> Bid:
    """Change a bid before the deadline (the new content is hashed into the audit log)."""
    _require_agency_member(actor, bid.agency)
    with transaction.atomic():
        request, now = _lock_open_request(bid.request_id)
        bid = Bid.objects.select_for_update().get(pk=bid.pk)
        if bid.status != BidStatus.ACTIVE:
            raise BidRefused(Refusal("withdrawn", _("This bid was withdrawn.")))
        agency, rules, _has_bid = _agency_for_bid(request=request, agency_id=bid.agency_id, now=now)
        refusal = agency_refusal_for_request(request=request, agency=agency, now=now, rules=rules)
        if refusal:
            raise BidRefused(refusal)
        price, discount = _price_for(request, price_fen if price_fen is not None else bid.price_fen,
                                     discount_bp if discount_bp is not None else bid.discount_bp)
        before = {"content_hash": bid.content_hash}
        bid.price_fen, bid.discount_bp = price, discount
        if nonce:
            bid.nonce = _clean_nonce(nonce)
        if proposal is not None:
            bid.proposal = proposal
        bid.content_hash = content_hash(request_id=request.pk, agency_id=agency.pk, price_fen=price, discount_bp=discount,
                                        nonce=bid.nonce, proposal=bid.proposal)
        bid.updated_at = now
        bid.save(update_fields=["price_fen", "discount_bp", "nonce", "proposal", "content_hash", "updated_at"])
        audit_record(actor=actor, action="bid.change", obj=bid, before=before, after={"content_hash": bid.content_hash})
    return bid


def bid_withdraw(*, actor: User, bid: Bid) -> Bid:
    _require_agency_member(actor, bid.agency)
    with transaction.atomic():
        request, now = _lock_open_request(bid.request_id)
        bid = Bid.objects.select_for_update().get(pk=bid.pk)
        if bid.status != BidStatus.ACTIVE:
            raise BidRefused(Refusal("withdrawn", _("This bid was already withdrawn.")))
        bid.request = request  # locked above: the move's guard reads it
        transition(bid, to=BidStatus.WITHDRAWN, actor=actor, now=now, changes={"withdrawn_at": now})
    return bid


# --- quality scoring (weighted-score method) ----------------------------------------------------------


def _require_owner(actor: User, request: ServiceRequest) -> None:
    permissions.require_act_for(actor, request.owner)


def _require_closed(request: ServiceRequest, now: dt.datetime) -> None:
    if request.status != RequestStatus.PUBLISHED or now < request.bid_deadline:
        raise ValidationError(_("This can be done only after bidding has closed and before selection."), code="not_closed")


def evaluators_set(*, actor: User, request: ServiceRequest, names: list[str]) -> list[Evaluator]:
    """After bidding closes the owner names its evaluation panel."""
    _require_owner(actor, request)
    if request.selection_method != SelectionMethod.WEIGHTED:
        raise ValidationError(_("Only the weighted-score method has an evaluation panel."))
    names = [n.strip() for n in names if n and n.strip()]
    if not names or len(set(names)) != len(names):
        raise ValidationError({"names": [_("Name at least one evaluator, each once.")]})
    with transaction.atomic():
        request = ServiceRequest.objects.select_for_update().get(pk=request.pk)
        _require_closed(request, timezone.now())
        if QualityScore.objects.filter(evaluator__request=request).exists():
            raise ValidationError(_("Scoring has begun; the panel can no longer change."))
        Evaluator.objects.filter(request=request).delete()
        panel = [Evaluator.objects.create(request=request, name=n) for n in names]
        audit_record(actor=actor, action="request.evaluators", obj=request, after={"evaluators": names})
    return panel


def quality_scores_submit(*, actor: User, evaluator: Evaluator, bid: Bid, scores: dict[str, Decimal | float | int]) -> None:
    """One evaluator's scores for one bid, one per published criterion, each between 0 and its weight."""
    request = evaluator.request
    _require_owner(actor, request)
    if bid.request_id != request.pk or bid.status != BidStatus.ACTIVE:
        raise ValidationError(_("This bid is not an active bid on this request."))
    criteria = {c["name"]: int(c["weight"]) for c in request.quality_criteria}
    if set(scores) != set(criteria):
        raise ValidationError({"scores": [_("Score every published criterion and nothing else: %(c)s.")
                                          % {"c": "、".join(criteria)}]})
    clean = {}
    for name, value in scores.items():
        try:
            value = Decimal(str(value)).quantize(Decimal("0.01"))
        except Exception:
            raise ValidationError({"scores": [_("Scores are numbers.")]})
        if not (0 <= value <= criteria[name]):
            raise ValidationError({"scores": [_("The score for “%(c)s” must lie between 0 and %(w)d.") % {"c": name, "w": criteria[name]}]})
        clean[name] = value
    with transaction.atomic():
        locked = ServiceRequest.objects.select_for_update().get(pk=request.pk)
        _require_closed(locked, timezone.now())
        for name, value in clean.items():
            QualityScore.objects.update_or_create(evaluator=evaluator, bid=bid, criterion=name, defaults={"score": value})
        audit_record(actor=actor, action="bid.quality_scores", obj=bid,
                     after={"evaluator": evaluator.name, "scores": {k: str(v) for k, v in clean.items()}})


# --- selection ------------------------------------------------------------------------------------------


def _quality_by_bid(request: ServiceRequest, bid_ids: list[int]) -> tuple[dict[int, Fraction], dict[int, dict]]:
    """Average of the evaluators' totals per bid, and each evaluator's scores (published)."""
    evaluators = list(request.evaluators.all())
    if not evaluators:
        raise ValidationError(_("Name the evaluation panel and enter its scores before selecting."), code="no_scores")
    per_bid: dict[int, dict[str, dict[str, str]]] = {b: {} for b in bid_ids}
    totals: dict[int, dict[int, Fraction]] = {b: {} for b in bid_ids}
    for s in QualityScore.objects.filter(evaluator__request=request, bid_id__in=bid_ids).select_related("evaluator"):
        per_bid[s.bid_id].setdefault(s.evaluator.name, {})[s.criterion] = str(s.score)
        totals[s.bid_id][s.evaluator_id] = totals[s.bid_id].get(s.evaluator_id, Fraction(0)) + Fraction(s.score)
    n_criteria = len(request.quality_criteria)
    for bid_id in bid_ids:
        for ev in evaluators:
            if len(per_bid[bid_id].get(ev.name, {})) != n_criteria:
                raise ValidationError(_("Evaluator %(e)s has not scored bid %(b)d on every criterion.") % {"e": ev.name, "b": bid_id},
                                      code="scores_missing")
    quality = {b: sum(totals[b].values(), Fraction(0)) / len(evaluators) for b in bid_ids}
    return quality, per_bid


@dataclass(frozen=True)
class AgencyState:
    """What eligibility reads of an agency, loaded in bulk for selection."""

    pk: int
    status: str
    status_reason: str


@dataclass(frozen=True)
class BidRow:
    pk: int
    agency_id: int
    price_fen: int
    discount_bp: int | None
    nonce: str
    submitted_at: dt.datetime
    agency_status: str
    agency_status_reason: str
    agency_name: str
    uscc: str

    @property
    def agency(self) -> AgencyState:
        return AgencyState(self.agency_id, self.agency_status, self.agency_status_reason)


def _exclusion(bid: BidRow, refusal: Refusal) -> dict:
    return {"bid_id": bid.pk, "agency_id": bid.agency_id, "agency": bid.agency_name, "uscc": bid.uscc,
            "price_fen": bid.price_fen, "nonce": bid.nonce, "reason_code": refusal.code, "reason": refusal.message}


def _perform_selection(*, request: ServiceRequest, actor: User | None, now: dt.datetime, excluded_bid_ids: dict[int, Refusal],
                       direct_bid_id: int | None = None, direct_reason: str = "") -> SelectionRun:
    """Re-check eligibility, apply the minimum, run the published procedure, publish the result."""
    rules = RequestRules(request, qualifications_by_agency={})
    # The bidders' certificates of the required types, in one joined query (no giant IN list).
    for q in (Qualification.objects.filter(qualification_type_id__in=rules.required_ids, agency__bids__request=request,
                                           agency__bids__status=BidStatus.ACTIVE)
              .select_related("qualification_type")
              .only("agency_id", "qualification_type_id", "certificate_number", "valid_from", "valid_to",
                    "qualification_type__name")):
        rules.qualifications_by_agency.setdefault(q.agency_id, []).append(q)
    fields = ("pk", "agency_id", "price_fen", "discount_bp", "nonce", "submitted_at", "agency__status",
              "agency__status_reason", "agency__organization__name", "agency__organization__uscc")
    bids = [BidRow(*row) for row in Bid.objects.filter(request=request, status=BidStatus.ACTIVE)
            .order_by("pk").values_list(*fields)]
    rules.bans = active_bans(bidders_of_request=request.pk, at=now)
    eligible, excluded = [], []
    for bid in bids:
        refusal = excluded_bid_ids.get(bid.pk) or agency_refusal_for_request(request=request, agency=bid.agency, now=now,
                                                                              rules=rules)
        if refusal is None and bid.price_fen > request.budget_fen:
            refusal = Refusal("price_above_ceiling", _("The price is above the ceiling."))
        if refusal:
            excluded.append(_exclusion(bid, refusal))
        else:
            eligible.append(bid)
    run_no = (request.selection_runs.order_by("-run").values_list("run", flat=True).first() or 0) + 1
    method = request.selection_method
    published = {
        "request_id": request.pk, "run": run_no, "method": method, "commitment": request.commitment,
        "secret": request.secret, "min_bidders": request.effective_min_bidders, "price_weight": request.price_weight,
        "quality_criteria": request.quality_criteria, "ceiling_fen": request.budget_fen,
        "selected_at": now.isoformat(), "excluded": excluded, "factor": None, "reference_price_fen": None,
        "direct_reason": "", "direct_exemption": request.direct_exemption,
    }
    failed = len(eligible) < request.effective_min_bidders
    quality, per_evaluator = ({}, {})
    if method == SelectionMethod.WEIGHTED and not failed:
        quality, per_evaluator = _quality_by_bid(request, [b.pk for b in eligible])
    entries = [draw.Entry(bid_id=b.pk, price_fen=b.price_fen, nonce=b.nonce, quality=quality.get(b.pk)) for b in eligible]
    if failed:  # no winner; the seed and tickets are still published for the record
        outcome = draw.run(method="random", secret_hex=request.secret, entries=entries)
    else:
        if method == SelectionMethod.DIRECT:
            if direct_bid_id not in {b.pk for b in eligible}:
                raise ValidationError({"bid": [_("Choose one of the eligible bids.")]})
            if not (direct_reason or "").strip():
                raise ValidationError({"reason": [_("Give the reason for the direct choice; it is published.")]})
            published["direct_reason"] = direct_reason
        outcome = draw.run(method=method, secret_hex=request.secret, entries=entries, price_weight=request.price_weight,
                           direct_bid_id=direct_bid_id if method == SelectionMethod.DIRECT else None)
    published["seed"] = outcome.seed.hex()
    if outcome.factor is not None:
        published["factor"] = draw.decimal_str(outcome.factor, 12)
        published["reference_price_fen"] = draw.decimal_str(outcome.reference_fen, 2)
    published["eligible"] = [
        {"bid_id": b.pk, "agency_id": b.agency_id, "agency": b.agency_name, "uscc": b.uscc, "price_fen": b.price_fen, "discount_bp": b.discount_bp, "nonce": b.nonce,
         "ticket": outcome.tickets[b.pk], "submitted_at": b.submitted_at.isoformat(),
         "quality_score": str(quality[b.pk]) if b.pk in quality else None,
         "quality_score_decimal": draw.decimal_str(quality[b.pk], 2) if b.pk in quality else None,
         "price_score": draw.decimal_str(outcome.price_scores[b.pk], 4) if b.pk in outcome.price_scores else None,
         "total_score": draw.decimal_str(outcome.totals[b.pk], 4) if b.pk in outcome.totals else None,
         "evaluator_scores": per_evaluator.get(b.pk)}
        for b in eligible
    ]
    if failed:
        published.update({"outcome": SelectionRun.Outcome.FAILED, "winner_bid_id": None, "ranking": [],
                          "failed_reason": _("Only %(n)d valid bids; at least %(m)d are needed.")
                          % {"n": len(eligible), "m": request.effective_min_bidders}})
        run = SelectionRun.objects.create(request=request, run=run_no, method=method, outcome=SelectionRun.Outcome.FAILED,
                                          published=published, performed_by=actor, created_at=now)
        request_transition(request=request, to=RequestStatus.FAILED, actor=actor, reason=published["failed_reason"],
                           now=now)
        emit("selection.result", request_id=request.pk, run_id=run.pk)
        return run
    winner = next(b for b in eligible if b.pk == outcome.winner)
    published.update({"outcome": SelectionRun.Outcome.SELECTED, "winner_bid_id": winner.pk,
                      "winner_agency": winner.agency_name, "winner_price_fen": winner.price_fen,
                      "ranking": outcome.ranking})
    run = SelectionRun.objects.create(request=request, run=run_no, method=method, outcome=SelectionRun.Outcome.SELECTED,
                                      winner_id=winner.pk, published=published, performed_by=actor, created_at=now)
    ends = period_end(now, working_days=settings.MARKET["RESULT_PUBLICITY_WORKING_DAYS"],
                      override_seconds=settings.MARKET["RESULT_PUBLICITY_SECONDS"])
    request_transition(request=request, to=RequestStatus.PUBLICITY, actor=actor, extra_fields={"publicity_ends_at": ends},
                       now=now)
    audit_record(actor=actor, action="selection.run", obj=request,
                 after={"run": run_no, "winner_bid": winner.pk, "seed": published["seed"], "outcome": "selected"})
    emit("selection.result", request_id=request.pk, run_id=run.pk)
    return run


def selection_run(*, actor: User | None, request: ServiceRequest, direct_bid_id: int | None = None,
                  direct_reason: str = "") -> SelectionRun:
    """Run the selection once bidding has closed and the selection time has come."""
    if actor is not None:
        _require_owner(actor, request)
    with transaction.atomic():
        request = ServiceRequest.objects.select_for_update().get(pk=request.pk)
        now = timezone.now()
        if request.status != RequestStatus.PUBLISHED:
            raise ValidationError(_("This request is not waiting for a selection."), code="illegal_transition")
        if now < request.bid_deadline:
            raise ValidationError(_("Bidding is still open; selection starts after the deadline."), code="bidding_open")
        if now < request.selection_time:
            raise ValidationError(_("The published selection time (%(t)s) has not come yet.")
                                  % {"t": timezone.localtime(request.selection_time).strftime("%Y-%m-%d %H:%M")},
                                  code="too_early")
        return _perform_selection(request=request, actor=actor, now=now, excluded_bid_ids={},
                                  direct_bid_id=direct_bid_id, direct_reason=direct_reason)


def objection_lodge(*, actor: User, request: ServiceRequest, bid: Bid, reason: str) -> ResultObjection:
    """A bidder objects to the result during its publicity; the award waits for a regulator's ruling."""
    _require_agency_member(actor, bid.agency)
    refusal = agency_refusal(agency=bid.agency)
    if refusal:
        raise BidRefused(refusal)
    if bid.request_id != request.pk:
        raise ValidationError(_("This bid is not on this request."))
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Give the grounds of your objection.")]})
    with transaction.atomic():
        request = ServiceRequest.objects.select_for_update().get(pk=request.pk)
        now = timezone.now()
        if request.status != RequestStatus.PUBLICITY or now >= request.publicity_ends_at:
            raise ValidationError(_("Objections are accepted only during the result's publicity period."),
                                  code="not_in_publicity")
        run = request.selection_runs.get(outcome=SelectionRun.Outcome.SELECTED)
        objection = ResultObjection.objects.create(request=request, selection_run=run, bid=bid, lodged_by=actor, reason=reason)
        audit_record(actor=actor, action="objection.lodge", obj=objection, after={"request": request.pk, "bid": bid.pk})
        emit("objection.lodged", objection_id=objection.pk)
    return objection


def objection_rule(*, actor: User, objection: ResultObjection, uphold: bool, ruling: str) -> ResultObjection:
    """A regulator rules. Upheld: the result is voided and a new selection runs without the winner.
    Dismissed: the award proceeds when publicity has ended and nothing else is open."""
    permissions.require_regulator(actor)
    if not (ruling or "").strip():
        raise ValidationError({"ruling": [_("Write the ruling.")]})
    with transaction.atomic():
        request = ServiceRequest.objects.select_for_update().get(pk=objection.request_id)
        objection = ResultObjection.objects.select_for_update().get(pk=objection.pk)
        now = timezone.now()
        ruled = {"ruling": ruling, "ruled_by": actor, "ruled_at": now}
        transition(objection, to=ResultObjection.Status.UPHELD if uphold else ResultObjection.Status.DISMISSED,
                   move="uphold" if uphold else "dismiss", actor=actor, reason=ruling, now=now, changes=ruled,
                   after={"ruling": ruling})
        emit("objection.ruled", objection_id=objection.pk)
        if uphold and request.status == RequestStatus.PUBLICITY:
            run = request.selection_runs.select_for_update().get(outcome=SelectionRun.Outcome.SELECTED)
            run.outcome = SelectionRun.Outcome.VOID
            run.save(update_fields=["outcome"])
            # Every open objection against the voided result is settled by this ruling (each its own move).
            for other in ResultObjection.objects.filter(selection_run=run, status=ResultObjection.Status.OPEN).order_by("pk"):
                transition(other, to=ResultObjection.Status.UPHELD, actor=actor, reason=ruling, now=now, changes=ruled,
                           after={"ruling": ruling})
            excluded = {b: Refusal(e["reason_code"], e["reason"]) for e in run.published["excluded"]
                        for b in [e["bid_id"]]}
            excluded[run.winner_id] = Refusal("objection_upheld", _("Excluded after an upheld objection: %(r)s") % {"r": ruling})
            _perform_selection(request=request, actor=actor, now=now, excluded_bid_ids=excluded)
        elif not uphold:
            request_award_if_due(request=request, now=now)
    return objection


def request_award_if_due(*, request: ServiceRequest, now: dt.datetime) -> bool:
    """Award when publicity has ended by server time with no open objection. Caller holds the lock."""
    if request.status != RequestStatus.PUBLICITY or request.publicity_ends_at is None or now < request.publicity_ends_at:
        return False
    if request.result_objections.filter(status=ResultObjection.Status.OPEN).exists():
        return False
    request_transition(request=request, to=RequestStatus.AWARDED, actor=None, extra_fields={"awarded_at": now}, now=now)
    return True
