"""The database backend: PostgreSQL full text search, or SQLite FTS5, over the analysed terms.

Both store the terms of analysis.analyze() — CJK bigrams and words — never the database's own
parser's: on PostgreSQL as a tsvector literal ('simple' lexemes, name terms weighted A, other text
B, GIN indexed); on SQLite as space-separated terms in the FTS5 table market_search_fts (columns
name and body, 'ascii' tokenizer, rowid = entry id). A query matches the documents holding every
term of one of its variants; ranking is ts_rank / bm25 with the name weighted above the rest,
then the red list (grade A), the credit score, the newest, the name.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Callable, Iterable

from django.db import connection, transaction

from ..analysis import analyze, highlight, highlight_fragments
from ..documents import DERIVED_STATUS, REQUEST, SearchDocument
from ..models import SearchEntry, SearchFacetValue
from .base import Hit, SearchQuery, SearchResult, empty_result, finish_facets

logger = logging.getLogger(__name__)

ENTRY = SearchEntry._meta.db_table
FACET = SearchFacetValue._meta.db_table
FTS = "market_search_fts"
NAME_BODY_GAP = 100  # positions between the name and the other text
MAX_POSITIONS = 16  # positions kept per lexeme
PG_MAX_POSITION = 16383
PG_RANK_WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"  # D C B A: body (B) counts 0.4 of the name (A)
FTS_NAME_WEIGHT, FTS_BODY_WEIGHT = 2.5, 1.0
COLUMN_FACETS = {"status"}  # computed from entry columns (the derived bidding_closed)

FTS_CREATE = f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5(name, body, tokenize = 'ascii')"
PG_GIN_CREATE = f"CREATE INDEX IF NOT EXISTS market_search_entry_vector_gin ON {ENTRY} USING gin (vector)"


def vendor() -> str:
    return connection.vendor


# --- writing ------------------------------------------------------------------------------------


def _pg_quote(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(name: str, body: str) -> str:
    """The tsvector of a document in literal form: name terms at their positions with weight A,
    the other text after a gap with weight B."""
    positions: dict[str, list[str]] = defaultdict(list)
    last = 0
    for tok in analyze(name):
        last = tok.position + 1
        if len(positions[tok.term]) < MAX_POSITIONS:
            positions[tok.term].append(f"{min(last, PG_MAX_POSITION)}A")
    offset = last + NAME_BODY_GAP
    for tok in analyze(body):
        if len(positions[tok.term]) < MAX_POSITIONS:
            positions[tok.term].append(f"{min(offset + tok.position + 1, PG_MAX_POSITION)}B")
    return " ".join(f"{_pg_quote(term)}:{','.join(pos)}" for term, pos in positions.items())


def fts_text(text: str) -> str:
    return " ".join(t.term for t in analyze(text))


def _entry(doc: SearchDocument, *, pg: bool) -> SearchEntry:
    return SearchEntry(
        kind=doc.kind, object_id=doc.object_id, name=doc.name[:255], body=doc.body, url=doc.url[:255], data=doc.data,
        vector=tsvector_literal(doc.name, doc.body) if pg else None, status=doc.status, deadline=doc.deadline,
        grade=doc.grade, red=doc.red, credit_score=doc.credit_score, sort_name=doc.sort_name[:255],
        sort_date=doc.sort_date)


def ensure_fts_table() -> None:
    """The FTS5 table (created by the migration; recreated here if a database lost it)."""
    if vendor() == "sqlite":
        with connection.cursor() as cur:
            cur.execute(FTS_CREATE)


def _delete_entries(kind: str, object_ids: Iterable[int] | None) -> None:
    qs = SearchEntry.objects.filter(kind=kind)
    if object_ids is not None:
        qs = qs.filter(object_id__in=list(object_ids))
    if vendor() == "sqlite":
        ids = list(qs.values_list("id", flat=True))
        with connection.cursor() as cur:
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                cur.execute(f"DELETE FROM {FTS} WHERE rowid IN ({', '.join(['%s'] * len(chunk))})", chunk)
    SearchFacetValue.objects.filter(entry__in=qs).delete()
    qs.delete()


def _insert(docs: list[SearchDocument]) -> None:
    pg = vendor() == "postgresql"
    entries = SearchEntry.objects.bulk_create([_entry(d, pg=pg) for d in docs], batch_size=500)
    if any(e.pk is None for e in entries):  # a database that returns no ids from bulk inserts
        by_key = dict(SearchEntry.objects.filter(kind__in={d.kind for d in docs},
                                                 object_id__in=[d.object_id for d in docs])
                      .values_list("kind", "object_id", "id").iterator())
        for e in entries:
            e.pk = by_key[(e.kind, e.object_id)]
    facets = [SearchFacetValue(entry_id=e.pk, field=name, value=str(value)[:64])
              for e, d in zip(entries, docs) for name, values in d.facets.items() if name not in COLUMN_FACETS
              for value in dict.fromkeys(values)]
    SearchFacetValue.objects.bulk_create(facets, batch_size=2000)
    if vendor() == "sqlite":
        with connection.cursor() as cur:
            ids = [e.pk for e in entries]
            for i in range(0, len(ids), 500):  # rows a flushed (test) database may have left behind
                chunk = ids[i:i + 500]
                cur.execute(f"DELETE FROM {FTS} WHERE rowid IN ({', '.join(['%s'] * len(chunk))})", chunk)
            cur.executemany(f"INSERT INTO {FTS} (rowid, name, body) VALUES (%s, %s, %s)",
                            [(e.pk, fts_text(d.name), fts_text(d.body)) for e, d in zip(entries, docs)])


def index_documents(docs: list[SearchDocument]) -> None:
    """Write (or rewrite) these documents."""
    if not docs:
        return
    ensure_fts_table()
    with transaction.atomic():
        by_kind: dict[str, list[int]] = defaultdict(list)
        for d in docs:
            by_kind[d.kind].append(d.object_id)
        for kind, ids in by_kind.items():
            _delete_entries(kind, ids)
        _insert(docs)


def delete_documents(kind: str, object_ids: Iterable[int]) -> None:
    object_ids = list(object_ids)
    if not object_ids:
        return
    ensure_fts_table()
    with transaction.atomic():
        _delete_entries(kind, object_ids)


def rebuild(kind: str, documents: Iterable[SearchDocument], *, progress: Callable[[int], None] | None = None,
            batch_size: int = 1000) -> int:
    """Replace the whole index of one kind (in one transaction: searches see the old index until it commits)."""
    ensure_fts_table()
    count = 0
    with transaction.atomic():
        _delete_entries(kind, None)
        batch: list[SearchDocument] = []
        for doc in documents:
            batch.append(doc)
            if len(batch) >= batch_size:
                _insert(batch)
                count += len(batch)
                if progress:
                    progress(len(batch))
                batch = []
        if batch:
            _insert(batch)
            count += len(batch)
            if progress:
                progress(len(batch))
    if vendor() == "postgresql":
        with connection.cursor() as cur:
            cur.execute(f"ANALYZE {ENTRY}")
            cur.execute(f"ANALYZE {FACET}")
    return count


# --- searching ----------------------------------------------------------------------------------


def pg_tsquery(query: SearchQuery) -> str:
    """Every term of a variant (&), any variant (|)."""
    return " | ".join("(" + " & ".join(_pg_quote(t) for t in ts) + ")" for _, ts in query.parsed.variants)


def fts5_match(query: SearchQuery) -> str:
    return " OR ".join("(" + " AND ".join('"' + t.replace('"', '""') + '"' for t in ts) + ")"
                       for _, ts in query.parsed.variants)


class _Sql:
    """The FROM and WHERE of a search, with their parameters."""

    def __init__(self, query: SearchQuery):
        self.query = query
        self.pg = vendor() == "postgresql"
        self.text = not query.parsed.is_empty
        self.from_params: list = []
        self.where: list[str] = []
        self.params: list = []
        if self.text and self.pg:
            self.from_sql = f"{ENTRY} e"
            self.where.append("e.vector @@ %s::tsquery")
            self.params.append(pg_tsquery(query))
            self.score_sql = f"ts_rank('{PG_RANK_WEIGHTS}', e.vector, %s::tsquery)"
            self.score_params = [pg_tsquery(query)]
        elif self.text:
            self.from_sql = (f"{ENTRY} e JOIN (SELECT rowid AS rid, -bm25({FTS}, {FTS_NAME_WEIGHT}, {FTS_BODY_WEIGHT}) "
                             f"AS fts_score FROM {FTS} WHERE {FTS} MATCH %s) m ON m.rid = e.id")
            self.from_params = [fts5_match(query)]
            self.score_sql, self.score_params = "m.fts_score", []
        else:
            self.from_sql = f"{ENTRY} e"
            self.score_sql, self.score_params = "0.0", []
        self.where.append(f"e.kind IN ({', '.join(['%s'] * len(query.kinds))})")
        self.params.extend(query.kinds)
        for name, values in query.filters.items():
            self._filter(name, values)

    def _filter(self, name: str, values: tuple[str, ...]) -> None:
        if name == "status":
            ors = []
            for v in values:
                if v == DERIVED_STATUS:
                    ors.append("(e.status = 'published' AND e.deadline <= %s)")
                    self.params.append(self.query.now)
                elif v == "published":
                    ors.append("(e.status = 'published' AND e.deadline > %s)")
                    self.params.append(self.query.now)
                else:
                    ors.append("e.status = %s")
                    self.params.append(v)
            self.where.append(f"e.kind = '{REQUEST}' AND (" + " OR ".join(ors) + ")")
            return
        self.where.append(f"e.id IN (SELECT f.entry_id FROM {FACET} f WHERE f.field = %s "
                          f"AND f.value IN ({', '.join(['%s'] * len(values))}))")
        self.params.extend([name, *values])

    @property
    def all_params(self) -> list:
        return [*self.from_params, *self.params]

    def matched(self) -> str:
        return f"SELECT e.id FROM {self.from_sql} WHERE {' AND '.join(self.where)}"

    def order_by(self) -> str:
        name = 'e.sort_name COLLATE "C"' if self.pg else "e.sort_name"
        sort = self.query.sort
        if sort == "name":
            return f"{name} ASC, e.object_id ASC, e.kind ASC"
        if sort == "grade":
            return (f"CASE WHEN e.grade = '' THEN 1 ELSE 0 END, e.grade ASC, e.credit_score DESC, {name} ASC, "
                    "e.object_id ASC, e.kind ASC")
        if sort == "newest":
            return "e.sort_date DESC NULLS LAST, e.object_id DESC, e.kind ASC"
        return (f"score DESC, e.red DESC, e.credit_score DESC, e.sort_date DESC NULLS LAST, {name} ASC, "
                "e.object_id ASC, e.kind ASC")


def search(query: SearchQuery) -> SearchResult:
    if query.parsed.matches_nothing or not query.kinds:
        return empty_result(query, "database")
    ensure_fts_table()
    sql = _Sql(query)
    with connection.cursor() as cur:
        total, counts = _count_and_facets(cur, sql)
        if query.offset >= total > 0:  # past the last page: show the last page
            query = query.with_page(max(1, (total - 1) // query.page_size + 1))
            sql = _Sql(query)
        rows: list[tuple[int, float]] = []
        if total:
            cur.execute(f"SELECT e.id, {sql.score_sql} AS score FROM {sql.from_sql} WHERE {' AND '.join(sql.where)} "
                        f"ORDER BY {sql.order_by()} LIMIT %s OFFSET %s",
                        [*sql.score_params, *sql.all_params, query.page_size, query.offset])
            rows = [(r[0], float(r[1] or 0.0)) for r in cur.fetchall()]
    entries = SearchEntry.objects.in_bulk([r[0] for r in rows])
    wanted = query.parsed.all_terms
    hits = []
    for entry_id, score in rows:
        e = entries[entry_id]
        hits.append(Hit(kind=e.kind, id=e.object_id, score=score, name=e.name, url=e.url, data=e.data,
                        name_html=highlight(e.name, wanted),
                        fragments=highlight_fragments(e.body, wanted) if wanted else [],
                        status=e.status, deadline=e.deadline, grade=e.grade, red=e.red, credit_score=e.credit_score))
    return SearchResult(hits=hits, total=total, facets=finish_facets(query, counts), page=query.page,
                        page_size=query.page_size, backend="database", query=query)


def _count_and_facets(cur, sql: _Sql) -> tuple[int, dict[str, dict[str, int]]]:
    """The number of matches and the facet counts, in one statement over the matched ids."""
    query = sql.query
    table_facets = [f for f in query.facets if f not in COLUMN_FACETS]
    parts = ["SELECT '', '', COUNT(*) FROM m"]
    params: list = []
    if table_facets:
        parts.append(f"SELECT f.field, f.value, COUNT(*) FROM {FACET} f JOIN m ON f.entry_id = m.id "
                     f"WHERE f.field IN ({', '.join(['%s'] * len(table_facets))}) GROUP BY f.field, f.value")
        params.extend(table_facets)
    if "status" in query.facets:
        parts.append(f"SELECT 'status', CASE WHEN e.status = 'published' AND e.deadline <= %s THEN '{DERIVED_STATUS}' "
                     f"ELSE e.status END AS s, COUNT(*) FROM {ENTRY} e JOIN m ON e.id = m.id "
                     f"WHERE e.kind = '{REQUEST}' GROUP BY s")
        params.append(query.now)
    materialized = "MATERIALIZED " if sql.pg or connection.Database.sqlite_version_info >= (3, 35) else ""
    cur.execute(f"WITH m AS {materialized}({sql.matched()}) " + " UNION ALL ".join(parts), [*sql.all_params, *params])
    total = 0
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for field_name, value, count in cur.fetchall():
        if field_name == "":
            total = int(count)
        else:
            counts[field_name][value] = int(count)
    return total, counts
