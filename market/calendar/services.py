"""Writes of the official calendar: the public holidays and adjusted workdays regulators enter, and
the years they declare complete. Periods already started keep the end they were given.

Only regulators write the calendar (each function checks it first). Each function is keyword-only, runs in one transaction and writes its audit event.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from market.accounts.models import User
from market.accounts.permissions import require_regulator
from market.calendar.models import CalendarDay, HolidayYear
from market.core.audit import audit_record, snapshot


def calendar_day_set(*, actor: User, day: dt.date, kind: str, name: str = "") -> CalendarDay:
    """Enter a public holiday on a weekday or an adjusted workday on a weekend. Periods already
    started keep the end they were given."""
    require_regulator(actor)
    errors: dict[str, list[str]] = {}
    if kind not in CalendarDay.Kind.values:
        errors["kind"] = [_("Choose public holiday or adjusted workday.")]
    elif kind == CalendarDay.Kind.HOLIDAY and day.weekday() >= 5:
        errors["day"] = [_("%(date)s is a weekend day, already a day off; enter only holidays on weekdays.")
                         % {"date": day.isoformat()}]
    elif kind == CalendarDay.Kind.WORKDAY and day.weekday() < 5:
        errors["day"] = [_("%(date)s is a weekday, already a workday; enter only adjusted workdays on weekends.")
                         % {"date": day.isoformat()}]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        existing = CalendarDay.objects.filter(date=day).first()
        before = snapshot(existing, ("kind", "name")) if existing else None
        row, _created = CalendarDay.objects.update_or_create(date=day, defaults={"kind": kind, "name": (name or "").strip()[:64]})
        audit_record(actor=actor, action="calendar.day_set", obj=row, before=before, after=snapshot(row, ("kind", "name")))
    return row


def calendar_day_delete(*, actor: User, day: dt.date) -> None:
    require_regulator(actor)
    with transaction.atomic():
        row = CalendarDay.objects.filter(date=day).first()
        if row is None:
            raise ValidationError(_("%(date)s has no entry.") % {"date": day.isoformat()})
        audit_record(actor=actor, action="calendar.day_delete", obj=row, before=snapshot(row, ("kind", "name")))
        row.delete()


def holiday_year_confirm(*, actor: User, year: int) -> HolidayYear:
    """Declare that a year's holidays and adjusted workdays have all been entered (ends the warning)."""
    require_regulator(actor)
    if not 2000 <= int(year) <= 2100:
        raise ValidationError({"year": [_("Enter a year between 2000 and 2100.")]})
    with transaction.atomic():
        row, created = HolidayYear.objects.get_or_create(year=int(year), defaults={"source": "manual"})
        if created:
            audit_record(actor=actor, action="calendar.year_confirm", obj=row,
                         after={"year": row.year, "days": CalendarDay.objects.filter(date__year=row.year).count()})
    return row


def holiday_year_withdraw(*, actor: User, year: int) -> None:
    require_regulator(actor)
    with transaction.atomic():
        row = HolidayYear.objects.filter(year=int(year)).first()
        if row is None:
            raise ValidationError(_("%(year)s is not marked as entered.") % {"year": year})
        audit_record(actor=actor, action="calendar.year_withdraw", obj=row, before={"year": row.year, "source": row.source})
        row.delete()
