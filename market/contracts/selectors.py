"""Reads of contracts, deliveries and evaluations (a contract's payment: market.payments.selectors).

Public: a contract's number, parties, service item, amount, term, dates and status, and published
evaluations. Private to the two parties and regulators: deliverable files, payment details and the
parties' notes. Each list runs a fixed number of queries whatever its length."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, Q, QuerySet
from django.utils import timezone

from market.accounts import permissions
from .models import (EVALUATION_DIMENSIONS, LIVE_CONTRACT_STATUSES, Contract, ContractStatus, DeliveryRound,
                              Evaluation, EvaluationStatus, ExtensionRequest)
from market.accounts.models import Membership, Organization, User
from market.requests.models import ServiceRequest


def contract_list_public(*, status: str | None = None, q: str | None = None) -> QuerySet[Contract]:
    qs = (Contract.objects.select_related("owner", "agency__organization", "service_item", "request")
          .order_by("-drafted_at", "-pk"))
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(request__project_name__icontains=q) | Q(owner__name__icontains=q)
                       | Q(agency__organization__name__icontains=q))
    return qs


def contract_get(*, pk: int) -> Contract | None:
    return (Contract.objects.select_related("owner", "agency__organization", "service_item", "request", "bid")
            .filter(pk=pk).first())


def contract_for_request(*, request: ServiceRequest) -> Contract | None:
    """The standing contract of a request, else its latest (breached, refused…) one."""
    contracts = list(request.contracts.select_related("agency__organization").order_by("-pk"))
    live = [c for c in contracts if c.status in LIVE_CONTRACT_STATUSES]
    return live[0] if live else (contracts[0] if contracts else None)


def contracts_of_request(*, request: ServiceRequest) -> QuerySet[Contract]:
    return request.contracts.select_related("agency__organization").order_by("pk")


def party_sides(user: User, contract: Contract) -> set[str]:
    sides = set()
    if permissions.can_act_for(user, contract.owner):
        sides.add("owner")
    if permissions.can_act_for(user, contract.agency.organization):
        sides.add("agency")
    return sides


def can_see_private(user: User, contract: Contract) -> bool:
    return bool(user and user.is_authenticated) and (bool(party_sides(user, contract)) or permissions.is_regulator(user))


def delivery_rounds(*, contract: Contract) -> QuerySet[DeliveryRound]:
    return contract.delivery_rounds.prefetch_related("files").order_by("number")


def extensions(*, contract: Contract) -> QuerySet[ExtensionRequest]:
    return contract.extensions.order_by("pk")


def user_contracts(*, user: User) -> QuerySet[Contract]:
    """Contracts of every organization (owner or agency) the user belongs to."""
    if not (user and user.is_authenticated):
        return Contract.objects.none()
    org_ids = list(Membership.objects.filter(user=user).values_list("organization_id", flat=True))
    return (Contract.objects.filter(Q(owner_id__in=org_ids) | Q(agency__organization_id__in=org_ids))
            .select_related("owner", "agency__organization", "service_item", "request").order_by("-drafted_at", "-pk"))


def contracts_overdue(*, now: dt.datetime | None = None, organization_ids: list[int] | None = None) -> QuerySet[Contract]:
    """Contracts in service past their (possibly extended) due date — derived from time, no job needed."""
    now = now or timezone.now()
    qs = Contract.objects.filter(status=ContractStatus.IN_SERVICE, due_at__lte=now)
    if organization_ids is not None:
        qs = qs.filter(Q(owner_id__in=organization_ids) | Q(agency__organization_id__in=organization_ids))
    return qs.select_related("owner", "agency__organization", "request").order_by("due_at")


def user_dashboard(*, user: User, now: dt.datetime | None = None) -> dict:
    """What the desk shows: the user's open contracts, the overdue ones, and what awaits the user."""
    now = now or timezone.now()
    mine = list(user_contracts(user=user).exclude(status__in=[ContractStatus.CLOSED, ContractStatus.CANCELLED,
                                                              ContractStatus.REFUSED])[:100])
    org_ids = set(Membership.objects.filter(user=user).values_list("organization_id", flat=True))
    rows = []
    for c in mine:
        side = "owner" if c.owner_id in org_ids else "agency"
        rows.append({"contract": c, "side": side, "overdue": c.is_overdue_at(now),
                     "to_sign": c.status == ContractStatus.DRAFTED
                     and (c.owner_confirmed_at is None if side == "owner" else c.agency_confirmed_at is None),
                     "to_review": c.status == ContractStatus.DELIVERED and side == "owner"})
    overdue_all = None
    if permissions.is_regulator(user):
        overdue_all = list(contracts_overdue(now=now)[:100])
    return {"rows": rows, "overdue": [r for r in rows if r["overdue"]], "overdue_all": overdue_all, "now": now}


# --- evaluations -------------------------------------------------------------------------------------------


def evaluations_public(*, agency) -> QuerySet[Evaluation]:
    """An agency's evaluations for its public page (a hidden one shows its scores, not its comment)."""
    return (Evaluation.objects.filter(agency=agency).select_related("contract", "contract__owner", "contract__service_item")
            .order_by("-submitted_at", "-pk"))


def _q2(value) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def evaluation_summary(agency) -> dict:
    """Averages of an agency's evaluations: {"count", "averages": {dimension: Decimal}, "overall",
    "dimensions": [(name, label, average)], "recent": [Evaluation, …]} — one aggregate query and
    one list query."""
    names = [n for n, _label in EVALUATION_DIMENSIONS]
    agg = Evaluation.objects.filter(agency=agency).aggregate(count=Count("pk"), **{n: Avg(n) for n in names})
    count = agg.pop("count") or 0
    averages = {n: _q2(agg[n]) for n in names}
    overall = _q2(sum(Decimal(str(agg[n])) for n in names) / len(names)) if count else None
    return {
        "count": count, "averages": averages, "overall": overall,
        "dimensions": [(n, label, averages[n]) for n, label in EVALUATION_DIMENSIONS],
        "recent": list(evaluations_public(agency=agency)[:20]),
    }


def evaluation_average(*, agency) -> float | None:
    """The mean of every score (five per evaluation, 1–5) of the agency's evaluations, or None.
    The credit module weighs it into the agency's score."""
    names = [n for n, _label in EVALUATION_DIMENSIONS]
    agg = Evaluation.objects.filter(agency=agency).aggregate(count=Count("pk"), **{n: Avg(n) for n in names})
    if not agg["count"]:
        return None
    return float(sum(Decimal(str(agg[n])) for n in names) / len(names))


def evaluations_for_review() -> QuerySet[Evaluation]:
    """For regulators: the newest evaluations with comments, hidden or not."""
    return (Evaluation.objects.exclude(comment="").select_related("agency__organization", "contract", "contract__owner")
            .order_by("-submitted_at"))


def owner_organizations(user: User) -> list[Organization]:
    if not (user and user.is_authenticated):
        return []
    return list(Organization.objects.filter(memberships__user=user, kind=Organization.Kind.OWNER))


__all__ = [
    "contract_list_public", "contract_get", "contract_for_request", "contracts_of_request", "party_sides",
    "can_see_private", "delivery_rounds", "extensions", "user_contracts", "contracts_overdue", "user_dashboard",
    "evaluations_public", "evaluation_summary", "evaluation_average", "evaluations_for_review", "EvaluationStatus",
]
