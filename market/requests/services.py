"""Writes for service requests (采购公告): draft, publish, amend, cancel, clarify, re-issue. A
request's status moves only through its state machine (market.requests.states), by way of
`request_transition`, which adds the open-data release of the new status."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from market.accounts import permissions
from market.core.audit import audit_record, snapshot
from market.core.events import emit
from market.core.statemachine import require_move, transition
from market.accounts.models import Organization, User
from market.catalogue.models import PricingMode, QualificationType
from market.requests.models import (
    QuoteMode,
    RequestAmendment,
    RequestAvoidance,
    RequestQuestion,
    RequestStatus,
    SelectionMethod,
    ServiceRequest,
)
from market.requests.events import request_amended, request_cancelled, request_moved
from market.requests.states import AUDIT_FIELDS

S = RequestStatus

EDITABLE_FIELDS = (
    "project_name", "project_code", "service_item", "region", "description", "fiscal_share", "state_share",
    "social_share", "quote_mode", "budget_fen", "discount_min_bp", "discount_max_bp", "service_term_days",
    "selection_method", "price_weight", "quality_criteria", "direct_exemption", "bid_deadline", "selection_time",
    "min_bidders", "contact_name", "contact_phone",
)
# Changing only these during bidding is not material (no restart of the minimum window).
NON_MATERIAL_FIELDS = {"contact_name", "contact_phone", "description", "selection_time"}


def min_bidding_window() -> dt.timedelta:
    return dt.timedelta(seconds=settings.MARKET["MIN_BIDDING_WINDOW_SECONDS"])


def request_transition(*, request: ServiceRequest, to: str, actor: User | None, reason: str = "",
                       extra_fields: dict[str, Any] | None = None, move: str | None = None,
                       now: dt.datetime | None = None) -> ServiceRequest:
    """Move a request to `to` through its state machine (market.requests.states.REQUEST: the legal
    moves, who may make them, the audit event) and record the open-data release the new status has.

    The caller passes a request it has locked (select_for_update) when it read state to decide, and
    the server time it decided by (`now`; default: now)."""
    with transaction.atomic():
        transition(request, to=to, actor=actor, reason=reason, changes=extra_fields, move=move, now=now)
        request_moved.send(sender=ServiceRequest, request=request, to=to, actor=actor, now=now)
    return request


# --- validation ---------------------------------------------------------------------------------


def _validate(data: dict[str, Any], *, qualification_ids: list[int] | None, window_from: dt.datetime | None) -> None:
    """The publication rules; raises one ValidationError naming every field at fault.

    `window_from`: the deadline must leave the minimum bidding window after this moment (None: not checked)."""
    errors: dict[str, list[str]] = {}

    def err(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    item = data.get("service_item")
    if item is None:
        err("service_item", _("Choose a service item."))
    if not (data.get("project_name") or "").strip():
        err("project_name", _("Enter the project name."))
    shares = [int(data.get(k) or 0) for k in ("fiscal_share", "state_share", "social_share")]
    if any(s < 0 or s > 100 for s in shares) or sum(shares) != 100:
        err("fiscal_share", _("The funding shares must add up to 100%."))
    budget = data.get("budget_fen")
    if budget is None or int(budget) <= 0:
        err("budget_fen", _("Enter a budget or price ceiling above zero."))
    elif item is not None and item.pricing_mode in (PricingMode.GOVERNMENT_SET, PricingMode.GOVERNMENT_GUIDED) \
            and item.fee_cap_fen is not None and int(budget) > item.fee_cap_fen:
        from market.core.money import fen_to_yuan

        err("budget_fen", _("The ceiling %(ceiling)s yuan exceeds the government fee standard of %(cap)s yuan for this item.")
            % {"ceiling": fen_to_yuan(int(budget)), "cap": fen_to_yuan(item.fee_cap_fen)})
    if data.get("quote_mode") == QuoteMode.DISCOUNT:
        lo, hi = data.get("discount_min_bp"), data.get("discount_max_bp")
        if lo is None or hi is None or not (0 <= int(lo) <= int(hi) <= 10000):
            err("discount_min_bp", _("Give a discount range from 0% to 100%, lowest first."))
    if not data.get("service_term_days") or int(data["service_term_days"]) <= 0:
        err("service_term_days", _("Enter the service term in days."))
    if item is not None and qualification_ids:
        allowed = set(item.qualification_types.values_list("pk", flat=True))
        extra = set(qualification_ids) - allowed
        if extra:
            names = "、".join(QualificationType.objects.filter(pk__in=extra).order_by("code").values_list("name", flat=True))
            err("required_qualifications", _("The catalogue does not name these qualifications for this item: %(names)s.")
                % {"names": names})
    method = data.get("selection_method")
    if method not in SelectionMethod.values:
        err("selection_method", _("Choose a selection method."))
    uses_state_funds = shares[0] + shares[1] > 0
    if method == SelectionMethod.DIRECT and uses_state_funds and not (data.get("direct_exemption") or "").strip():
        err("selection_method", _("Direct choice with fiscal or state-owned funds needs a declared legal exemption."))
    if method == SelectionMethod.WEIGHTED:
        criteria = data.get("quality_criteria") or []
        try:
            weights = [int(c["weight"]) for c in criteria]
            names_ok = all(str(c.get("name", "")).strip() for c in criteria)
        except (KeyError, TypeError, ValueError):
            weights, names_ok = [], False
        price_weight = data.get("price_weight")
        if not criteria or not names_ok or price_weight is None or any(w <= 0 for w in weights) or int(price_weight) <= 0:
            err("quality_criteria", _("The weighted method needs a price weight and named quality criteria with positive weights."))
        elif int(price_weight) + sum(weights) != 100:
            err("quality_criteria", _("The price weight and the quality weights must add up to 100 (now %(total)d).")
                % {"total": int(price_weight) + sum(weights)})
    deadline, selection_time = data.get("bid_deadline"), data.get("selection_time")
    if deadline is None:
        err("bid_deadline", _("Enter the bid deadline."))
    else:
        earliest = window_from + min_bidding_window() if window_from is not None else None
        if earliest is not None and deadline < earliest:
            err("bid_deadline", _("The bid deadline must leave at least the minimum bidding window: no earlier than %(t)s.")
                % {"t": timezone.localtime(earliest).strftime("%Y-%m-%d %H:%M:%S")})
        if selection_time is None or selection_time < deadline:
            err("selection_time", _("The selection time cannot be before the bid deadline."))
    min_bidders = data.get("min_bidders")
    if min_bidders is not None and int(min_bidders) < 1:
        err("min_bidders", _("At least one valid bid is needed."))
    if not (data.get("contact_name") or "").strip() or not (data.get("contact_phone") or "").strip():
        err("contact_name", _("Enter a contact person and phone."))
    if errors:
        raise ValidationError(errors)


def _require_owner_member(actor: User, owner: Organization) -> None:
    if owner.kind != Organization.Kind.OWNER:
        raise ValidationError({"owner": [_("Only a project owner organization posts service requests.")]})
    permissions.require_act_for(actor, owner)


def request_create(*, actor: User, owner: Organization, required_qualifications: list[QualificationType] | None = None,
                   avoidances: list[tuple[Any, str]] | None = None, **fields) -> ServiceRequest:
    """Draft a service request. The full rules apply at once, so a draft is publishable."""
    _require_owner_member(actor, owner)
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    fields.setdefault("region", owner.region)
    quals = list(required_qualifications or [])
    _validate(fields, qualification_ids=[q.pk for q in quals], window_from=timezone.now())
    with transaction.atomic():
        request = ServiceRequest.objects.create(owner=owner, created_by=actor, status=RequestStatus.DRAFT, **fields)
        request.required_qualifications.set(quals)
        for agency, reason in avoidances or []:
            if not (reason or "").strip():
                raise ValidationError({"avoidances": [_("Give the reason for avoiding each agency.")]})
            RequestAvoidance.objects.create(request=request, agency=agency, reason=reason)
        audit_record(actor=actor, action="request.create", obj=request, after=snapshot(request, AUDIT_FIELDS))
    return request


def request_update(*, actor: User, request: ServiceRequest, required_qualifications: list[QualificationType] | None = None,
                   **fields) -> ServiceRequest:
    """Edit a draft."""
    _require_owner_member(actor, request.owner)
    if request.status != RequestStatus.DRAFT:
        raise ValidationError(_("Only a draft can be edited; amend a published request instead."), code="not_draft")
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    data = {f: getattr(request, f) for f in EDITABLE_FIELDS} | fields
    quals = list(required_qualifications) if required_qualifications is not None else list(request.required_qualifications.all())
    _validate(data, qualification_ids=[q.pk for q in quals], window_from=timezone.now())
    with transaction.atomic():
        before = snapshot(request, AUDIT_FIELDS)
        for key, value in fields.items():
            setattr(request, key, value)
        request.save()
        request.required_qualifications.set(quals)
        audit_record(actor=actor, action="request.update", obj=request, before=before, after=snapshot(request, AUDIT_FIELDS))
    return request


def request_publish(*, actor: User, request: ServiceRequest) -> ServiceRequest:
    """Publish: the owner must be verified; the platform draws the secret and publishes its commitment."""
    from market.core.draw import commitment_of, new_secret

    _require_owner_member(actor, request.owner)
    with transaction.atomic():
        request = ServiceRequest.objects.select_for_update().select_related("owner", "service_item").get(pk=request.pk)
        if not request.owner.is_verified:
            raise ValidationError(_("Your organization must be verified by a regulator before it publishes requests."),
                                  code="owner_not_verified")
        require_move(request, to=RequestStatus.PUBLISHED, move="publish")  # only a draft
        now = timezone.now()
        data = {f: getattr(request, f) for f in EDITABLE_FIELDS}
        _validate(data, qualification_ids=list(request.required_qualifications.values_list("pk", flat=True)),
                  window_from=now)
        secret = new_secret()
        request_transition(request=request, to=RequestStatus.PUBLISHED, actor=actor,
                           extra_fields={"secret": secret, "commitment": commitment_of(secret), "published_at": now})
        emit("request.published", request_id=request.pk)
    return request


def request_amend(*, actor: User, request: ServiceRequest, reason: str, **changes) -> RequestAmendment:
    """Amend a published request while bidding is open. A material change restarts the minimum
    bidding window (the deadline moves out if needed) and every bidder is told."""
    _require_owner_member(actor, request.owner)
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Give the reason for the amendment.")]})
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    with transaction.atomic():
        request = ServiceRequest.objects.select_for_update().get(pk=request.pk)
        now = timezone.now()
        if not request.bidding_open_at(now):
            raise ValidationError(_("A request can be amended only while bidding is open."), code="bidding_closed")
        changed = {k: v for k, v in changes.items() if getattr(request, k) != v}
        if not changed:
            raise ValidationError(_("The amendment changes nothing."), code="no_change")
        material = bool(set(changed) - NON_MATERIAL_FIELDS)
        data = {f: getattr(request, f) for f in EDITABLE_FIELDS} | changed
        if material:
            earliest = now + min_bidding_window()
            if data["bid_deadline"] < earliest:
                data["bid_deadline"] = earliest
                changed["bid_deadline"] = earliest
                if data["selection_time"] < earliest:
                    data["selection_time"] = earliest
                    changed["selection_time"] = earliest
        _validate(data, qualification_ids=list(request.required_qualifications.values_list("pk", flat=True)),
                  window_from=now if material else None)
        before = snapshot(request, AUDIT_FIELDS)
        for key, value in changed.items():
            setattr(request, key, value)
        request.amended_at = now
        request.save()
        amendment = RequestAmendment.objects.create(
            request=request, reason=reason, material=material, created_by=actor,
            changes={k: (v.isoformat() if hasattr(v, "isoformat") else getattr(v, "pk", v)) for k, v in changed.items()})
        audit_record(actor=actor, action="request.amend", obj=request, before=before, after=snapshot(request, AUDIT_FIELDS))
        emit("request.amended", request_id=request.pk, amendment_id=amendment.pk)
        # open data records the amendment release; bids tell the agencies that bid (market.requests.events)
        request_amended.send(sender=ServiceRequest, request=request, amendment=amendment, actor=actor)
    return amendment


def request_cancel(*, actor: User, request: ServiceRequest, reason: str) -> ServiceRequest:
    """Cancel with a published reason (before the award)."""
    _require_owner_member(actor, request.owner)
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Give the reason for the cancellation; it is published.")]})
    with transaction.atomic():
        request = ServiceRequest.objects.select_for_update().get(pk=request.pk)
        request_transition(request=request, to=S.CANCELLED, actor=actor, reason=reason, move="cancel")
        request_cancelled.send(sender=ServiceRequest, request=request, reason=reason, actor=actor)
    return request


def request_reissue(*, actor: User, request: ServiceRequest, bid_deadline: dt.datetime | None = None,
                    selection_time: dt.datetime | None = None) -> ServiceRequest:
    """One click after a failed round (流标): a new round as a draft copy with fresh dates."""
    _require_owner_member(actor, request.owner)
    if request.status != S.FAILED:
        raise ValidationError(_("Only a failed round can be re-issued."), code="not_failed")
    if ServiceRequest.objects.filter(previous_round=request).exists():
        raise ValidationError(_("This round has already been re-issued."), code="already_reissued")
    now = timezone.now()
    deadline = bid_deadline or (now + min_bidding_window() + dt.timedelta(hours=1))
    fields = {f: getattr(request, f) for f in EDITABLE_FIELDS} | {
        "bid_deadline": deadline, "selection_time": selection_time or deadline}
    with transaction.atomic():
        new = request_create(actor=actor, owner=request.owner,
                             required_qualifications=list(request.required_qualifications.all()),
                             avoidances=[(a.agency, a.reason) for a in request.avoidances.all()], **fields)
        new.round_number = request.round_number + 1
        new.previous_round = request
        new.save(update_fields=["round_number", "previous_round"])
        audit_record(actor=actor, action="request.reissue", obj=new, after={"previous_round": request.pk,
                                                                          "round": new.round_number})
    return new


def question_ask(*, actor: User, request: ServiceRequest, organization: Organization, question: str) -> RequestQuestion:
    """An agency asks a clarification question while bidding is open."""
    permissions.require_act_for(actor, organization)
    if organization.kind != Organization.Kind.AGENCY:
        raise PermissionDenied(_("Only agencies ask clarification questions."))
    if not (question or "").strip():
        raise ValidationError({"question": [_("Enter your question.")]})
    if not request.bidding_open_at(timezone.now()):
        raise ValidationError(_("Questions can be asked only while bidding is open."), code="bidding_closed")
    from agencies.models import Agency
    from credit.standing import require_agency_may_act

    for agency in Agency.objects.filter(organization=organization).exclude(status__in=["withdrawn", "rejected"]):
        require_agency_may_act(agency=agency)
    with transaction.atomic():
        q = RequestQuestion.objects.create(request=request, asked_by=organization, asked_by_user=actor, question=question)
        audit_record(actor=actor, action="request.question", obj=q, after={"request": request.pk})
    return q


def question_answer(*, actor: User, question: RequestQuestion, answer: str) -> RequestQuestion:
    """The owner answers; the answer is published to all and the asker is told."""
    _require_owner_member(actor, question.request.owner)
    if not (answer or "").strip():
        raise ValidationError({"answer": [_("Enter the answer.")]})
    with transaction.atomic():
        question = RequestQuestion.objects.select_for_update().get(pk=question.pk)
        before = {"answer": question.answer}
        question.answer = answer
        question.answered_at = timezone.now()
        question.save(update_fields=["answer", "answered_at"])
        audit_record(actor=actor, action="request.answer", obj=question, before=before, after={"answer": answer})
        emit("question.answered", question_id=question.pk)
    return question
