"""May this agency act, and why not? The agency side of the answer (status and qualifications);
the credit module adds bans on top (credit.selectors.agency_standing)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable

from django.utils.translation import gettext as _

from .models import Agency, AgencyStatus


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str

    def __str__(self) -> str:
        return self.message


def status_refusal(agency: Agency) -> Refusal | None:
    """`agency` is an Agency or any object with its `status` and `status_reason`."""
    if agency.status == AgencyStatus.ACTIVE:
        return None
    if agency.status == AgencyStatus.SUSPENDED:
        return Refusal("suspended", _("The agency is suspended: %(reason)s") % {"reason": agency.status_reason or "—"})
    if agency.status == AgencyStatus.BANNED:
        return Refusal("banned", _("The agency is banned."))
    return Refusal("not_active", _("The agency's registration is not active (status: %(status)s).")
                   % {"status": AgencyStatus(agency.status).label})


def qualification_refusal(*, agency: Agency, required_type_ids: Iterable[int], on: dt.date,
                          qualifications: Iterable | None = None) -> Refusal | None:
    """The agency must hold a certificate valid on `on` of at least one of the required types.

    `qualifications`: the agency's certificates if the caller loaded them in bulk (else
    `agency.qualifications`, which may be prefetched). An empty requirement always passes."""
    required = set(required_type_ids)
    if not required:
        return None
    source = agency.qualifications.all() if qualifications is None else qualifications
    held = [q for q in source if q.qualification_type_id in required]
    if any(q.is_valid_on(on) for q in held):
        return None
    if held:
        latest = max(held, key=lambda q: q.valid_to)
        return Refusal("qualification_expired",
                       _("The required qualification “%(name)s” (certificate %(number)s) expired on %(date)s.")
                       % {"name": latest.qualification_type.name, "number": latest.certificate_number,
                          "date": latest.valid_to.isoformat()})
    return Refusal("qualification_missing", _("The agency holds none of the qualifications this request requires."))
