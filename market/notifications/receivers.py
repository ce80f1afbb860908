"""Signal receivers: domain events become notifications, and saves of other apps' models (contracts,
deliveries, breaches, qualifications) become domain events. Read-only dependencies: nothing here
changes those models."""

from __future__ import annotations

import logging

from django.db.models.signals import post_save
from django.dispatch import receiver

from agencies.models import Qualification
from credit.models import Breach
from market.contracts.models import Contract, ContractStatus, DeliveryRound, DeliveryStatus
from market.core.events import domain_event, emit

from .services import RESOLVERS
from .tasks import deliver_event

logger = logging.getLogger(__name__)


@receiver(domain_event, dispatch_uid="market.notifications.services")
def on_domain_event(sender, kind: str, **payload) -> None:
    payload.pop("signal", None)
    if kind in RESOLVERS:
        deliver_event.enqueue(kind, payload)


@receiver(post_save, sender=Contract, dispatch_uid="supervision.contract_drafted")
def contract_drafted(sender, instance: Contract, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw and instance.status == ContractStatus.DRAFTED:
        emit("contract.to_confirm", contract_id=instance.pk)


@receiver(post_save, sender=DeliveryRound, dispatch_uid="supervision.delivery_returned")
def delivery_returned(sender, instance: DeliveryRound, created: bool, raw: bool = False, update_fields=None,
                      **kwargs) -> None:
    if raw or instance.status != DeliveryStatus.RETURNED:
        return
    if update_fields is None or "status" in update_fields:
        emit("deliverable.returned", round_id=instance.pk)


@receiver(post_save, sender=Breach, dispatch_uid="supervision.breach_recorded")
def breach_recorded(sender, instance: Breach, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        emit("breach.recorded", breach_id=instance.pk)


@receiver(post_save, sender=Qualification, dispatch_uid="supervision.qualification_expiring")
def qualification_warned(sender, instance: Qualification, created: bool, raw: bool = False, update_fields=None,
                         **kwargs) -> None:
    """The agencies job marks a certificate warned (expiry_warned_at) when it enters the warning window."""
    if raw or instance.expiry_warned_at is None:
        return
    if update_fields is not None and "expiry_warned_at" in update_fields:
        emit("qualification.expiring", qualification_id=instance.pk)
