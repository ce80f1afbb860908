"""Working days on China's official calendar: weekends, public holidays and adjusted workdays.

The table (CalendarDay) holds only the exceptions to Monday–Friday. It is seeded from the
chinese-calendar package for the years it knows; regulators enter later years. For a year with
no entry (HolidayYear) the calendar falls back to weekends only, and the regulators' dashboard warns.
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from market.calendar.models import CalendarDay, HolidayYear

logger = logging.getLogger(__name__)
CN_TZ = ZoneInfo("Asia/Shanghai")


def _exceptions(start: dt.date, end: dt.date) -> dict[dt.date, str]:
    return dict(CalendarDay.objects.filter(date__gte=start, date__lte=end).values_list("date", "kind"))


def is_working_day(day: dt.date, exceptions: dict[dt.date, str] | None = None) -> bool:
    if exceptions is None:
        exceptions = _exceptions(day, day)
    kind = exceptions.get(day)
    if kind == CalendarDay.Kind.HOLIDAY:
        return False
    if kind == CalendarDay.Kind.WORKDAY:
        return True
    return day.weekday() < 5


def add_working_days(start: dt.datetime, days: int) -> dt.datetime:
    """The moment `days` full working days after `start` have passed: midnight (Beijing time)
    after the last of them. The day of `start` itself does not count."""
    local_start = timezone.localtime(start, CN_TZ).date()
    horizon = local_start + dt.timedelta(days=days * 3 + 30)
    exceptions = _exceptions(local_start, horizon)
    day, counted = local_start, 0
    while counted < days:
        day += dt.timedelta(days=1)
        if day > horizon:  # extremely long holidays: widen the window
            horizon = day + dt.timedelta(days=60)
            exceptions.update(_exceptions(day, horizon))
        if is_working_day(day, exceptions):
            counted += 1
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=CN_TZ)


def period_end(start: dt.datetime, *, working_days: int, override_seconds: int = 0) -> dt.datetime:
    """End of a publicity period: working days on the official calendar, or (for demos and
    tests) a number of seconds when the override setting is non-zero."""
    if override_seconds:
        return start + dt.timedelta(seconds=override_seconds)
    return add_working_days(start, working_days)


def years_missing_holidays(*, around: dt.date | None = None) -> list[int]:
    """The current and next year, if their holidays have not been entered."""
    today = around or timezone.localdate()
    wanted = {today.year, today.year + 1}
    known = set(HolidayYear.objects.filter(year__in=wanted).values_list("year", flat=True))
    return sorted(wanted - known)


def calendar_seed_from_package() -> int:
    """Load holidays and adjusted workdays from chinese-calendar for every year it knows."""
    try:
        import chinese_calendar
    except ImportError:  # pragma: no cover - it is in requirements.txt
        logger.warning("chinese-calendar is not installed; the calendar counts weekends only")
        return 0
    rows: dict[dt.date, tuple[str, str]] = {}
    for day, name in chinese_calendar.holidays.items():
        if day.weekday() < 5:
            rows[day] = (CalendarDay.Kind.HOLIDAY, str(getattr(name, "value", name) or ""))
    for day, name in chinese_calendar.workdays.items():
        if day.weekday() >= 5:
            rows[day] = (CalendarDay.Kind.WORKDAY, str(getattr(name, "value", name) or ""))
    years = {d.year for d in chinese_calendar.holidays}
    with transaction.atomic():
        existing = set(CalendarDay.objects.filter(date__in=list(rows)).values_list("date", flat=True))
        CalendarDay.objects.bulk_create(
            [CalendarDay(date=d, kind=k, name=n[:64]) for d, (k, n) in rows.items() if d not in existing]
        )
        known = set(HolidayYear.objects.values_list("year", flat=True))
        HolidayYear.objects.bulk_create([HolidayYear(year=y, source="chinese-calendar") for y in sorted(years - known)])
    return len(rows)
