"""The catalogue items an agency offers, with its fee quote and commitment for each."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from market.accounts.models import User
from market.catalogue.models import PricingMode, ServiceItem
from market.core.audit import audit_record, snapshot

from ..models import Agency, AgencyServiceItem
from .editing import lock_for_edit


def agency_item_set(*, actor: User, agency: Agency, service_item: ServiceItem, fee_quote: str,
                    fee_quote_fen: int | None = None, commitment: str = "") -> AgencyServiceItem:
    """Offer a catalogue item (or change the offer) with the agency's fee quote and commitment."""
    errors: dict[str, list[str]] = {}
    if service_item is None or not service_item.is_active:
        errors["service_item"] = [_("Choose an item of the current catalogue.")]
    if not (fee_quote or "").strip():
        errors["fee_quote"] = [_("Describe the fee you charge for this item.")]
    if fee_quote_fen is not None:
        if fee_quote_fen < 0:
            errors["fee_quote_fen"] = [_("A fee cannot be negative.")]
        elif (service_item is not None and service_item.pricing_mode != PricingMode.MARKET
              and service_item.fee_cap_fen is not None and fee_quote_fen > service_item.fee_cap_fen):
            errors["fee_quote_fen"] = [_("The fee is above the government cap of ¥%(cap)s for this item.")
                                       % {"cap": service_item.fee_cap_yuan}]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = lock_for_edit(actor=actor, agency=agency)
        existing = AgencyServiceItem.objects.filter(agency=locked, service_item=service_item).first()
        before = snapshot(existing, ("fee_quote", "fee_quote_fen", "commitment")) if existing else None
        offer, _created = AgencyServiceItem.objects.update_or_create(
            agency=locked, service_item=service_item,
            defaults={"fee_quote": fee_quote.strip()[:255], "fee_quote_fen": fee_quote_fen,
                      "commitment": (commitment or "").strip()})
        audit_record(actor=actor, action="agency.item_set", obj=locked, before=before,
                     after={"service_item": service_item.code, **snapshot(offer, ("fee_quote", "fee_quote_fen", "commitment"))})
    return offer


def agency_item_remove(*, actor: User, offered_item: AgencyServiceItem) -> None:
    with transaction.atomic():
        locked = lock_for_edit(actor=actor, agency=offered_item.agency)
        audit_record(actor=actor, action="agency.item_remove", obj=locked,
                     before={"service_item": offered_item.service_item.code, "fee_quote": offered_item.fee_quote})
        offered_item.delete()

