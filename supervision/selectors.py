"""Reads of supervision: the regulators' dashboard figures, aggregated in SQL with a constant number
of queries whatever the volume, and the lists of warnings, complaints and inspection plans."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (Avg, Count, DurationField, ExpressionWrapper, F, FilteredRelation, IntegerField, Max, Min,
                              OuterRef, Q, QuerySet, Subquery, Sum)
from django.db.models.functions import Coalesce, Substr, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency, AgencyStatus
from bids.models import Bid, BidStatus, SelectionRun
from credit.rules import GRADE_THRESHOLDS
from market.core.money import fen_to_yuan
from market.accounts.models import Region
from market.contracts.models import Contract, ContractStatus
from market.requests.models import RequestStatus, ServiceRequest

from .draw import PROCEDURE
from .models import Complaint, InspectionPlan, PlanStatus, RiskWarning

S = RequestStatus
AWARDED_STATUSES = [S.AWARDED, S.CONTRACTED, S.IN_SERVICE, S.DELIVERED, S.ACCEPTED, S.CLOSED]
# Rounds whose selection has run: a result, an award and what follows, or a failed round.
CONCLUDED_STATUSES = [S.PUBLICITY, *AWARDED_STATUSES, S.FAILED]
COLORS = ("#1565c0", "#2e7d32", "#b71c1c", "#f9a825", "#6a1b9a")
ITEMS_SHOWN = 20


@dataclass
class Column:
    key: str
    label: Any
    kind: str = "int"  # int | fen | pct | days | text | date
    on_page: bool = True  # False: in the CSV only (keeps the table beside the chart narrow)


@dataclass
class Figure:
    """One dashboard figure: its table (columns and rows, also the CSV) and the chart drawn from it."""

    key: str
    title: Any
    description: Any
    columns: list[Column]
    rows: list[dict]
    label_key: str
    series: list[tuple[str, Any]]  # (column key, legend label) of the bars
    unit: Any = ""
    notes: list[Any] = field(default_factory=list)
    display_limit: int | None = None  # rows shown on the page (the CSV has them all)
    stacked: bool = False  # the series add up (awarded price + savings = budget)

    @property
    def display_rows(self) -> list[dict]:
        return self.rows if self.display_limit is None else self.rows[: self.display_limit]

    @property
    def page_columns(self) -> list[Column]:
        return [c for c in self.columns if c.on_page]

    def formatted_rows(self) -> list[list[tuple[str, bool]]]:
        """Each cell of the page's table as (text, is a number)."""
        columns = self.page_columns
        return [[(format_value(row.get(c.key), c.kind), c.kind != "text") for c in columns] for row in self.display_rows]

    def csv_rows(self) -> list[list[Any]]:
        return [[csv_value(row.get(c.key), c.kind) for c in self.columns] for row in self.rows]


def format_value(value, kind: str) -> str:
    if value is None or value == "":
        return "—"
    if kind == "fen":
        return fen_to_yuan(int(value))
    if kind == "pct":
        return f"{value:.1f}%"
    if kind == "days":
        return f"{value:.1f}"
    if kind == "date":
        return timezone.localtime(value).strftime("%Y-%m-%d") if isinstance(value, dt.datetime) else str(value)
    if kind == "int":
        return f"{int(value):,}"
    return str(value)


def csv_value(value, kind: str):
    if value is None:
        return ""
    if kind == "fen":  # yuan with two decimals, no separators
        value = int(value)
        return f"{'-' if value < 0 else ''}{abs(value) // 100}.{abs(value) % 100:02d}"
    if kind in ("pct", "days"):
        return f"{value:.1f}"
    if kind == "date":
        return timezone.localtime(value).strftime("%Y-%m-%d") if isinstance(value, dt.datetime) else str(value)
    return value


def _pct(part, whole) -> float | None:
    return round(part * 100 / whole, 1) if whole else None


def _days(duration: dt.timedelta | None) -> float | None:
    return round(duration.total_seconds() / 86400, 1) if duration is not None else None


# --- requests, amounts and savings, by month, region and service item -------------------------------------------


def _requests_grouped(*fields: str, **group) -> QuerySet:
    """Published requests grouped by `fields` and the annotations `group`, with the award figures of
    the standing selection result (one LEFT JOIN on the selected run; a request has at most one)."""
    awarded = Q(status__in=AWARDED_STATUSES, awarded_at__isnull=False, sel__winner__isnull=False)
    return (ServiceRequest.objects.filter(published_at__isnull=False).exclude(status=S.DRAFT)
            .annotate(sel=FilteredRelation("selection_runs", condition=Q(selection_runs__outcome=SelectionRun.Outcome.SELECTED)))
            .annotate(**group).values(*fields, *group)
            .annotate(requests=Count("id"), budget=Sum("budget_fen"),
                      awarded=Count("id", filter=awarded), awarded_budget=Sum("budget_fen", filter=awarded),
                      awarded_amount=Sum("sel__winner__price_fen", filter=awarded),
                      failed=Count("id", filter=Q(status=S.FAILED)),
                      concluded=Count("id", filter=Q(status__in=CONCLUDED_STATUSES)))
            .order_by(*fields, *group))


def _amount_row(row: dict) -> dict:
    budget, amount = row.get("awarded_budget") or 0, row.get("awarded_amount") or 0
    return {**row, "budget": row.get("budget") or 0, "awarded_budget": budget, "awarded_amount": amount,
            "savings": budget - amount, "savings_pct": _pct(budget - amount, budget),
            "failed_pct": _pct(row.get("failed") or 0, row.get("concluded") or 0)}


AMOUNT_COLUMNS = [
    Column("requests", _("requests published")),
    Column("budget", _("budget of published requests (yuan)"), "fen", on_page=False),
    Column("awarded", _("awarded")), Column("awarded_budget", _("budget (yuan)"), "fen"),
    Column("awarded_amount", _("awarded price (yuan)"), "fen"), Column("savings", _("savings (yuan)"), "fen"),
    Column("savings_pct", _("savings rate"), "pct"),
]
# Stacked: each bar is the budget of the awarded requests, split into the awarded price and the savings.
AMOUNT_SERIES = [("awarded_amount", _("awarded price")), ("savings", _("savings"))]
SAVINGS_NOTE = _("Each bar is the budget of the awarded requests: awarded price + savings. Savings = budget − awarded "
                 "price; the awarded price is the winning bid's price.")


def figure_by_month(month_rows: list[dict]) -> Figure:
    rows = [{**_amount_row(r), "label": r["month"].strftime("%Y-%m") if r["month"] else "—"} for r in month_rows]
    return Figure("month", _("Requests, amounts and savings by month"), _("By month of publication."),
                  [Column("label", _("month"), "text"), *AMOUNT_COLUMNS], rows, "label", AMOUNT_SERIES, _("yuan"),
                  [SAVINGS_NOTE], stacked=True)


def figure_failed(month_rows: list[dict]) -> Figure:
    rows = [{**_amount_row(r), "label": r["month"].strftime("%Y-%m") if r["month"] else "—"} for r in month_rows]
    return Figure("failed", _("Share of failed rounds"),
                  _("Rounds whose selection has run, by month of publication: how many failed (流标)."),
                  [Column("label", _("month"), "text"), Column("concluded", _("rounds concluded")),
                   Column("failed", _("failed rounds")), Column("failed_pct", _("share failed"), "pct")],
                  rows, "label", [("failed_pct", _("share failed"))], "%")


def figure_by_region(region_rows: list[dict], names: dict[str, str]) -> Figure:
    rows = []
    for r in region_rows:
        code = f"{r['prefecture']}00" if r["prefecture"] else ""
        rows.append({**_amount_row(r), "code": code, "label": names.get(code, code or "—")})
    return Figure("region", _("Requests, amounts and savings by prefecture"), _("By the request's region (prefecture)."),
                  [Column("code", _("code"), "text", on_page=False), Column("label", _("prefecture"), "text"), *AMOUNT_COLUMNS],
                  rows, "label", AMOUNT_SERIES, _("yuan"), [SAVINGS_NOTE], stacked=True)


def figure_by_item(item_rows: list[dict]) -> Figure:
    rows = [{**_amount_row(r), "code": r["service_item__code"], "label": r["service_item__name"]} for r in item_rows]
    rows.sort(key=lambda r: (-r["requests"], r["code"]))
    notes = [SAVINGS_NOTE]
    if len(rows) > ITEMS_SHOWN:
        notes.append(_("The page shows the %(n)d items with the most requests; the CSV lists all %(all)d.")
                     % {"n": ITEMS_SHOWN, "all": len(rows)})
    return Figure("item", _("Requests, amounts and savings by service item"), _("By the requested service item."),
                  [Column("code", _("code"), "text", on_page=False), Column("label", _("service item"), "text"), *AMOUNT_COLUMNS],
                  rows, "label", AMOUNT_SERIES, _("yuan"), notes, display_limit=ITEMS_SHOWN, stacked=True)


# --- bidders per request, time to award, grades, overdue contracts ------------------------------------------------


def figure_bidders(now: dt.datetime) -> Figure:
    count = (Bid.objects.filter(request_id=OuterRef("pk"), status=BidStatus.ACTIVE).order_by().values("request_id")
             .annotate(c=Count("id")).values("c"))
    rows = list(ServiceRequest.objects.filter(published_at__isnull=False, bid_deadline__lte=now)
                .exclude(status__in=[S.DRAFT, S.CANCELLED])
                .annotate(bidders=Coalesce(Subquery(count, output_field=IntegerField()), 0))
                .values("bidders").annotate(requests=Count("id")).order_by("bidders"))
    total = sum(r["requests"] for r in rows)
    mean = sum(r["bidders"] * r["requests"] for r in rows) / total if total else None
    for r in rows:
        r["label"] = str(r["bidders"])
        r["share"] = _pct(r["requests"], total)
    notes = [_("Average: %(m).2f bidders per request over %(n)d requests.") % {"m": mean, "n": total}] if total else []
    return Figure("bidders", _("Bidders per request"), _("Requests whose bidding has closed, by their number of valid bids."),
                  [Column("bidders", _("bidders")), Column("requests", _("requests")), Column("share", _("share"), "pct")],
                  rows, "label", [("requests", _("requests"))], _("requests"), notes)


def figure_time_to_award() -> Figure:
    duration = ExpressionWrapper(F("awarded_at") - F("published_at"), output_field=DurationField())
    rows = list(ServiceRequest.objects.filter(awarded_at__isnull=False, published_at__isnull=False)
                .annotate(month=TruncMonth("awarded_at"), took=duration).values("month")
                .annotate(awards=Count("id"), mean=Avg("took"), shortest=Min("took"), longest=Max("took"))
                .order_by("month"))
    out = []
    for r in rows:
        out.append({"label": r["month"].strftime("%Y-%m") if r["month"] else "—", "awards": r["awards"],
                    "mean_days": _days(r["mean"]), "shortest_days": _days(r["shortest"]),
                    "longest_days": _days(r["longest"])})
    return Figure("time-to-award", _("Time from publication to award"), _("Days, by month of award."),
                  [Column("label", _("month"), "text"), Column("awards", _("awards")),
                   Column("mean_days", _("average (days)"), "days"), Column("shortest_days", _("shortest (days)"), "days"),
                   Column("longest_days", _("longest (days)"), "days")],
                  out, "label", [("mean_days", _("average days"))], _("days"))


def figure_grades() -> Figure:
    counts = dict(Agency.objects.filter(status=AgencyStatus.ACTIVE).order_by().values("credit_grade").annotate(n=Count("id"))
                  .values_list("credit_grade", "n"))
    total = sum(counts.values())
    grades = [g for g, _floor in GRADE_THRESHOLDS]
    rows = [{"label": g, "agencies": counts.get(g, 0), "share": _pct(counts.get(g, 0), total)}
            for g in grades + sorted(set(counts) - set(grades))]
    return Figure("grades", _("Credit grades of active agencies"), _("Active agencies by credit grade."),
                  [Column("label", _("grade"), "text"), Column("agencies", _("agencies")), Column("share", _("share"), "pct")],
                  rows, "label", [("agencies", _("agencies"))], _("agencies"))


OVERDUE_BUCKETS = [(10, _("up to 10 days")), (30, _("11–30 days")), (90, _("31–90 days")), (None, _("over 90 days"))]


def figure_overdue(now: dt.datetime) -> tuple[Figure, Figure]:
    """Contracts in service past their due date: by how long overdue (chart) and the list."""

    contracts = list(Contract.objects.filter(status=ContractStatus.IN_SERVICE, due_at__lte=now).order_by("due_at", "pk")
                     .values("pk", "number", "request_id", "request__project_name", "agency__organization__name",
                             "owner__name", "due_at", "amount_fen"))
    buckets = {str(label): 0 for _limit, label in OVERDUE_BUCKETS}
    rows = []
    for c in contracts:
        days = (now - c["due_at"]).total_seconds() / 86400
        label = next(str(lbl) for limit, lbl in OVERDUE_BUCKETS if limit is None or days <= limit)
        buckets[label] += 1
        rows.append({"number": c["number"], "request_id": c["request_id"], "project": c["request__project_name"],
                     "agency": c["agency__organization__name"], "owner": c["owner__name"], "due_at": c["due_at"],
                     "days": round(days, 1), "amount_fen": c["amount_fen"]})
    summary = Figure("overdue", _("Overdue contracts"), _("Contracts in service past their due date, by days overdue."),
                     [Column("label", _("overdue"), "text"), Column("contracts", _("contracts"))],
                     [{"label": k, "contracts": v} for k, v in buckets.items()], "label",
                     [("contracts", _("contracts"))], _("contracts"),
                     [_("%(n)d contracts overdue.") % {"n": len(contracts)}])
    listing = Figure("overdue-list", _("Overdue contracts, oldest first"), "",
                     [Column("number", _("contract"), "text"), Column("project", _("project"), "text"),
                      Column("agency", _("agency"), "text"), Column("owner", _("project owner"), "text"),
                      Column("due_at", _("due"), "date"), Column("days", _("days overdue"), "days"),
                      Column("amount_fen", _("amount (yuan)"), "fen")], rows, "number", [],
                     notes=[_("The page shows the 100 oldest; the CSV lists them all.")] if len(rows) > 100 else [],
                     display_limit=100)
    return summary, listing


def dashboard(*, now: dt.datetime | None = None) -> dict[str, Figure]:
    """Every figure of the dashboard, in 9 queries."""
    now = now or timezone.now()
    month_rows = list(_requests_grouped(month=TruncMonth("published_at")))
    region_rows = list(_requests_grouped(prefecture=Substr("region_id", 1, 4)))
    item_rows = list(_requests_grouped("service_item__code", "service_item__name"))
    codes = [f"{r['prefecture']}00" for r in region_rows if r["prefecture"]]
    names = dict(Region.objects.filter(code__in=codes).values_list("code", "name"))
    overdue, overdue_list = figure_overdue(now)
    figures = [figure_by_month(month_rows), figure_by_region(region_rows, names), figure_by_item(item_rows),
               figure_bidders(now), figure_time_to_award(), figure_failed(month_rows), figure_grades(), overdue,
               overdue_list]
    return {f.key: f for f in figures}


FIGURE_KEYS = ["month", "region", "item", "bidders", "time-to-award", "failed", "grades", "overdue", "overdue-list"]


# --- lists ---------------------------------------------------------------------------------------------------------


def warnings_list(*, status: str | None = None, rule: str | None = None, current_only: bool = False) -> QuerySet:
    qs = RiskWarning.objects.prefetch_related("agencies__organization").select_related("decided_by")
    if status:
        qs = qs.filter(status=status)
    if rule:
        qs = qs.filter(rule=rule)
    if current_only:
        qs = qs.filter(current=True)
    return qs


def complaints_public() -> QuerySet:
    """What the public list shows: never the complainant or the grounds."""
    return Complaint.objects.only("pk", "number", "subject_type", "subject_label", "status", "lodged_at", "accepted_at",
                                  "rejected_at", "decided_at", "outcome", "decision", "accept_by", "decide_by")


def complaints_queue() -> QuerySet:
    return Complaint.objects.select_related("complainant", "handled_by").order_by("status", "accept_by", "pk")


def complaint_counts() -> dict[str, int]:
    return dict(Complaint.objects.values("status").annotate(n=Count("id")).values_list("status", "n"))


def plans_public() -> QuerySet:
    return InspectionPlan.objects.exclude(status=PlanStatus.DRAFT).order_by("-published_at", "-pk")


def plan_published(plan: InspectionPlan) -> dict:
    """What a plan publishes: before the draw the procedure, parameters and commitment; after it
    also the secret, seed, tickets and assignments; and every result entered."""

    data = dict(plan.result) if plan.result else {"procedure": PROCEDURE, "parameters": plan.parameters,
                                                   "commitment": plan.commitment}
    data["plan_id"], data["status"] = plan.pk, plan.status
    data["results"] = [
        {"agency_id": i.agency_id, "agency": i.agency.organization.name, "rank": i.rank, "outcome": i.outcome,
         "recorded_at": i.recorded_at.isoformat() if i.recorded_at else None, "findings": i.findings}
        for i in plan.inspections.select_related("agency__organization").order_by("rank")]
    return data


__all__ = ["Figure", "Column", "dashboard", "FIGURE_KEYS", "COLORS", "warnings_list", "complaints_public",
           "complaints_queue", "complaint_counts", "plans_public", "plan_published"]
