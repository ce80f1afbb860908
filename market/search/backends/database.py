"""The database backend: PostgreSQL full text search, or SQLite FTS5, over the analysed terms.

Both store the terms of analysis.analyze() — CJK bigrams and words — never the database's own
parser's: on PostgreSQL as tsvector literals ('simple' lexemes; ``vector`` with every term, GIN
indexed, ``name_vector`` with the name's); on SQLite as space-separated terms in the FTS5 table
market_search_fts (columns name and body, 'ascii' tokenizer, rowid = entry id). A query matches
the documents holding every term of one of its variants.

Relevance is where the words are found: in the name above only in the other text (PostgreSQL: the
largest share of a variant's terms that the name holds — 1.0 when it holds them all; SQLite: bm25
with the name weighted 2.5 and the text 1). At equal relevance the red list (grade A) comes first,
then the higher credit score, the newest, the name.

On PostgreSQL, searches read the bitmaps of backends/bitmaps.py (matches, facet counts and the
page without a pass over the matches); a kind whose bitmaps are not built yet is searched by SQL
over the entries, as SQLite always is: filters and facet counts from the entry's ``facet_keys``
array (GIN indexed for filters, unnested once over the matches for counts) on PostgreSQL, from
SearchFacetValue rows on SQLite. Both PostgreSQL paths give the same hits, scores and counts.
"""

from __future__ import annotations

# bandit: the suppressions below were reviewed — identifiers in SQL here are module constants; every value is a bound parameter.

import hashlib
import json
from collections import defaultdict
from typing import Callable, Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from ..analysis import analyze, highlight, highlight_fragments
from .. import registry
from ..documents import DERIVED_STATUS, OPEN_STATUS, SearchDocument
from ..models import SearchEntry, SearchFacetValue
from . import bitmaps
from .base import Hit, SearchQuery, SearchResult, empty_result, finish_facets

ENTRY = SearchEntry._meta.db_table
FACET = SearchFacetValue._meta.db_table
FTS = "market_search_fts"
MAX_POSITIONS = 16  # positions kept per lexeme of the name
PG_MAX_POSITION = 16383
# For the search transaction only: memory for the one pass over the matches (sort, facet counts),
# and the cost of random reads on SSDs / a cached index, so that the GIN index is preferred to
# reading every row's vector.
PG_LOCAL_SETTINGS = {"work_mem": "64MB", "random_page_cost": "1.1"}
FTS_NAME_WEIGHT, FTS_BODY_WEIGHT = 2.5, 1.0
COLUMN_FACETS = {"status"}  # computed from entry columns (the derived bidding_closed), for registry.deadline_kinds()

FTS_CREATE = f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5(name, body, tokenize = 'ascii')"


def vendor() -> str:
    return connection.vendor


def _placeholders(values) -> str:
    """Placeholders of an IN (…) list; NULL (which nothing equals) for none."""
    return ", ".join(["%s"] * len(values)) or "NULL"


# --- the count cache ------------------------------------------------------------------------------
# Totals and facet counts cost a pass over every match; like Elasticsearch's request cache they are
# cached per query and dropped whenever the index changes (every write bumps the generation).
# The page of hits is always read fresh.

GENERATION_KEY = "market.search:generation"


def counts_ttl() -> int:
    return int(getattr(settings, "SEARCH_COUNTS_CACHE_SECONDS", 60))


def generation() -> int:
    value = cache.get(GENERATION_KEY)
    if value is None:
        cache.add(GENERATION_KEY, 1, None)
        value = cache.get(GENERATION_KEY) or 1
    return int(value)


def bump_generation() -> None:
    """The index changed: cached counts are stale."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, 2, None)


def _counts_key(query: SearchQuery) -> str:
    parts = [vendor(), generation(), query.kinds, sorted(query.filters.items()), query.parsed.variants,
             sorted(query.facets)]
    if "status" in query.facets or "status" in query.filters:  # published vs bidding_closed follows the clock
        parts.append(int(query.now.timestamp()) // 60)
    return "market.search:counts:" + hashlib.sha256(repr(parts).encode()).hexdigest()


# --- writing ------------------------------------------------------------------------------------


def _pg_quote(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def _name_literal(tokens) -> str:
    positions: dict[str, list[str]] = defaultdict(list)
    for tok in tokens:
        if len(positions[tok.term]) < MAX_POSITIONS:
            positions[tok.term].append(str(min(tok.position + 1, PG_MAX_POSITION)))
    return " ".join(f"{_pg_quote(term)}:{','.join(pos)}" for term, pos in positions.items())


def facet_keys(doc: SearchDocument) -> list[str]:
    keys = [f"{name}={value}"[:bitmaps.FACET_KEY_LENGTH] for name, values in doc.facets.items()
            if name not in COLUMN_FACETS for value in values]
    return list(dict.fromkeys(keys))


def _terms(name_tokens, body: str) -> list[str]:
    """What ``vector`` holds: every distinct term of the name and the other text, without positions
    (nothing searches phrases; the score reads name_vector), to keep rows small."""
    terms = dict.fromkeys(t.term for t in name_tokens)
    terms.update(dict.fromkeys(t.term for t in analyze(body)))
    return list(terms)


def fts_text(text: str) -> str:
    return " ".join(t.term for t in analyze(text))


class _Row:
    """A document as the PostgreSQL index writes it: its entry and its bitmap keys."""

    def __init__(self, doc: SearchDocument):
        name_tokens = analyze(doc.name)
        self.doc = doc
        self.terms = _terms(name_tokens, doc.body)
        self.name_terms = list(dict.fromkeys(t.term for t in name_tokens))
        self.facet_keys = facet_keys(doc)
        self.entry = SearchEntry(
            kind=doc.kind, object_id=doc.object_id, name=doc.name[:255], body=doc.body, url=doc.url[:255],
            data=doc.data, vector=" ".join(_pg_quote(t) for t in self.terms), name_vector=_name_literal(name_tokens),
            facet_keys=self.facet_keys, status=doc.status, deadline=doc.deadline, grade=doc.grade, red=doc.red,
            credit_score=doc.credit_score, sort_name=doc.sort_name[:255], sort_date=doc.sort_date)

    def keys(self) -> set:
        return bitmaps.keys_of(self.doc.kind, self.facet_keys, self.doc.status, self.terms, self.name_terms)


def _entry(doc: SearchDocument, *, pg: bool) -> SearchEntry:
    if pg:
        return _Row(doc).entry
    return SearchEntry(
        kind=doc.kind, object_id=doc.object_id, name=doc.name[:255], body=doc.body, url=doc.url[:255], data=doc.data,
        status=doc.status, deadline=doc.deadline,
        grade=doc.grade, red=doc.red, credit_score=doc.credit_score, sort_name=doc.sort_name[:255],
        sort_date=doc.sort_date)


def ensure_fts_table() -> None:
    """The FTS5 table (created by the migration; recreated here if a database lost it)."""
    if vendor() == "sqlite":
        with connection.cursor() as cur:
            cur.execute(FTS_CREATE)


def _delete_entries(kind: str, object_ids: Iterable[int] | None) -> None:
    """Remove the entries (and their FTS rows and facet rows) of these objects, or of every object of the kind."""
    ids = None if object_ids is None else list(object_ids)
    chunks = [None] if ids is None else [ids[i:i + 500] for i in range(0, len(ids), 500)]
    with connection.cursor() as cur:
        for chunk in chunks:
            where, params = "kind = %s", [kind]
            if chunk is not None:
                if not chunk:
                    continue
                where += f" AND object_id IN ({', '.join(['%s'] * len(chunk))})"
                params += chunk
            if vendor() == "sqlite":
                cur.execute(f"DELETE FROM {FTS} WHERE rowid IN (SELECT id FROM {ENTRY} WHERE {where})", params)  # nosec B608
                cur.execute(f"DELETE FROM {FACET} WHERE entry_id IN (SELECT id FROM {ENTRY} WHERE {where})", params)  # nosec B608
            cur.execute(f"DELETE FROM {ENTRY} WHERE {where}", params)  # nosec B608


def _insert(docs: list[SearchDocument]) -> list[_Row]:
    """Write the entries of these documents (none of them indexed); on PostgreSQL returns their rows
    (for the bitmaps)."""
    pg = vendor() == "postgresql"
    if pg:
        rows = [_Row(d) for d in docs]
        SearchEntry.objects.bulk_create([r.entry for r in rows], batch_size=500)
        return rows
    entries = SearchEntry.objects.bulk_create([_entry(d, pg=pg) for d in docs], batch_size=500)
    if any(e.pk is None for e in entries):  # a database that returns no ids from bulk inserts
        by_key = {(k, o): i for k, o, i in SearchEntry.objects.filter(
            kind__in={d.kind for d in docs}, object_id__in=[d.object_id for d in docs]).values_list("kind", "object_id", "id")}
        for e in entries:
            e.pk = by_key[(e.kind, e.object_id)]
    SearchFacetValue.objects.bulk_create([
        SearchFacetValue(entry_id=e.pk, field=name, value=str(value)[:64])
        for e, d in zip(entries, docs) for name, values in d.facets.items() if name not in COLUMN_FACETS
        for value in dict.fromkeys(values)], batch_size=2000)
    with connection.cursor() as cur:
        ids = [e.pk for e in entries]
        for i in range(0, len(ids), 500):  # rows a flushed (test) database may have left behind
            chunk = ids[i:i + 500]
            cur.execute(f"DELETE FROM {FTS} WHERE rowid IN ({', '.join(['%s'] * len(chunk))})", chunk)  # nosec B608
        cur.executemany(f"INSERT INTO {FTS} (rowid, name, body) VALUES (%s, %s, %s)",  # nosec B608
                        [(e.pk, fts_text(d.name), fts_text(d.body)) for e, d in zip(entries, docs)])
    return []


def _bitmapped() -> bool:
    return bitmaps.supported(connection)


def _write(kind: str, object_ids: list[int], docs: list[SearchDocument]) -> None:
    """Replace the entries of these objects of one kind by `docs` (possibly none), and their bits."""
    with connection.cursor() as cur:
        maintained = False
        old = {}
        if _bitmapped():
            bitmaps.lock(cur, kind)
            maintained = bitmaps.start_if_empty(cur, kind)
            if maintained:
                old = bitmaps.old_keys(cur, kind, object_ids)
        _delete_entries(kind, object_ids)
        rows = _insert(docs) if docs else []
        if maintained:
            bitmaps.write(cur, kind, old, {r.doc.object_id: r.keys() for r in rows})


def index_documents(docs: list[SearchDocument]) -> None:
    """Write (or rewrite) these documents."""
    if not docs:
        return
    ensure_fts_table()
    with transaction.atomic():
        by_kind: dict[str, list[SearchDocument]] = defaultdict(list)
        for d in docs:
            by_kind[d.kind].append(d)
        for kind in sorted(by_kind):  # one order of the kinds' locks
            _write(kind, [d.object_id for d in by_kind[kind]], by_kind[kind])
    bump_generation()


def delete_documents(kind: str, object_ids: Iterable[int]) -> None:
    object_ids = list(object_ids)
    if not object_ids:
        return
    ensure_fts_table()
    with transaction.atomic():
        _write(kind, object_ids, [])
    bump_generation()


def rebuild(kind: str, documents: Iterable[SearchDocument], *, progress: Callable[[int], None] | None = None,
            batch_size: int = 1000) -> int:
    """Replace the whole index of one kind (in one transaction: searches see the old index until it commits)."""
    ensure_fts_table()
    count = 0
    builder = bitmaps.Builder(kind) if _bitmapped() else None
    with transaction.atomic():
        if builder is not None:
            with connection.cursor() as cur:
                bitmaps.lock(cur, kind)
        _delete_entries(kind, None)
        batch: list[SearchDocument] = []

        def flush():
            nonlocal count, batch
            rows = _insert(batch)
            if builder is not None:
                for r in rows:
                    builder.add(r.doc.object_id, r.facet_keys, r.doc.status, r.terms, r.name_terms)
            count += len(batch)
            if progress:
                progress(len(batch))
            batch = []

        for doc in documents:
            batch.append(doc)
            if len(batch) >= batch_size:
                flush()
        if batch:
            flush()
        if builder is not None:
            with connection.cursor() as cur:
                builder.finish(cur)
    bump_generation()
    if vendor() == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cur:
            cur.execute(f"ANALYZE {ENTRY}")
            cur.execute(f"ANALYZE {bitmaps.BITMAP}")
    return count


def build_bitmaps(kinds: Iterable[str] | None = None) -> dict[str, int]:
    """PostgreSQL: build the bitmaps of the kinds that have none from their entries (entries
    written before the bitmaps existed); returns the entries read per kind built."""
    if not _bitmapped():
        return {}
    kinds = list(kinds or registry.kinds())
    done = {}
    with transaction.atomic():
        with connection.cursor() as cur:
            ready = bitmaps.ready_kinds(cur, kinds)
            wanted = [k for k in kinds if k not in ready]
            if wanted:
                bitmaps.ensure_function(cur)
        for kind in wanted:
            done[kind] = bitmaps.build_from_entries(connection, kind)
    if done:
        bump_generation()
    return done


# --- searching ----------------------------------------------------------------------------------


def pg_tsquery(query: SearchQuery) -> str:
    """Every term of a variant (&), any variant (|)."""
    return tsquery_of(ts for _, ts in query.parsed.variants)


def tsquery_of(variants: Iterable[tuple[str, ...]]) -> str:
    return " | ".join("(" + " & ".join(_pg_quote(t) for t in ts) + ")" for ts in variants)


def pg_name_score(query: SearchQuery, e: str = "e") -> tuple[str, list]:
    """The relevance of a row: the largest share of a variant's terms that its name holds (as
    bitmaps.tiers() computes it)."""
    parts, params = [], []
    for _, ts in query.parsed.variants:
        held = " + ".join([f"({e}.name_vector @@ %s::tsquery)::int"] * len(ts))
        parts.append(f"({held})::float8 / {len(ts)}")
        params.extend(_pg_quote(t) for t in ts)
    return f"COALESCE(GREATEST({', '.join(parts)}), 0.0)", params


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
            tsquery = pg_tsquery(query)
            self.from_sql = f"{ENTRY} e"
            self.where.append("e.vector @@ %s::tsquery")
            self.params.append(tsquery)
            self.score_sql, self.score_params = pg_name_score(query)
        elif self.text:
            self.from_sql = (f"{ENTRY} e JOIN (SELECT rowid AS rid, -bm25({FTS}, {FTS_NAME_WEIGHT}, {FTS_BODY_WEIGHT}) "  # nosec B608
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
            kinds = registry.deadline_kinds()
            ors, params = [], []
            for v in values:
                if v == DERIVED_STATUS:
                    ors.append(f"(e.status = '{OPEN_STATUS}' AND e.deadline <= %s)")
                    params.append(self.query.now)
                elif v == OPEN_STATUS:
                    ors.append(f"(e.status = '{OPEN_STATUS}' AND e.deadline > %s)")
                    params.append(self.query.now)
                else:
                    ors.append("e.status = %s")
                    params.append(v)
            self.where.append(f"e.kind IN ({_placeholders(kinds)}) AND (" + " OR ".join(ors) + ")")
            self.params.extend([*kinds, *params])
        elif self.pg:
            self.where.append("e.facet_keys && %s::text[]")
            self.params.append([f"{name}={v}"[:bitmaps.FACET_KEY_LENGTH] for v in values])
        else:
            self.where.append(f"e.id IN (SELECT f.entry_id FROM {FACET} f WHERE f.field = %s "  # nosec B608
                              f"AND f.value IN ({', '.join(['%s'] * len(values))}))")
            self.params.extend([name, *values])

    @property
    def all_params(self) -> list:
        return [*self.from_params, *self.params]

    @property
    def where_sql(self) -> str:
        return " AND ".join(self.where)

    def order_by(self, e: str = "e") -> str:
        """The ORDER BY of the sort, over the columns of alias `e` (and the score)."""
        name = f'{e}.sort_name COLLATE "C"' if self.pg else f"{e}.sort_name"
        score = f"{e}.score" if e != "e" else "score"
        sort = self.query.sort
        if sort == "name":
            return f"{name} ASC, {e}.object_id ASC, {e}.kind ASC"
        if sort == "grade":
            return (f"CASE WHEN {e}.grade = '' THEN 1 ELSE 0 END, {e}.grade ASC, {e}.credit_score DESC, {name} ASC, "
                    f"{e}.object_id ASC, {e}.kind ASC")
        if sort == "newest":
            return f"{e}.sort_date DESC NULLS LAST, {e}.object_id DESC, {e}.kind ASC"
        return (f"{score} DESC, {e}.red DESC, {e}.credit_score DESC, {e}.sort_date DESC NULLS LAST, {name} ASC, "
                f"{e}.object_id ASC, {e}.kind ASC")


def search(query: SearchQuery) -> SearchResult:
    if query.parsed.matches_nothing or not query.kinds:
        return empty_result(query, "database")
    ensure_fts_table()
    key = _counts_key(query)
    cached = cache.get(key) if counts_ttl() > 0 else None
    pg = vendor() == "postgresql"
    # One snapshot for every statement of the search (counts, page and entries agree).
    snapshot = pg and not connection.in_atomic_block and connection.get_autocommit()
    with transaction.atomic(), connection.cursor() as cur:
        if snapshot:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        if pg:
            for name, value in PG_LOCAL_SETTINGS.items():
                cur.execute(f"SET LOCAL {name} = '{value}'")
        total, counts, rows = _run(cur, query, with_counts=cached is None)
        if cached is not None:
            total, counts = cached
        if query.offset >= total > 0:  # past the last page: show the last page
            query = query.with_page(max(1, (total - 1) // query.page_size + 1))
            rows = []
        if total and not rows:
            _, _, rows = _run(cur, query, with_counts=False)
        entries = SearchEntry.objects.defer("vector", "name_vector", "facet_keys").in_bulk([r[0] for r in rows])
    if cached is None and counts_ttl() > 0:
        cache.set(key, (total, dict(counts)), counts_ttl())
    wanted = query.parsed.all_terms
    hits = []
    for entry_id, score in rows:
        e = entries.get(entry_id)
        if e is None:
            continue
        hits.append(Hit(kind=e.kind, id=e.object_id, score=score, name=e.name, url=e.url, data=e.data,
                        name_html=highlight(e.name, wanted),
                        fragments=highlight_fragments(e.body, wanted) if wanted else [],
                        status=e.status, deadline=e.deadline, grade=e.grade, red=e.red, credit_score=e.credit_score))
    return SearchResult(hits=hits, total=total, facets=finish_facets(query, counts), page=query.page,
                        page_size=query.page_size, backend="database", query=query)


def _run(cur, query: SearchQuery, *, with_counts: bool):
    """(total, counts, page rows): from the bitmaps when the kinds have them (PostgreSQL), by SQL
    over the entries otherwise. Without counts, the total may be 0 and the rows are the page's."""
    if _bitmapped():
        found = bitmaps.search(cur, query, with_counts=with_counts, tsquery=tsquery_of)
        if found is not None:
            return found
    sql = _Sql(query)
    return (_search_pg if sql.pg else _search_sqlite)(cur, sql, with_counts=with_counts)


def _page(cur, sql: _Sql) -> list[tuple[int, float]]:
    query = sql.query
    cur.execute(f"SELECT e.id, {sql.score_sql} AS score FROM {sql.from_sql} WHERE {sql.where_sql} "  # nosec B608
                f"ORDER BY {sql.order_by()} LIMIT %s OFFSET %s",
                [*sql.score_params, *sql.all_params, query.page_size, query.offset])
    return [(r[0], float(r[1] or 0.0)) for r in cur.fetchall()]


def _search_sqlite(cur, sql: _Sql, *, with_counts: bool):
    if not with_counts:
        return 0, {}, _page(cur, sql)
    total, counts = _count_and_facets_sqlite(cur, sql)
    rows = _page(cur, sql) if total and sql.query.offset < total else []
    return total, counts, rows


TOTAL_KEY = "#"


def _search_pg(cur, sql: _Sql, *, with_counts: bool):
    """One pass over the matches: they are gathered once (with their score, sort keys and facet
    keys), then counted — each match's facet keys unnested, plus a key counting the match and its
    status by the deadline — and sorted for the page. Without counts: the page alone."""
    query = sql.query
    if not with_counts:
        return 0, {}, _page(cur, sql)
    extra, params = [f"'{TOTAL_KEY}'"], []
    if "status" in query.facets:
        extra.append(f"CASE WHEN NOT (m.kind = ANY(%s)) THEN NULL WHEN m.status = '{OPEN_STATUS}' AND m.deadline <= %s "
                     f"THEN 'status={DERIVED_STATUS}' ELSE 'status=' || m.status END")
        params += [list(registry.deadline_kinds()), query.now]
    keys = "ARRAY[" + ", ".join(extra) + "]::text[]"
    if [f for f in query.facets if f not in COLUMN_FACETS]:
        keys = f"COALESCE(m.facet_keys, '{{}}'::text[]) || {keys}"
    cur.execute(
        f"WITH m AS MATERIALIZED (SELECT e.id, {sql.score_sql} AS score, e.kind, e.object_id, e.status, e.deadline, "  # nosec B608
        f"e.grade, e.red, e.credit_score, e.sort_name, e.sort_date, e.facet_keys "
        f"FROM {sql.from_sql} WHERE {sql.where_sql}) "
        f"SELECT k, COUNT(*), NULL FROM m CROSS JOIN LATERAL unnest({keys}) k WHERE k IS NOT NULL GROUP BY k "
        f"UNION ALL "
        f"SELECT NULL, NULL, (SELECT json_agg(json_build_array(p.id, p.score) ORDER BY {sql.order_by('p')})::text "
        f"FROM (SELECT * FROM m e ORDER BY {sql.order_by('e')} LIMIT %s OFFSET %s) p)",
        [*sql.score_params, *sql.all_params, *params, query.page_size, query.offset])
    wanted = set(query.facets)
    total = 0
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    rows: list[tuple[int, float]] = []
    for key, count, page in cur.fetchall():
        if key is None:
            rows = [(int(i), float(score or 0.0)) for i, score in json.loads(page or "[]")]
        elif key == TOTAL_KEY:
            total = int(count)
        else:
            name, _, value = key.partition("=")
            if name in wanted:
                counts[name][value] = int(count)
    return total, counts, rows


def _count_and_facets_sqlite(cur, sql: _Sql) -> tuple[int, dict[str, dict[str, int]]]:
    """The number of matches and the facet counts, in one statement over the matched ids."""
    query = sql.query
    table_facets = [f for f in query.facets if f not in COLUMN_FACETS]
    parts = ["SELECT '', '', COUNT(*) FROM m"]
    params: list = []
    if table_facets:
        parts.append(f"SELECT f.field, f.value, COUNT(*) FROM {FACET} f JOIN m ON f.entry_id = m.id "  # nosec B608
                     f"WHERE f.field IN ({', '.join(['%s'] * len(table_facets))}) GROUP BY f.field, f.value")
        params.extend(table_facets)
    if "status" in query.facets:
        kinds = registry.deadline_kinds()
        parts.append(f"SELECT 'status', CASE WHEN e.status = '{OPEN_STATUS}' AND e.deadline <= %s THEN '{DERIVED_STATUS}' "  # nosec B608
                     f"ELSE e.status END AS s, COUNT(*) FROM {ENTRY} e JOIN m ON e.id = m.id "
                     f"WHERE e.kind IN ({_placeholders(kinds)}) GROUP BY s")
        params += [query.now, *kinds]
    materialized = "MATERIALIZED " if connection.Database.sqlite_version_info >= (3, 35) else ""
    cur.execute(f"WITH m AS {materialized}(SELECT e.id FROM {sql.from_sql} WHERE {sql.where_sql}) "  # nosec B608
                + " UNION ALL ".join(parts), [*sql.all_params, *params])
    total = 0
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for field_name, value, count in cur.fetchall():
        if field_name == "":
            total = int(count)
        else:
            counts[field_name][value] = int(count)
    return total, counts
