"""The database search index and the Elasticsearch outbox.

One SearchEntry per indexed object (an active agency, a published request, an active catalogue
item) with what the result list shows, what filters and sorts need, and its analysed terms.

On PostgreSQL: ``vector`` (a tsvector of every term, in the 'simple' configuration's lexeme
format, GIN indexed) matches, ``name_vector`` (the name's terms) ranks, and ``facet_keys``
("service_item=GD-ZJ-HP-001", "region=440100" …, GIN indexed) filters and counts facets; and
SearchBitmap holds, for each kind, one bitmap over the object ids per facet value and per frequent
term, so that a search matching most of the index costs no pass over its matches (see
backends/bitmaps.py).

On SQLite: the terms are in the FTS5 table ``market_search_fts`` (rowid = entry id) that the
migration creates, and filter and facet values are rows of SearchFacetValue.
"""

from __future__ import annotations

import json

from django.db import models
from django.utils.translation import gettext_lazy as _


class TsVectorField(models.Field):
    """A PostgreSQL tsvector written from its literal form ("'环境':1A '境影':2A …"); plain text
    (and left empty) on other databases."""

    description = "full-text vector"

    def db_type(self, connection):
        return "tsvector" if connection.vendor == "postgresql" else "text"

    def get_placeholder(self, value, compiler, connection):
        return "%s::tsvector" if connection.vendor == "postgresql" else "%s"


class TextArrayField(models.Field):
    """A PostgreSQL text[] (a list in Python); unused, and left empty, on other databases."""

    description = "list of strings"

    def db_type(self, connection):
        return "text[]" if connection.vendor == "postgresql" else "text"

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None:
            return None
        if connection.vendor == "postgresql":
            return list(value)
        return json.dumps(list(value), ensure_ascii=False)

    def from_db_value(self, value, expression, connection):
        if value is None or isinstance(value, list):
            return value
        return json.loads(value)


class VarBitField(models.Field):
    """A PostgreSQL bit varying, written and read as text ("0110…", or "x3fa…" in hex); plain text
    (and unused) on other databases."""

    description = "bit string"

    def db_type(self, connection):
        return "bit varying" if connection.vendor == "postgresql" else "text"

    def get_placeholder(self, value, compiler, connection):
        return "%s::varbit" if connection.vendor == "postgresql" else "%s"


class SearchEntry(models.Model):
    kind = models.CharField(_("kind"), max_length=16)
    object_id = models.BigIntegerField(_("object id"))
    name = models.CharField(_("name"), max_length=255)
    body = models.TextField(_("text"), blank=True)
    url = models.CharField(_("address"), max_length=255, blank=True)
    data = models.JSONField(_("display data"), default=dict, blank=True)
    vector = TsVectorField(null=True, blank=True, editable=False)  # every term: what matches
    name_vector = TsVectorField(null=True, blank=True, editable=False)  # the name's terms: what ranks
    facet_keys = TextArrayField(null=True, blank=True, editable=False)  # "field=value" for filters and facets
    status = models.CharField(_("status"), max_length=16, blank=True)
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    grade = models.CharField(_("credit grade"), max_length=1, blank=True)
    red = models.BooleanField(_("red list"), default=False)
    credit_score = models.SmallIntegerField(_("credit score"), default=0)
    sort_name = models.CharField(max_length=255, blank=True)
    sort_date = models.DateTimeField(null=True, blank=True)
    indexed_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "market_search_entry"
        verbose_name = _("search index entry")
        verbose_name_plural = _("search index entries")
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="search_entry_unique_object")]
        indexes = [
            models.Index(fields=["kind", "red", "credit_score"], name="search_entry_rank"),
            models.Index(fields=["kind", "sort_date"], name="search_entry_date"),
            models.Index(fields=["kind", "sort_name"], name="search_entry_name"),
            models.Index(fields=["kind", "status", "deadline"], name="search_entry_status"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.object_id} {self.name}"


class SearchFacetValue(models.Model):
    entry = models.ForeignKey(SearchEntry, on_delete=models.CASCADE, related_name="facet_values")
    field = models.CharField(max_length=32)
    value = models.CharField(max_length=64)

    class Meta:
        db_table = "market_search_facet"
        constraints = [models.UniqueConstraint(fields=["field", "value", "entry"], name="search_facet_unique")]
        indexes = [models.Index(fields=["entry", "field"], name="search_facet_entry")]

    def __str__(self) -> str:
        return f"{self.entry_id} {self.field}={self.value}"


class SearchBitmap(models.Model):
    """PostgreSQL only: the documents of one kind that have a facet value (field "region", value
    "440100"), whose text holds a frequent term (field "_term") or whose name holds it (field
    "_name"), as a bit string whose bit i is set for object id i. Every bitmap of a kind has the
    same length. Written with the entries (backends/bitmaps.py); empty on other databases."""

    kind = models.CharField(max_length=16)
    field = models.CharField(max_length=32)
    value = models.CharField(max_length=255)
    bits = VarBitField()

    class Meta:
        db_table = "market_search_bitmap"
        constraints = [models.UniqueConstraint(fields=["kind", "field", "value"], name="search_bitmap_unique")]

    def __str__(self) -> str:
        return f"{self.kind} {self.field}={self.value}"


class SearchOutbox(models.Model):
    """An object changed while Elasticsearch could not be reached: index it (or remove it) when it
    can be. The object's current state is read when the row is processed."""

    kind = models.CharField(max_length=16)
    object_id = models.BigIntegerField()
    queued_at = models.DateTimeField(auto_now=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        db_table = "market_search_outbox"
        ordering = ["queued_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="search_outbox_unique_object")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.object_id}"


class SearchState(models.Model):
    """Small persistent markers of the index jobs (the day qualifications were last re-checked)."""

    key = models.CharField(max_length=64, primary_key=True)
    value = models.CharField(max_length=255, blank=True)

    class Meta:
        db_table = "market_search_state"

    def __str__(self) -> str:
        return f"{self.key}={self.value}"
