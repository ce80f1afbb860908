"""Writes of delivery and acceptance: the agency's delivery rounds (服务成果) and the owner's review,
within the review period; a round not reviewed in time is deemed accepted (deadline job)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Iterable

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.uploads import check_upload
from market.accounts.models import User
from market.calendar.workdays import period_end
from market.core.audit import audit_record
from market.requests.models import ServiceRequest

from .. import events
from ..models import Contract, ContractStatus, Deliverable, DeliveryRound, DeliveryStatus
from .contracts import (C, _illegal, _require_agency, _require_owner, contract_lock, contract_transition,
                        market_setting)

MAX_FILES_PER_DELIVERY = 20

DELIVERY_TRANSITIONS: dict[str, set[str]] = {
    DeliveryStatus.PENDING: {DeliveryStatus.ACCEPTED, DeliveryStatus.RETURNED},
    DeliveryStatus.ACCEPTED: set(),
    DeliveryStatus.RETURNED: set(),
}


def review_deadline_from(now: dt.datetime) -> dt.datetime:
    return period_end(now, working_days=market_setting("DELIVERY_REVIEW_WORKING_DAYS", 7),
                      override_seconds=market_setting("DELIVERY_REVIEW_SECONDS", 0))


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
        contract, request = contract_lock(contract.pk)
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
    contract, request = contract_lock(delivery_round.contract_id)
    delivery_round = DeliveryRound.objects.select_for_update().get(pk=delivery_round.pk)
    return delivery_round, contract, request


def _accept(*, delivery_round: DeliveryRound, contract: Contract, request: ServiceRequest, actor: User | None,
            reason: str, now: dt.datetime, deemed: bool) -> None:
    delivery_transition(delivery_round=delivery_round, to=DeliveryStatus.ACCEPTED, actor=actor, reason=reason, now=now,
                        deemed=deemed)
    contract_transition(contract=contract, request=request, to=C.ACCEPTED, actor=actor, extra_fields={"accepted_at": now})


def deliverable_accept(*, actor: User, delivery_round: DeliveryRound, reason: str = "") -> DeliveryRound:
    """The owner accepts the delivered work (验收). A held payment is captured at once (a receiver of
    `contract_accepted`)."""
    _require_owner(actor, delivery_round.contract)
    with transaction.atomic():
        delivery_round, contract, request = _lock_round(delivery_round)
        now = timezone.now()
        _accept(delivery_round=delivery_round, contract=contract, request=request, actor=actor, reason=reason, now=now,
                deemed=False)
    events.contract_accepted.send(sender=Contract, contract=contract, actor=actor)
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
    due = DeliveryRound.objects.filter(status=DeliveryStatus.PENDING, review_deadline__lte=now)
    if round_ids is not None:
        due = due.filter(pk__in=list(round_ids))
    done = []
    for pk, contract_id in list(due.values_list("pk", "contract_id")[:1000]):
        with transaction.atomic():
            contract, request = contract_lock(contract_id)
            delivery_round = DeliveryRound.objects.select_for_update().get(pk=pk)
            if delivery_round.status != DeliveryStatus.PENDING or now < delivery_round.review_deadline:
                continue
            _accept(delivery_round=delivery_round, contract=contract, request=request, actor=None, now=now, deemed=True,
                    reason=_("Not reviewed by %(t)s: deemed accepted.")
                    % {"t": timezone.localtime(delivery_round.review_deadline).strftime("%Y-%m-%d %H:%M")})
            done.append(contract)
    for contract in done:
        events.contract_accepted.send(sender=Contract, contract=contract, actor=None)
    return len(done)
