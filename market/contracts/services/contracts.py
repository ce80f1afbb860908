"""Writes of the contract itself: its pipeline (one transition table, one guarded setter), drafting
after the award, signing, refusing and expiry, the runner-up or a new round after a breach,
closing, cancelling, and overruns recorded as breaches. Payment is not known here: a cancellation,
an acceptance and a close are told to the domains above through market.contracts.events."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bids.models import Bid, BidStatus, SelectionRun
from bids.selectors import current_selection
from bids.services import RequestRules, agency_refusal_for_request
from credit import services as credit_services
from credit.standing import agency_refusal
from market.accounts import permissions
from market.accounts.models import User
from market.calendar.workdays import CN_TZ, period_end
from market.core.audit import audit_record, snapshot
from market.requests.models import RequestStatus, ServiceRequest
from market.requests.services import request_reissue, request_transition

from .. import events
from ..models import LIVE_CONTRACT_STATUSES, Contract, ContractStatus

logger = logging.getLogger(__name__)

C = ContractStatus
R = RequestStatus

OWNER, AGENCY = "owner", "agency"
RULE_REFUSE_SIGN = "REFUSE_SIGN"
RULE_OVERRUN = "OVERRUN"


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

    The caller holds the locks on both rows (`contract_lock`) and is inside their transaction."""
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


def contract_lock(contract_id: int) -> tuple[Contract, ServiceRequest]:
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
    return credit_services.breach_record_system(agency=contract.agency, rule_code=rule_code, evidence=evidence,
                                                related=contract)


def _term_end(start: dt.datetime, days: int) -> dt.datetime:
    """The end (midnight, Beijing time) of the `days`-th calendar day after `start`."""
    local = timezone.localtime(start, CN_TZ).date()
    return dt.datetime.combine(local + dt.timedelta(days=days + 1), dt.time.min, tzinfo=CN_TZ)


def confirm_deadline_from(now: dt.datetime) -> dt.datetime:
    return period_end(now, working_days=market_setting("CONTRACT_CONFIRM_DAYS", 5),
                      override_seconds=market_setting("CONTRACT_CONFIRM_SECONDS", 0))


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
        contract, _request = contract_lock(contract.pk)
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
    side = _side(actor, contract, side)
    expired = False
    with transaction.atomic():
        contract, request = contract_lock(contract.pk)
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
        contract, request = contract_lock(contract.pk)
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
            contract, request = contract_lock(pk)
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


# --- closing and cancelling ------------------------------------------------------------------------------


def contract_close(*, actor: User | None, contract: Contract, reason: str = "") -> Contract:
    """Close an accepted contract once it is paid. With Stripe the platform closes it when the
    payment succeeds; otherwise the owner closes it, confirming payment was settled off the platform.
    What may keep the owner from closing it (an unpaid contract) the close guards say (events)."""
    if actor is not None:
        _require_owner(actor, contract)
    with transaction.atomic():
        contract, request = contract_lock(contract.pk)
        blocker = events.contract_close_blocker(contract=contract)
        if actor is not None and blocker:
            raise ValidationError(blocker, code="payment_pending")
        contract_transition(contract=contract, request=request, to=C.CLOSED, actor=actor, reason=reason,
                            extra_fields={"closed_at": timezone.now()})
    return contract


def contract_cancel(*, actor: User, contract: Contract, reason: str, refund_fen: int | None = None) -> Contract:
    """The owner (or a regulator) ends a contract in service, with a published reason. A held
    payment is released; a captured one is refunded, whole or — with `refund_fen` — in part: the
    payments' receivers of `contract_cancelling` (which may refuse the refund) and `contract_cancelled`."""
    if not (permissions.can_act_for(actor, contract.owner) or permissions.is_regulator(actor)):
        raise PermissionDenied(_("Only the project owner or a regulator may cancel a contract."))
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Give the reason for the cancellation; it is published.")]})
    if refund_fen is not None and int(refund_fen) < 0:
        raise ValidationError({"refund_fen": [_("A refund cannot be negative.")]})
    with transaction.atomic():
        contract, request = contract_lock(contract.pk)
        events.contract_cancelling.send(sender=Contract, contract=contract, actor=actor, refund_fen=refund_fen,
                                        reason=reason)
        contract_transition(contract=contract, request=request, to=C.CANCELLED, actor=actor, reason=reason,
                            extra_fields={"ended_at": timezone.now()})
    events.contract_cancelled.send(sender=Contract, contract=contract, actor=actor, refund_fen=refund_fen,
                                   reason=reason)
    return contract


# --- overruns ----------------------------------------------------------------------------------------------


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
            contract, _request = contract_lock(pk)
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
