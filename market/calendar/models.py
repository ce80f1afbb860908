"""China's official calendar: holidays and adjusted workdays."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CalendarDay(models.Model):
    """An exception to the Monday–Friday week on China's official calendar: a public holiday
    on a weekday, or an adjusted workday (调休上班) on a weekend."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("public holiday")
        WORKDAY = "workday", _("adjusted workday")

    date = models.DateField(_("date"), primary_key=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=64, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}"


class HolidayYear(models.Model):
    """A year whose holidays and adjusted workdays have been entered (by the package or a regulator)."""

    year = models.PositiveIntegerField(_("year"), primary_key=True)
    source = models.CharField(_("source"), max_length=32, default="manual")
    entered_at = models.DateTimeField(_("entered at"), auto_now_add=True)

    class Meta:
        ordering = ["year"]
        verbose_name = _("holiday year")
        verbose_name_plural = _("holiday years")

    def __str__(self) -> str:
        return str(self.year)
