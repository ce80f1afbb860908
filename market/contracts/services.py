"""Writes for contracts, delivery and acceptance, extensions, overruns and evaluations.

Four state machines, each with one status enum (market.contracts.models), one transition table and
one guarded setter that the caller invokes inside a transaction holding the row lock; the setter
refuses an illegal move with ValidationError(code="illegal_transition") and writes the audit event.
Locks are always taken in the same order — request, contract, then its rows — so two writers never
wait on each other crosswise. Every deadline check uses one server timestamp taken under the lock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Any, Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from market.accounts import permissions
from market.core.audit import audit_record, snapshot
from .models import (EVALUATION_DIMENSIONS, LIVE_CONTRACT_STATUSES, Contract, ContractStatus, Deliverable,
                              DeliveryRound, DeliveryStatus, Evaluation, EvaluationStatus, ExtensionRequest,
                              ExtensionStatus)
from market.accounts.models import User
from market.requests.models import RequestStatus, ServiceRequest
from ..requests.services import request_reissue, request_transition
from market.calendar.workdays import CN_TZ, period_end

logger = logging.getLogger(__name__)

C = ContractStatus
R = RequestStatus

OWNER, AGENCY = "owner", "agency"
RULE_REFUSE_SIGN = "REFUSE_SIGN"
RULE_OVERRUN = "OVERRUN"
MAX_FILES_PER_DELIVERY = 20
MAX_EXTENSION_DAYS = 365


def market_setting(name: str, default: Any) -> Any:
    return settings.MARKET.get(name, default)


# --- the contract pipeline ---------------------------------------------------------------------------

CONTRACT_TRANSITIONS: dict[str, set[str]] = {
    C.DRAFTED: {C.IN_SERVICE, C.BREACHED, C.REFUSED},
    C.IN_SERVICE: {C.DELIVERED, C.CANCELLED},
    C.DELIVERED: {C.ACCEPTED, C.IN_SERVICE},
    C.ACCEPTED: {C.CLOSED},
    C.CLOSED: set(),
    C.BREACHED: set(),
    C.REFUSED: set(),
    C.CANCELLED: set(),
}

# The request follows its contract: for each move of the contract, the request statuses it passes
# through. A breach leaves the request awarded: the owner then takes the runner-up or opens a new round.
REQUEST_FOLLOWS: dict[tuple[str, str], list[str]] = {
    (C.DRAFTED, C.IN_SERVICE): [R.CONTRACTED, R.IN_SERVICE],
    (C.DRAFTED, C.REFUSED): [R.CANCELLED],
    (C.IN_SERVICE, C.DELIVERED): [R.DELIVERED],
    (C.IN_SERVICE, C.CANCELLED): [R.CANCELLED],
    (C.DELIVERED, C.IN_SERVICE): [R.IN_SERVICE],
    (C.DELIVERED, C.ACCEPTED): [R.ACCEPTED],
    (C.ACCEPTED, C.CLOSED): [R.CLOSED],
}

CONTRACT_AUDIT_FIELDS = ("status", "status_reason", "amount_fen", "pay_on_acceptance", "owner_confirmed_at",
                         "agency_confirmed_at", "signed_at", "due_at", "delivered_at", "accepted_at", "closed_at",
                         "ended_at", "overrun_breach_at")


def _illegal(kind: str, src_label: str, dst_label: str) -> ValidationError:
    return ValidationError(_("%(kind)s cannot go from “%(src)s” to “%(dst)s”.")
                           % {"kind": kind, "src": src_label, "dst": dst_label}, code="illegal_transition")


def contract_transition(*, contract: Contract, request: ServiceRequest, to: str, actor: User | None,
                        reason: str = "", extra_fields: dict[str, Any] | None = None) -> Contract:
    """Move a contract (and its request, which follows it) if the pipeline allows it.

    The caller holds the locks on both rows (`_lock`) and is inside their transaction."""
    if to not in CONTRACT_TRANSITIONS.get(contract.status, set()):
        raise _illegal(_("A contract"), ContractStatus(contract.status).label, ContractStatus(to).label)
    steps = REQUEST_FOLLOWS.get((contract.status, to), [])
    with transaction.atomic():
        before = snapshot(contract, CONTRACT_AUDIT_FIELDS)
        contract.status = to
        fields = ["status", "updated_at"]
        if reason:
            contract.status_reason = reason
            fields.append("status_reason")
        for key, value in (extra_fields or {}).items():
            setattr(contract, key, value)
            fields.append(key)
        contract.save(update_fields=fields)
        audit_record(actor=actor, action=f"contract.{to}", obj=contract, before=before,
                     after=snapshot(contract, CONTRACT_AUDIT_FIELDS))
        for step in steps:
            if request.status != step:
                request_transition(request=request, to=step, actor=actor, reason=reason if step == R.CANCELLED else "")
    return contract


def _lock(contract_id: int) -> tuple[Contract, ServiceRequest]:
    """Lock the request, then the contract (always in this order). Call inside a transaction."""
    request_id = Contract.objects.values_list("request_id", flat=True).get(pk=contract_id)
    request = ServiceRequest.objects.select_for_update().get(pk=request_id)
    contract = (Contract.objects.select_for_update().select_related("agency__organization", "owner", "service_item")
                .get(pk=contract_id))
    return contract, request


def _side(actor: User, contract: Contract, side: str | None) -> str:
    """Which party `actor` acts for on this contract (owner or agency)."""
    sides = []
    if permissions.can_act_for(actor, contract.owner):
        sides.append(OWNER)
    if permissions.can_act_for(actor, contract.agency.organization):
        sides.append(AGENCY)
    if side is not None:
        if side not in (OWNER, AGENCY):
            raise ValidationError({"side": [_("The side is “owner” or “agency”.")]})
        if side not in sides:
            raise PermissionDenied(_("You may not act for this party to the contract."))
        return side
    if not sides:
        raise PermissionDenied(_("Only the two parties to the contract may do this."))
    if len(sides) > 1:
        raise ValidationError({"side": [_("You act for both parties; say for which one.")]})
    return sides[0]


def _require_owner(actor: User, contract: Contract) -> None:
    if not permissions.can_act_for(actor, contract.owner):
        raise PermissionDenied(_("Only members of %(org)s may do this.") % {"org": contract.owner.name})


def _require_agency(actor: User, contract: Contract) -> None:
    if not permissions.can_act_for(actor, contract.agency.organization):
        raise PermissionDenied(_("Only members of %(org)s may do this.") % {"org": contract.agency.organization.name})


def _record_breach(*, contract: Contract, rule_code: str, evidence: str) -> object:
    """The credit module records (and scores) the breach."""
    from credit.services import breach_record_system

    return breach_record_system(agency=contract.agency, rule_code=rule_code, evidence=evidence, related=contract)


def _recompute_credit(agency) -> None:
    """Evaluations weigh into the agency's credit score (credit module)."""
    try:
        from credit.services import credit_recompute
    except ImportError:
        return
    credit_recompute(agency=agency)


def _term_end(start: dt.datetime, days: int) -> dt.datetime:
    """The end (midnight, Beijing time) of the `days`-th calendar day after `start`."""
    local = timezone.localtime(start, CN_TZ).date()
    return dt.datetime.combine(local + dt.timedelta(days=days + 1), dt.time.min, tzinfo=CN_TZ)


def confirm_deadline_from(now: dt.datetime) -> dt.datetime:
    return period_end(now, working_days=market_setting("CONTRACT_CONFIRM_DAYS", 5),
                      override_seconds=market_setting("CONTRACT_CONFIRM_SECONDS", 0))


def review_deadline_from(now: dt.datetime) -> dt.datetime:
    return period_end(now, working_days=market_setting("DELIVERY_REVIEW_WORKING_DAYS", 7),
                      override_seconds=market_setting("DELIVERY_REVIEW_SECONDS", 0))


def overrun_breach_at(due_at: dt.datetime) -> dt.datetime:
    """When an overrun becomes a breach: the threshold of working days after the due date."""
    return period_end(due_at, working_days=market_setting("OVERRUN_BREACH_WORKING_DAYS", 10),
                      override_seconds=market_setting("OVERRUN_BREACH_SECONDS", 0))


# --- drafting ------------------------------------------------------------------------------------------


def _draft(*, request: ServiceRequest, bid, sequence: int, actor: User | None, now: dt.datetime) -> Contract:
    """Create the contract from the request and a bid. Caller holds the request lock."""
    count = request.contracts.count()
    contract = Contract.objects.create(
        number=f"HT-{request.pk:06d}-{count + 1}", request=request, bid=bid, owner=request.owner, agency=bid.agency,
        service_item=request.service_item, sequence=sequence, amount_fen=bid.price_fen,
        term_days=request.service_term_days, deliverables=request.service_item.result or request.service_item.name,
        pay_on_acceptance=market_setting("CONTRACT_PAY_ON_ACCEPTANCE", True), status=C.DRAFTED,
        drafted_at=now, confirm_deadline=confirm_deadline_from(now))
    audit_record(actor=actor, action="contract.draft", obj=contract,
                 after={"request": request.pk, "bid": bid.pk, "agency": bid.agency_id, "sequence": sequence,
                        **snapshot(contract, CONTRACT_AUDIT_FIELDS), "confirm_deadline": contract.confirm_deadline})
    return contract


def _winning_bid(request: ServiceRequest):
    from bids.selectors import current_selection
    from bids.models import SelectionRun

    run = current_selection(request=request)
    if run is None or run.outcome != SelectionRun.Outcome.SELECTED or run.winner_id is None:
        raise ValidationError(_("This request has no standing selection result."), code="no_winner")
    return run


def contract_draft(*, request: ServiceRequest, actor: User | None = None) -> Contract:
    """Draft the contract of an awarded request from its winning bid. Idempotent: returns the
    standing contract if there is one. Called by the deadline job right after the award, or by the
    owner (or a regulator) directly."""
    if actor is not None and not (permissions.can_act_for(actor, request.owner) or permissions.is_regulator(actor)):
        raise PermissionDenied(_("Only the project owner may do this."))
    with transaction.atomic():
        request = ServiceRequest.objects.select_for_update().select_related("service_item", "owner").get(pk=request.pk)
        now = timezone.now()
        return _draft_awarded(request=request, actor=actor, now=now)


def _draft_awarded(*, request: ServiceRequest, actor: User | None, now: dt.datetime) -> Contract:
    live = request.contracts.filter(status__in=LIVE_CONTRACT_STATUSES).first()
    if live is not None:
        return live
    if request.status != R.AWARDED:
        raise ValidationError(_("Only an awarded request gets a contract."), code="not_awarded")
    if request.contracts.exists():
        raise ValidationError(_("The selected agency did not sign; take the runner-up or open a new round."),
                              code="contract_breached")
    run = _winning_bid(request)
    return _draft(request=request, bid=run.winner, sequence=1, actor=actor, now=now)


def contracts_draft_awarded(*, now: dt.datetime, limit: int = 500) -> int:
    """Deadline job: draft the contract of every awarded request that has none yet."""
    from django.db import connection

    done = 0
    due = (ServiceRequest.objects.filter(status=R.AWARDED, contracts__isnull=True)
           .values_list("pk", flat=True).order_by("pk"))
    for pk in list(due[:limit]):
        with transaction.atomic():
            qs = ServiceRequest.objects.filter(pk=pk, status=R.AWARDED).select_related("service_item", "owner")
            qs = qs.select_for_update(skip_locked=True) if connection.vendor == "postgresql" else qs.select_for_update()
            request = qs.first()
            if request is None or request.contracts.exists():
                continue
            try:
                _draft_awarded(request=request, actor=None, now=now)
                done += 1
            except ValidationError as exc:
                logger.warning("contract for request %s not drafted: %s", pk, exc)
    return done


def contract_terms_set(*, actor: User, contract: Contract, pay_on_acceptance: bool) -> Contract:
    """The owner sets the payment term before either side has signed."""
    _require_owner(actor, contract)
    with transaction.atomic():
        contract, _request = _lock(contract.pk)
        if contract.status != C.DRAFTED or contract.owner_confirmed_at or contract.agency_confirmed_at:
            raise ValidationError(_("The terms can change only before either side has signed."), code="already_signed")
        before = {"pay_on_acceptance": contract.pay_on_acceptance}
        contract.pay_on_acceptance = bool(pay_on_acceptance)
        contract.save(update_fields=["pay_on_acceptance", "updated_at"])
        audit_record(actor=actor, action="contract.terms", obj=contract, before=before,
                     after={"pay_on_acceptance": contract.pay_on_acceptance})
    return contract


# --- signing -----------------------------------------------------------------------------------------------


def contract_confirm(*, actor: User, contract: Contract, side: str | None = None) -> Contract:
    """One side signs within the confirmation period; when both have, the service term starts."""
    from credit.standing import agency_refusal

    side = _side(actor, contract, side)
    expired = False
    with transaction.atomic():
        contract, request = _lock(contract.pk)
        now = timezone.now()
        if contract.status != C.DRAFTED:
            raise _illegal(_("A contract"), ContractStatus(contract.status).label, ContractStatus.IN_SERVICE.label)
        if now >= contract.confirm_deadline:
            expired = True
        else:
            if side == AGENCY:
                refusal = agency_refusal(agency=contract.agency, at=now)
                if refusal:
                    raise ValidationError(refusal.message, code=refusal.code)
            stamp = "owner_confirmed_at" if side == OWNER else "agency_confirmed_at"
            if getattr(contract, stamp):
                raise ValidationError(_("Your side has already signed this contract."), code="already_confirmed")
            before = snapshot(contract, CONTRACT_AUDIT_FIELDS)
            setattr(contract, stamp, now)
            setattr(contract, f"{side}_confirmed_by", actor)
            contract.save(update_fields=[stamp, f"{side}_confirmed_by", "updated_at"])
            audit_record(actor=actor, action="contract.confirm", obj=contract, before=before,
                         after={**snapshot(contract, CONTRACT_AUDIT_FIELDS), "side": side})
            if contract.owner_confirmed_at and contract.agency_confirmed_at:
                contract_transition(contract=contract, request=request, to=C.IN_SERVICE, actor=actor,
                                    extra_fields={"signed_at": now, "due_at": _term_end(now, contract.term_days)})
    if expired:
        contracts_expire_due(now=now, contract_ids=[contract.pk])
        raise ValidationError(_("The time to sign ended at %(t)s (server time).")
                              % {"t": timezone.localtime(contract.confirm_deadline).strftime("%Y-%m-%d %H:%M:%S")},
                              code="confirm_deadline_passed")
    return contract


def contract_refuse(*, actor: User, contract: Contract, reason: str, side: str | None = None) -> Contract:
    """A side refuses to sign. The agency refusing is a breach (REFUSE_SIGN); the owner refusing
    cancels the request with the reason, published."""
    side = _side(actor, contract, side)
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Give the reason for refusing.")]})
    with transaction.atomic():
        contract, request = _lock(contract.pk)
        now = timezone.now()
        if contract.status != C.DRAFTED:
            raise _illegal(_("A contract"), ContractStatus(contract.status).label,
                           ContractStatus.BREACHED.label if side == AGENCY else ContractStatus.REFUSED.label)
        if getattr(contract, f"{side}_confirmed_at"):
            raise ValidationError(_("Your side has already signed this contract."), code="already_confirmed")
        if side == AGENCY:
            contract_transition(contract=contract, request=request, to=C.BREACHED, actor=actor,
                                reason=_("The agency refused to sign: %(r)s") % {"r": reason},
                                extra_fields={"ended_at": now})
            _record_breach(contract=contract, rule_code=RULE_REFUSE_SIGN,
                           evidence=_("Contract %(n)s: the agency refused to sign on %(t)s: %(r)s")
                           % {"n": contract.number, "t": timezone.localtime(now).strftime("%Y-%m-%d %H:%M"), "r": reason})
        else:
            contract_transition(contract=contract, request=request, to=C.REFUSED, actor=actor,
                                reason=_("The owner refused to sign: %(r)s") % {"r": reason},
                                extra_fields={"ended_at": now})
    return contract


def contracts_expire_due(*, now: dt.datetime, contract_ids: Iterable[int] | None = None) -> int:
    """Deadline job: unsigned contracts whose confirmation period has ended. The agency not having
    signed is a breach (REFUSE_SIGN); otherwise the owner let it lapse and the request is cancelled."""
    due = Contract.objects.filter(status=C.DRAFTED, confirm_deadline__lte=now)
    if contract_ids is not None:
        due = due.filter(pk__in=list(contract_ids))
    done = 0
    for pk in list(due.values_list("pk", flat=True)[:1000]):
        with transaction.atomic():
            contract, request = _lock(pk)
            if contract.status != C.DRAFTED or now < contract.confirm_deadline:
                continue
            deadline = timezone.localtime(contract.confirm_deadline).strftime("%Y-%m-%d %H:%M")
            if contract.agency_confirmed_at is None:
                contract_transition(contract=contract, request=request, to=C.BREACHED, actor=None,
                                    reason=_("The agency did not sign by %(t)s.") % {"t": deadline},
                                    extra_fields={"ended_at": now})
                _record_breach(contract=contract, rule_code=RULE_REFUSE_SIGN,
                               evidence=_("Contract %(n)s: the agency did not sign within the confirmation period "
                                          "ending %(t)s.") % {"n": contract.number, "t": deadline})
            else:
                contract_transition(contract=contract, request=request, to=C.REFUSED, actor=None,
                                    reason=_("The owner did not sign by %(t)s.") % {"t": deadline},
                                    extra_fields={"ended_at": now})
            done += 1
    return done


# --- after a breach: the runner-up or a new round -------------------------------------------------------


def _lock_breached_request(actor: User, request: ServiceRequest) -> ServiceRequest:
    permissions.require_act_for(actor, request.owner)
    request = ServiceRequest.objects.select_for_update().select_related("service_item", "owner").get(pk=request.pk)
    if request.status != R.AWARDED:
        raise ValidationError(_("This request is not awaiting a contract."), code="not_awarded")
    if request.contracts.filter(status__in=LIVE_CONTRACT_STATUSES).exists():
        raise ValidationError(_("This request already has a standing contract."), code="contract_exists")
    if not request.contracts.filter(status=C.BREACHED).exists():
        raise ValidationError(_("Only after the selected agency failed to sign."), code="no_breach")
    return request


def runner_up_candidates(*, request: ServiceRequest, now: dt.datetime | None = None) -> list:
    """The bids after those already offered a contract, in the published ranking, with the reason
    each is passed over (None if it may take the contract)."""
    from bids.models import Bid, BidStatus
    from bids.services import RequestRules, agency_refusal_for_request

    now = now or timezone.now()
    run = _winning_bid(request)
    ranking = list(run.published.get("ranking") or [])
    offered = set(request.contracts.values_list("bid_id", flat=True))
    bids = {b.pk: b for b in Bid.objects.filter(pk__in=ranking).select_related("agency__organization")
            .prefetch_related("agency__qualifications")}
    rules = RequestRules(request)
    rows = []
    for place, bid_id in enumerate(ranking, start=1):
        bid = bids.get(bid_id)
        if bid is None or bid_id in offered:
            continue
        refusal = None
        if bid.status != BidStatus.ACTIVE:
            refusal = _("The bid was withdrawn.")
        else:
            found = agency_refusal_for_request(request=request, agency=bid.agency, now=now, rules=rules)
            refusal = found.message if found else None
        rows.append((place, bid, refusal))
    return rows


def contract_take_runner_up(*, actor: User, request: ServiceRequest) -> Contract:
    """After the selected agency's breach the owner offers the contract to the next eligible bid in
    the published ranking (eligibility re-checked now)."""
    with transaction.atomic():
        request = _lock_breached_request(actor, request)
        now = timezone.now()
        for place, bid, refusal in runner_up_candidates(request=request, now=now):
            if refusal is None:
                return _draft(request=request, bid=bid, sequence=place, actor=actor, now=now)
    raise ValidationError(_("No other eligible bid remains; open a new round."), code="no_runner_up")


def contract_new_round(*, actor: User, request: ServiceRequest, reason: str) -> ServiceRequest:
    """After the breach the owner closes this round as failed (with the reason) and re-issues it."""
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Give the reason for the new round; it is published.")]})
    with transaction.atomic():
        request = _lock_breached_request(actor, request)
        request_transition(request=request, to=R.FAILED, actor=actor, reason=reason)
        return request_reissue(actor=actor, request=request)


# --- delivery and acceptance --------------------------------------------------------------------------

DELIVERY_TRANSITIONS: dict[str, set[str]] = {
    DeliveryStatus.PENDING: {DeliveryStatus.ACCEPTED, DeliveryStatus.RETURNED},
    DeliveryStatus.ACCEPTED: set(),
    DeliveryStatus.RETURNED: set(),
}


def delivery_transition(*, delivery_round: DeliveryRound, to: str, actor: User | None, reason: str,
                        now: dt.datetime, deemed: bool = False) -> DeliveryRound:
    """Decide a delivery round. The caller holds the contract lock."""
    if to not in DELIVERY_TRANSITIONS.get(delivery_round.status, set()):
        raise _illegal(_("A delivery"), DeliveryStatus(delivery_round.status).label, DeliveryStatus(to).label)
    with transaction.atomic():
        before = {"status": delivery_round.status}
        delivery_round.status, delivery_round.decision_reason = to, reason
        delivery_round.decided_by, delivery_round.decided_at, delivery_round.deemed = actor, now, deemed
        delivery_round.save(update_fields=["status", "decision_reason", "decided_by", "decided_at", "deemed"])
        audit_record(actor=actor, action=f"delivery.{to}", obj=delivery_round, before=before,
                     after={"status": to, "reason": reason, "deemed": deemed, "contract": delivery_round.contract_id})
    return delivery_round


def deliverable_upload(*, actor: User, contract: Contract, note: str, files: list[UploadedFile]) -> DeliveryRound:
    """The agency delivers its results (服务成果) with a note: a new round for the owner to review."""
    from agencies.uploads import check_upload

    _require_agency(actor, contract)
    if not (note or "").strip():
        raise ValidationError({"note": [_("Describe what you deliver.")]})
    files = list(files or [])
    if not files:
        raise ValidationError({"files": [_("Attach at least one file.")]})
    if len(files) > MAX_FILES_PER_DELIVERY:
        raise ValidationError({"files": [_("At most %(n)d files per delivery.") % {"n": MAX_FILES_PER_DELIVERY}]})
    checked = [(upload, check_upload(upload, field="files")) for upload in files]
    with transaction.atomic():
        contract, request = _lock(contract.pk)
        now = timezone.now()
        if contract.status != C.IN_SERVICE:
            raise _illegal(_("A contract"), ContractStatus(contract.status).label, ContractStatus.DELIVERED.label)
        number = contract.delivery_rounds.count() + 1
        delivery = DeliveryRound.objects.create(contract=contract, number=number, note=note, submitted_by=actor,
                                                submitted_at=now, review_deadline=review_deadline_from(now))
        hashes = []
        for upload, info in checked:
            digest = hashlib.sha256()
            upload.seek(0)
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
            item = Deliverable(delivery_round=delivery, original_name=info.original_name, content_type=info.content_type,
                               size=info.size, sha256=digest.hexdigest(), uploaded_at=now)
            item.file.save(f"deliverable.{info.extension}", upload, save=False)
            item.save()
            hashes.append({"name": info.original_name, "sha256": item.sha256, "size": info.size})
        audit_record(actor=actor, action="delivery.submit", obj=delivery,
                     after={"contract": contract.pk, "round": number, "files": hashes})
        contract_transition(contract=contract, request=request, to=C.DELIVERED, actor=actor,
                            extra_fields={"delivered_at": now})
    return delivery


def _lock_round(delivery_round: DeliveryRound) -> tuple[DeliveryRound, Contract, ServiceRequest]:
    contract, request = _lock(delivery_round.contract_id)
    delivery_round = DeliveryRound.objects.select_for_update().get(pk=delivery_round.pk)
    return delivery_round, contract, request


def _accept(*, delivery_round: DeliveryRound, contract: Contract, request: ServiceRequest, actor: User | None,
            reason: str, now: dt.datetime, deemed: bool) -> None:
    delivery_transition(delivery_round=delivery_round, to=DeliveryStatus.ACCEPTED, actor=actor, reason=reason, now=now,
                        deemed=deemed)
    contract_transition(contract=contract, request=request, to=C.ACCEPTED, actor=actor, extra_fields={"accepted_at": now})


def deliverable_accept(*, actor: User, delivery_round: DeliveryRound, reason: str = "") -> DeliveryRound:
    """The owner accepts the delivered work (验收). A held payment is captured at once."""
    from .. import payments

    _require_owner(actor, delivery_round.contract)
    with transaction.atomic():
        delivery_round, contract, request = _lock_round(delivery_round)
        now = timezone.now()
        _accept(delivery_round=delivery_round, contract=contract, request=request, actor=actor, reason=reason, now=now,
                deemed=False)
    payments.payment_after_acceptance(contract=contract, actor=actor)
    return delivery_round


def deliverable_return(*, actor: User, delivery_round: DeliveryRound, reason: str) -> DeliveryRound:
    """The owner returns the work with reasons, within the review period; the agency delivers again."""
    _require_owner(actor, delivery_round.contract)
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Give the reasons for returning the work.")]})
    late = False
    with transaction.atomic():
        delivery_round, contract, request = _lock_round(delivery_round)
        now = timezone.now()
        if delivery_round.status == DeliveryStatus.PENDING and now >= delivery_round.review_deadline:
            late = True
        else:
            delivery_transition(delivery_round=delivery_round, to=DeliveryStatus.RETURNED, actor=actor, reason=reason,
                                now=now)
            contract_transition(contract=contract, request=request, to=C.IN_SERVICE, actor=actor)
    if late:
        deliveries_deem_accepted(now=now, round_ids=[delivery_round.pk])
        raise ValidationError(_("The review period ended at %(t)s; the work counts as accepted.")
                              % {"t": timezone.localtime(delivery_round.review_deadline).strftime("%Y-%m-%d %H:%M:%S")},
                              code="review_deadline_passed")
    return delivery_round


def deliveries_deem_accepted(*, now: dt.datetime, round_ids: Iterable[int] | None = None) -> int:
    """Deadline job: a delivery the owner has not reviewed within the period counts as accepted."""
    from .. import payments

    due = DeliveryRound.objects.filter(status=DeliveryStatus.PENDING, review_deadline__lte=now)
    if round_ids is not None:
        due = due.filter(pk__in=list(round_ids))
    done = []
    for pk, contract_id in list(due.values_list("pk", "contract_id")[:1000]):
        with transaction.atomic():
            contract, request = _lock(contract_id)
            delivery_round = DeliveryRound.objects.select_for_update().get(pk=pk)
            if delivery_round.status != DeliveryStatus.PENDING or now < delivery_round.review_deadline:
                continue
            _accept(delivery_round=delivery_round, contract=contract, request=request, actor=None, now=now, deemed=True,
                    reason=_("Not reviewed by %(t)s: deemed accepted.")
                    % {"t": timezone.localtime(delivery_round.review_deadline).strftime("%Y-%m-%d %H:%M")})
            done.append(contract)
    for contract in done:
        payments.payment_after_acceptance(contract=contract, actor=None)
    return len(done)


def contract_close(*, actor: User | None, contract: Contract, reason: str = "") -> Contract:
    """Close an accepted contract once it is paid. With Stripe the platform closes it when the
    payment succeeds; otherwise the owner closes it, confirming payment was settled off the platform."""
    from ..payments import payment_blocks_close

    if actor is not None:
        _require_owner(actor, contract)
    with transaction.atomic():
        contract, request = _lock(contract.pk)
        blocker = payment_blocks_close(contract)
        if actor is not None and blocker:
            raise ValidationError(blocker, code="payment_pending")
        contract_transition(contract=contract, request=request, to=C.CLOSED, actor=actor, reason=reason,
                            extra_fields={"closed_at": timezone.now()})
    return contract


def contract_cancel(*, actor: User, contract: Contract, reason: str, refund_fen: int | None = None) -> Contract:
    """The owner (or a regulator) ends a contract in service, with a published reason. A held
    payment is released; a captured one is refunded, whole or — with `refund_fen` — in part."""
    from .. import payments

    if not (permissions.can_act_for(actor, contract.owner) or permissions.is_regulator(actor)):
        raise PermissionDenied(_("Only the project owner or a regulator may cancel a contract."))
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Give the reason for the cancellation; it is published.")]})
    if refund_fen is not None and int(refund_fen) < 0:
        raise ValidationError({"refund_fen": [_("A refund cannot be negative.")]})
    with transaction.atomic():
        contract, request = _lock(contract.pk)
        payments.payment_check_refund(contract=contract, refund_fen=refund_fen)
        contract_transition(contract=contract, request=request, to=C.CANCELLED, actor=actor, reason=reason,
                            extra_fields={"ended_at": timezone.now()})
    try:
        payments.payment_settle_on_cancel(contract=contract, actor=actor, refund_fen=refund_fen, reason=reason)
    except ValidationError as exc:  # the contract stays cancelled; the refund can be retried from its page
        logger.warning("payment of cancelled contract %s not settled: %s", contract.pk, exc)
    return contract


# --- extensions and overruns -----------------------------------------------------------------------------

EXTENSION_TRANSITIONS: dict[str, set[str]] = {
    ExtensionStatus.PENDING: {ExtensionStatus.GRANTED, ExtensionStatus.REFUSED},
    ExtensionStatus.GRANTED: set(),
    ExtensionStatus.REFUSED: set(),
}


def extension_transition(*, extension: ExtensionRequest, to: str, actor: User, note: str, now: dt.datetime,
                         extra_fields: dict[str, Any] | None = None) -> ExtensionRequest:
    if to not in EXTENSION_TRANSITIONS.get(extension.status, set()):
        raise _illegal(_("An extension request"), ExtensionStatus(extension.status).label, ExtensionStatus(to).label)
    with transaction.atomic():
        before = {"status": extension.status}
        extension.status, extension.decision_note, extension.decided_by, extension.decided_at = to, note, actor, now
        fields = ["status", "decision_note", "decided_by", "decided_at"]
        for key, value in (extra_fields or {}).items():
            setattr(extension, key, value)
            fields.append(key)
        extension.save(update_fields=fields)
        audit_record(actor=actor, action=f"extension.{to}", obj=extension, before=before,
                     after={"status": to, "note": note, "days": extension.days, "contract": extension.contract_id,
                            "due_before": extension.due_before, "due_after": extension.due_after})
    return extension


def extension_request(*, actor: User, contract: Contract, days: int, reason: str) -> ExtensionRequest:
    """The agency asks for more time; the due date moves only with the owner's consent."""
    _require_agency(actor, contract)
    try:
        days = int(days)
    except (TypeError, ValueError):
        days = 0
    if not (1 <= days <= MAX_EXTENSION_DAYS):
        raise ValidationError({"days": [_("Ask for 1 to %(n)d more days.") % {"n": MAX_EXTENSION_DAYS}]})
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Give the reason for the extension.")]})
    with transaction.atomic():
        contract, _request = _lock(contract.pk)
        if contract.status not in (C.IN_SERVICE, C.DELIVERED):
            raise ValidationError(_("Extensions can be asked for only while the service is under way."),
                                  code="not_in_service")
        if contract.extensions.filter(status=ExtensionStatus.PENDING).exists():
            raise ValidationError(_("An extension request is already awaiting the owner's answer."),
                                  code="extension_pending")
        extension = ExtensionRequest.objects.create(contract=contract, days=days, reason=reason, requested_by=actor,
                                                    requested_at=timezone.now())
        audit_record(actor=actor, action="extension.request", obj=extension,
                     after={"contract": contract.pk, "days": days, "reason": reason})
    return extension


def extension_decide(*, actor: User, extension: ExtensionRequest, grant: bool, note: str = "") -> ExtensionRequest:
    """The owner consents (the due date moves by the days asked) or refuses."""
    _require_owner(actor, extension.contract)
    if not grant and not (note or "").strip():
        raise ValidationError({"note": [_("Give the reason for refusing the extension.")]})
    with transaction.atomic():
        contract, _request = _lock(extension.contract_id)
        extension = ExtensionRequest.objects.select_for_update().get(pk=extension.pk)
        now = timezone.now()
        if not grant:
            return extension_transition(extension=extension, to=ExtensionStatus.REFUSED, actor=actor, note=note, now=now)
        if contract.status not in (C.IN_SERVICE, C.DELIVERED):
            raise ValidationError(_("The service is no longer under way."), code="not_in_service")
        before = contract.due_at
        after = before + dt.timedelta(days=extension.days)
        extension_transition(extension=extension, to=ExtensionStatus.GRANTED, actor=actor, note=note, now=now,
                             extra_fields={"due_before": before, "due_after": after})
        contract.due_at = after
        contract.save(update_fields=["due_at", "updated_at"])
        audit_record(actor=actor, action="contract.extend", obj=contract, before={"due_at": before},
                     after={"due_at": after, "extension": extension.pk})
    return extension


def contracts_record_overruns(*, now: dt.datetime, contract_ids: Iterable[int] | None = None) -> int:
    """Deadline job: a contract still in service past its due date by more than the threshold
    (working days) is a breach (OVERRUN), recorded once. `contract_ids` limits it to those contracts."""
    done = 0
    candidates = Contract.objects.filter(status=C.IN_SERVICE, due_at__lte=now, overrun_breach_at__isnull=True)
    if contract_ids is not None:
        candidates = candidates.filter(pk__in=list(contract_ids))
    for pk, due_at in list(candidates.values_list("pk", "due_at")[:1000]):
        if now < overrun_breach_at(due_at):
            continue
        with transaction.atomic():
            contract, _request = _lock(pk)
            if (contract.status != C.IN_SERVICE or contract.overrun_breach_at is not None
                    or now < overrun_breach_at(contract.due_at)):
                continue
            contract.overrun_breach_at = now
            contract.save(update_fields=["overrun_breach_at", "updated_at"])
            audit_record(actor=None, action="contract.overrun", obj=contract, before={"overrun_breach_at": None},
                         after={"overrun_breach_at": now, "due_at": contract.due_at})
            _record_breach(contract=contract, rule_code=RULE_OVERRUN,
                           evidence=_("Contract %(n)s was due on %(d)s and is still not delivered on %(t)s, more than "
                                      "%(w)d working days late.")
                           % {"n": contract.number, "d": timezone.localtime(contract.due_at).strftime("%Y-%m-%d %H:%M"),
                              "t": timezone.localtime(now).strftime("%Y-%m-%d %H:%M"),
                              "w": market_setting("OVERRUN_BREACH_WORKING_DAYS", 10)})
            done += 1
    return done


# --- evaluations --------------------------------------------------------------------------------------------

EVALUATION_TRANSITIONS: dict[str, set[str]] = {
    EvaluationStatus.PUBLISHED: {EvaluationStatus.HIDDEN},
    EvaluationStatus.HIDDEN: {EvaluationStatus.PUBLISHED},
}


def evaluation_transition(*, evaluation: Evaluation, to: str, actor: User, reason: str) -> Evaluation:
    if to not in EVALUATION_TRANSITIONS.get(evaluation.status, set()):
        raise _illegal(_("An evaluation"), EvaluationStatus(evaluation.status).label, EvaluationStatus(to).label)
    with transaction.atomic():
        before = {"status": evaluation.status, "hidden_reason": evaluation.hidden_reason}
        evaluation.status = to
        evaluation.hidden_reason = reason if to == EvaluationStatus.HIDDEN else ""
        evaluation.hidden_by = actor if to == EvaluationStatus.HIDDEN else None
        evaluation.hidden_at = timezone.now() if to == EvaluationStatus.HIDDEN else None
        evaluation.save(update_fields=["status", "hidden_reason", "hidden_by", "hidden_at"])
        audit_record(actor=actor, action=f"evaluation.{to}", obj=evaluation, before=before,
                     after={"status": to, "hidden_reason": evaluation.hidden_reason, "reason": reason})
    return evaluation


def _clean_scores(scores: dict[str, Any]) -> dict[str, int]:
    errors, clean = {}, {}
    for name, label in EVALUATION_DIMENSIONS:
        value = (scores or {}).get(name)
        try:
            value = int(value)
        except (TypeError, ValueError):
            value = None
        if value is None or not (1 <= value <= 5):
            errors[name] = [_("Score %(label)s from 1 to 5.") % {"label": label}]
        else:
            clean[name] = value
    unknown = set(scores or {}) - {n for n, _label in EVALUATION_DIMENSIONS}
    if unknown:
        errors["scores"] = [_("Unknown scores: %(f)s") % {"f": ", ".join(sorted(unknown))}]
    if errors:
        raise ValidationError(errors)
    return clean


def evaluation_submit(*, actor: User, contract: Contract, scores: dict[str, Any], comment: str = "") -> Evaluation:
    """The owner evaluates the agency (服务评价) once, after acceptance: five scores of 1–5 and a comment."""
    _require_owner(actor, contract)
    clean = _clean_scores(scores)
    comment = (comment or "").strip()
    if len(comment) > 2000:
        raise ValidationError({"comment": [_("At most 2000 characters.")]})
    try:
        with transaction.atomic():
            contract, _request = _lock(contract.pk)
            if contract.status not in (C.ACCEPTED, C.CLOSED):
                raise ValidationError(_("The agency can be evaluated only after the work is accepted."),
                                      code="not_accepted")
            if Evaluation.objects.filter(contract=contract).exists():
                raise ValidationError(_("This contract has already been evaluated."), code="already_evaluated")
            evaluation = Evaluation.objects.create(contract=contract, agency=contract.agency, comment=comment,
                                                   submitted_by=actor, submitted_at=timezone.now(), **clean)
            audit_record(actor=actor, action="evaluation.submit", obj=evaluation,
                         after={"contract": contract.pk, "agency": contract.agency_id, **clean, "comment": comment})
            _recompute_credit(contract.agency)
    except IntegrityError:
        raise ValidationError(_("This contract has already been evaluated."), code="already_evaluated")
    return evaluation


def evaluation_hide(*, actor: User, evaluation: Evaluation, reason: str) -> Evaluation:
    """A regulator hides an abusive comment (the scores still count); audited."""
    permissions.require_regulator(actor)
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Give the reason for hiding the comment.")]})
    with transaction.atomic():
        evaluation = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
        return evaluation_transition(evaluation=evaluation, to=EvaluationStatus.HIDDEN, actor=actor, reason=reason)


def evaluation_show(*, actor: User, evaluation: Evaluation, reason: str = "") -> Evaluation:
    """A regulator publishes a hidden comment again; audited."""
    permissions.require_regulator(actor)
    with transaction.atomic():
        evaluation = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
        return evaluation_transition(evaluation=evaluation, to=EvaluationStatus.PUBLISHED, actor=actor, reason=reason)
