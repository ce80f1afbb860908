"""PostgreSQL: the index as bitmaps, so that a search costs about the same however many documents
it matches.

Counting facets over the matches, or sorting them, costs a pass over every match when done row by
row: at 100,000 agencies a query matching all of them ("有限公司") took over a second. Here each
kind of document has bitmaps over its object ids (bit i: object id i), one per

- facet value (field "region", value "440100"; every value of every document, request statuses
  included; field "kind", value <kind> holds every indexed document of the kind),
- frequent term ("_term": the documents whose text — name or other — holds it; "_name": those whose
  name holds it). A term is frequent when at least 1 % of the kind's documents (and at least
  MIN_TERM_DOCS) held it at the last rebuild; a term without bitmaps is looked up in the entries
  instead (its documents were few; a term that became frequent since gets bitmaps at the next
  rebuild).

A search reads a few bitmaps (the kind's, its filters', its terms'), combines them in Python (a
variant's terms ANDed, the variants ORed, the filters ANDed) and sends the matches back to count
every facet value in one statement (``bit_count(bits & matches)``: about 260 bitmaps of 12.5 KB at
100,000 agencies; up to COUNT_BY_ROW matches are counted from their entries' facet_keys instead)
and to read the page by walking the sort's index (an index-only scan) until it has met enough
matches — or, for few matches (SPARSE_IDS), by reading them by id. Relevance is the largest share
of a variant's terms that the name holds (1.0: the name holds every term of a variant; 0: none);
it is computed by counting, with bit-sliced counters, the name bitmaps each match is in, so that
the matches of each score form a bitmap and the page is read score by score, each in the static
order (red list, credit score, newest, name). database.py's SQL path computes the same per row.

Writes happen in the transaction that writes the entries, under a per-kind advisory lock: the
document's old keys are read from its entry (facet_keys, status, vector, name_vector), the bits of
the keys it lost are cleared and those of the keys it gained set (market_search_set_bits(), a
PL/pgSQL function of migration 0002); facet bitmaps are created on first use, term bitmaps only by
a rebuild. All bitmaps of a kind have one length (an AND needs equal lengths): when an object id
reaches it, every bitmap of the kind grows by half. The SearchState "bitmaps:<kind>" marks a kind
whose bitmaps are complete; a kind without it (entries written before the bitmaps existed, or an
object id of MAX_ID or more) is searched by the SQL path until they are built (a rebuild,
database.build_bitmaps(), which the sync job runs).
"""

from __future__ import annotations

# bandit: the suppressions below were reviewed — identifiers in SQL here are module constants; every value is a bound parameter.

import logging
import zlib
from array import array
from collections import defaultdict
from fractions import Fraction
from typing import Callable, Iterable, Iterator

from .. import registry
from ..documents import DERIVED_STATUS, OPEN_STATUS
from ..models import SearchBitmap, SearchEntry, SearchState

logger = logging.getLogger("market.search")

BITMAP = SearchBitmap._meta.db_table
ENTRY = SearchEntry._meta.db_table
STATE = SearchState._meta.db_table
TERM, NAME = "_term", "_name"
KIND, STATUS = "kind", "status"
MIN_TERM_DOCS = 100
TERM_SHARE = 100  # a term held by 1/TERM_SHARE of the documents (and MIN_TERM_DOCS) gets bitmaps
MIN_LENGTH = 1024
MAX_ID = 50_000_000  # a kind with a larger object id has no bitmaps (they would weigh 6 MB each)
FACET_KEY_LENGTH = 100  # facet_keys entries ("name=value") are cut to this length
SET_BITS = "market_search_set_bits"
SPARSE_IDS = 4000  # at most this many matches are read by id rather than by walking an index
COUNT_BY_ROW = 1000  # at most this many matches of a kind are counted from their entries
LOCK_CLASS = 0x5EA4C  # pg_advisory_xact_lock(LOCK_CLASS, crc32(kind))

SET_BITS_SQL = f"""
CREATE OR REPLACE FUNCTION {SET_BITS}(bits bit varying, positions integer[], value integer)
RETURNS bit varying LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    p integer;
BEGIN
    FOREACH p IN ARRAY positions LOOP
        bits := set_bit(bits, p, value);
    END LOOP;
    RETURN bits;
END
$$"""

Key = tuple[str, str]  # (field, value)


def ready_key(kind: str) -> str:
    return f"bitmaps:{kind}"


def supported(connection) -> bool:
    """bit_count() is PostgreSQL 14's."""
    return connection.vendor == "postgresql" and connection.pg_version >= 140000


def facet_value(name: str, value: str) -> str:
    """A facet value as facet_keys (and so the bitmaps) hold it."""
    return f"{name}={value}"[:FACET_KEY_LENGTH].partition("=")[2]


def keys_of(kind: str, facet_keys: Iterable[str] | None, status: str, terms: Iterable[str],
            name_terms: Iterable[str]) -> set[Key]:
    """Every bitmap key of a document: its facet keys, its status (kinds whose status follows a
    deadline: requests), its terms."""
    keys: set[Key] = set()
    for key in facet_keys or ():
        name, _, value = key.partition("=")
        keys.add((name, value))
    if status and kind in registry.deadline_kinds():
        keys.add((STATUS, status))
    keys.update((TERM, t) for t in terms)
    keys.update((NAME, t) for t in name_terms)
    return keys


# --- bit strings as Python ints: object id i is bit (length - 1 - i), as a varbit's text reads ------


def from_send(data: bytes | memoryview) -> tuple[int, int]:
    """(the bitmap, its length) from varbit_send() (a 4-byte length, then the bits, first bit highest)."""
    data = bytes(data)
    return int.from_bytes(data[4:], "big"), int.from_bytes(data[:4], "big")


def to_param(bits: int, length: int) -> str:
    """The varbit literal (hex) of a bitmap of `length` bits (a multiple of 4)."""
    return "x" + format(bits, f"0{length // 4}x")


def from_ids(ids: Iterable[int], length: int) -> int:
    buf = bytearray(length // 8)
    for i in ids:
        if 0 <= i < length:
            buf[i >> 3] |= 0x80 >> (i & 7)
    return int.from_bytes(buf, "big")


def ids_of(bits: int, length: int) -> list[int]:
    text = format(bits, f"0{length}b")
    out, i = [], text.find("1")
    while i != -1:
        out.append(i)
        i = text.find("1", i + 1)
    return out


def has(bits: int, length: int, i: int) -> bool:
    return 0 <= i < length and bool((bits >> (length - 1 - i)) & 1)


def _hex_of_ids(ids: Iterable[int], length: int) -> str:
    buf = bytearray(length // 8)
    for i in ids:
        buf[i >> 3] |= 0x80 >> (i & 7)
    return "x" + buf.hex()


def _length_for(max_id: int, current: int = 0) -> int:
    """A length (a multiple of 8) holding object id max_id, with room to grow."""
    need = max(max_id + 1, MIN_LENGTH)
    if current:
        need = max(need, current + current // 2)
    else:
        need = need + need // 4
    return (need + 7) // 8 * 8


# --- state and locking -----------------------------------------------------------------------------


def lock(cur, kind: str) -> None:
    """Serialise the index writes of a kind (bitmaps of a kind must keep one length)."""
    cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_CLASS, zlib.crc32(kind.encode()) & 0x7FFFFFFF])


def ready_kinds(cur, kinds: Iterable[str]) -> set[str]:
    kinds = list(kinds)
    cur.execute(f"SELECT key FROM {STATE} WHERE key = ANY(%s)", [[ready_key(k) for k in kinds]])  # nosec B608
    found = {row[0] for row in cur.fetchall()}
    return {k for k in kinds if ready_key(k) in found}


def mark_ready(cur, kind: str) -> None:
    cur.execute(f"INSERT INTO {STATE} (key, value) VALUES (%s, '1') ON CONFLICT (key) DO UPDATE SET value = '1'",  # nosec B608
                [ready_key(kind)])


def forget(cur, kind: str) -> None:
    """Drop the kind's bitmaps (and its mark): searches use the SQL path until they are built again."""
    cur.execute(f"DELETE FROM {STATE} WHERE key = %s", [ready_key(kind)])  # nosec B608
    cur.execute(f"DELETE FROM {BITMAP} WHERE kind = %s", [kind])  # nosec B608


def start_if_empty(cur, kind: str) -> bool:
    """Whether the kind's bitmaps are maintained; a kind with no entry yet starts with empty ones."""
    if ready_kinds(cur, [kind]):
        return True
    cur.execute(f"SELECT EXISTS (SELECT 1 FROM {ENTRY} WHERE kind = %s)", [kind])  # nosec B608
    if cur.fetchone()[0]:
        return False
    cur.execute(f"DELETE FROM {BITMAP} WHERE kind = %s", [kind])  # nosec B608
    mark_ready(cur, kind)
    return True


def length(cur, kind: str) -> int:
    cur.execute(f"SELECT length(bits) FROM {BITMAP} WHERE kind = %s LIMIT 1", [kind])  # nosec B608
    row = cur.fetchone()
    return int(row[0]) if row else 0


def ensure_function(cur) -> None:
    cur.execute(SET_BITS_SQL)


# --- writing ---------------------------------------------------------------------------------------


def old_keys(cur, kind: str, object_ids: list[int]) -> dict[int, set[Key]]:
    """The bitmap keys of the indexed entries of these objects (what their bits were set for)."""
    out: dict[int, set[Key]] = {}
    for start in range(0, len(object_ids), 1000):
        cur.execute(f"SELECT object_id, facet_keys, status, tsvector_to_array(vector), tsvector_to_array(name_vector) "  # nosec B608
                    f"FROM {ENTRY} WHERE kind = %s AND object_id = ANY(%s)", [kind, object_ids[start:start + 1000]])
        for object_id, facet_keys, status, terms, name_terms in cur.fetchall():
            out[int(object_id)] = keys_of(kind, facet_keys, status, terms or (), name_terms or ())
    return out


def write(cur, kind: str, old: dict[int, set[Key]], new: dict[int, set[Key]]) -> None:
    """Clear the bits of the keys the objects lost, set those of the keys they gained (in the
    transaction that rewrites their entries; the caller holds lock(kind))."""
    clear: dict[Key, list[int]] = defaultdict(list)
    add: dict[Key, list[int]] = defaultdict(list)
    for object_id, keys in old.items():
        for key in keys - new.get(object_id, set()):
            clear[key].append(object_id)
    for object_id, keys in new.items():
        for key in keys - old.get(object_id, set()):
            add[key].append(object_id)
    if not clear and not add:
        return
    current = length(cur, kind)
    if add:
        top = max(i for ids in add.values() for i in ids)
        if top >= MAX_ID:
            logger.warning("search: %s id %s is too large for bitmaps; searching the entries by SQL", kind, top)
            forget(cur, kind)
            return
        if top >= current:
            grown = _length_for(top, current)
            if current:
                cur.execute(f"UPDATE {BITMAP} SET bits = bits || repeat('0', %s)::varbit WHERE kind = %s",  # nosec B608
                            [grown - current, kind])
            current = grown
        facets = [key for key in add if key[0] not in (TERM, NAME)]
        if facets:
            cur.execute(f"INSERT INTO {BITMAP} (kind, field, value, bits) "  # nosec B608
                        f"SELECT %s, k.field, k.value, repeat('0', %s)::varbit "
                        f"FROM unnest(%s::text[], %s::text[]) AS k(field, value) "
                        f"ON CONFLICT (kind, field, value) DO NOTHING",
                        [kind, current, [f for f, _ in facets], [v for _, v in facets]])
    for changes, bit in ((clear, 0), (add, 1)):
        if not changes:
            continue
        items = list(changes.items())
        for start in range(0, len(items), 2000):
            chunk = items[start:start + 2000]
            cur.execute(f"UPDATE {BITMAP} b SET bits = {SET_BITS}(b.bits, x.ids::int[], %s) "  # nosec B608
                        f"FROM unnest(%s::text[], %s::text[], %s::text[]) AS x(field, value, ids) "
                        f"WHERE b.kind = %s AND b.field = x.field AND b.value = x.value",
                        [bit, [f for (f, _), _ in chunk], [v for (_, v), _ in chunk],
                         ["{" + ",".join(map(str, sorted(ids))) + "}" for _, ids in chunk], kind])


class Builder:
    """The bitmaps of a whole kind, built from every document (a rebuild)."""

    def __init__(self, kind: str):
        self.kind = kind
        self.count = 0
        self.max_id = -1
        self.facets: dict[Key, array] = defaultdict(lambda: array("i"))
        self.terms: dict[str, array] = defaultdict(lambda: array("i"))
        self.names: dict[str, array] = defaultdict(lambda: array("i"))

    def add(self, object_id: int, facet_keys: Iterable[str] | None, status: str, terms: Iterable[str],
            name_terms: Iterable[str]) -> None:
        self.count += 1
        self.max_id = max(self.max_id, object_id)
        for key in keys_of(self.kind, facet_keys, status, (), ()):
            self.facets[key].append(object_id)
        for t in set(terms):
            self.terms[t].append(object_id)
        for t in set(name_terms):
            self.names[t].append(object_id)

    def frequent_terms(self) -> list[str]:
        threshold = max(MIN_TERM_DOCS, self.count // TERM_SHARE)
        return sorted(t for t, ids in self.terms.items() if len(ids) >= threshold)

    def rows(self, size: int) -> Iterator[tuple[str, str, str, str]]:
        for (field, value), ids in self.facets.items():
            yield self.kind, field, value, _hex_of_ids(ids, size)
        for t in self.frequent_terms():
            yield self.kind, TERM, t, _hex_of_ids(self.terms[t], size)
            yield self.kind, NAME, t, _hex_of_ids(self.names.get(t, ()), size)

    def finish(self, cur) -> None:
        """Replace the kind's bitmaps (the caller holds lock(kind))."""
        cur.execute(f"DELETE FROM {BITMAP} WHERE kind = %s", [self.kind])  # nosec B608
        if self.max_id >= MAX_ID:
            logger.warning("search: %s id %s is too large for bitmaps; searching the entries by SQL", self.kind,
                           self.max_id)
            forget(cur, self.kind)
            return
        if self.count:
            size = _length_for(self.max_id)
            batch: list[tuple] = []
            for row in self.rows(size):
                batch.append(row)
                if len(batch) >= 200:
                    _insert_rows(cur, batch)
                    batch = []
            if batch:
                _insert_rows(cur, batch)
        mark_ready(cur, self.kind)


def _insert_rows(cur, rows: list[tuple]) -> None:
    cur.execute(f"INSERT INTO {BITMAP} (kind, field, value, bits) "  # nosec B608
                f"SELECT k, f, v, b::varbit FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) AS x(k, f, v, b)",
                [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows]])


def build_from_entries(connection, kind: str) -> int:
    """Build the kind's bitmaps from its entries (after a migration, or when they are missing);
    returns the number of entries read. Runs in the caller's transaction. A kind with an object
    id of MAX_ID or more gets none."""
    builder = Builder(kind)
    with connection.cursor() as cur:
        lock(cur, kind)
        cur.execute(f"SELECT max(object_id) FROM {ENTRY} WHERE kind = %s", [kind])  # nosec B608
        top = cur.fetchone()[0]
        if top is not None and top >= MAX_ID:
            return 0
        cur.execute(f"SELECT object_id, facet_keys, status, tsvector_to_array(vector), tsvector_to_array(name_vector) "  # nosec B608
                    f"FROM {ENTRY} WHERE kind = %s", [kind])
        while True:
            rows = cur.fetchmany(2000)
            if not rows:
                break
            for object_id, facet_keys, status, terms, name_terms in rows:
                builder.add(int(object_id), facet_keys, status, terms or (), name_terms or ())
        builder.finish(cur)
    return builder.count


# --- searching -------------------------------------------------------------------------------------


def tiers(matches: int, variants: Iterable[tuple[str, ...]], names: dict[str, int]) -> list[tuple[Fraction, int]]:
    """The matches grouped by score, best first: a document's score is the largest share of a
    variant's terms that its name holds (`names`: term → the documents whose name holds it).
    Documents whose name holds none score 0."""
    by_score: dict[Fraction, int] = {}
    for terms in variants:
        slices: list[int] = []  # bit-sliced counters: slice j holds bit j of each document's count
        for t in terms:
            carry = names.get(t, 0) & matches
            j = 0
            while carry:
                if j == len(slices):
                    slices.append(carry)
                    break
                slices[j], carry = slices[j] ^ carry, slices[j] & carry
                j += 1
        for count in range(1, min(len(terms), (1 << len(slices)) - 1) + 1):
            docs = matches
            for j, s in enumerate(slices):
                docs = docs & s if (count >> j) & 1 else docs & ~s
                if not docs:
                    break
            if docs:
                score = Fraction(count, len(terms))
                by_score[score] = by_score.get(score, 0) | docs
    out: list[tuple[Fraction, int]] = []
    taken = 0
    for score in sorted(by_score, reverse=True):
        docs = by_score[score] & ~taken
        if docs:
            out.append((score, docs))
            taken |= docs
    rest = matches & ~taken
    if rest:
        out.append((Fraction(0), rest))
    return out


# The columns each sort reads (besides id, kind, object_id), and its order over alias `e` without
# the kind; the index that each walk reads (the migration's) has these columns in this order.
SORT_COLUMNS = {
    "relevance": ("red", "credit_score", "sort_date", "sort_name"),
    "name": ("sort_name",),
    "grade": ("grade", "credit_score", "sort_name"),
    "newest": ("sort_date",),
}


def static_order(sort: str, e: str = "e", *, kind: bool = True) -> str:
    name = f'{e}.sort_name COLLATE "C"'
    if sort == "name":
        order = f"{name} ASC, {e}.object_id ASC"
    elif sort == "grade":
        order = (f"CASE WHEN {e}.grade = '' THEN 1 ELSE 0 END, {e}.grade ASC, {e}.credit_score DESC, {name} ASC, "
                 f"{e}.object_id ASC")
    elif sort == "newest":
        order = f"{e}.sort_date DESC NULLS LAST, {e}.object_id DESC"
    else:
        order = (f"{e}.red DESC, {e}.credit_score DESC, {e}.sort_date DESC NULLS LAST, {name} ASC, "
                 f"{e}.object_id ASC")
    return f"{order}, {e}.kind ASC" if kind else order


class Search:
    """One search over the bitmaps (in the caller's transaction; see search())."""

    def __init__(self, cur, query, tsquery: Callable[[Iterable[tuple[str, ...]]], str]):
        self.cur = cur
        self.query = query
        self.tsquery = tsquery
        self.text = not query.parsed.is_empty
        self.variants = [ts for _, ts in query.parsed.variants]
        self.terms = list(dict.fromkeys(t for ts in self.variants for t in ts))
        self.lengths: dict[str, int] = {}
        self.bitmaps: dict[str, dict[Key, int]] = defaultdict(dict)
        self._closed: dict[str, tuple[int, int]] = {}
        self.matches: dict[str, int] = {}
        self.universe: dict[str, int] = {}

    # reading bitmaps

    def _wanted_keys(self) -> list[Key]:
        keys: list[Key] = []
        for name, values in self.query.filters.items():
            if name == STATUS:
                keys += [(STATUS, OPEN_STATUS if v == DERIVED_STATUS else v) for v in values]
            else:
                keys += [(name, facet_value(name, v)) for v in values]
        keys += [(TERM, t) for t in self.terms]
        if self.text:
            keys += [(NAME, t) for t in self.terms]
        return keys

    def load(self) -> None:
        keys = [(KIND, k) for k in self.query.kinds] + self._wanted_keys()
        keys = list(dict.fromkeys(keys))
        self.cur.execute(f"SELECT b.kind, b.field, b.value, varbit_send(b.bits) FROM {BITMAP} b "  # nosec B608
                         f"JOIN unnest(%s::text[], %s::text[]) AS k(field, value) ON b.field = k.field AND b.value = k.value "
                         f"WHERE b.kind = ANY(%s)",
                         [[f for f, _ in keys], [v for _, v in keys], list(self.query.kinds)])
        for kind, field, value, data in self.cur.fetchall():
            bits, size = from_send(data)
            self.lengths[kind] = size
            self.bitmaps[kind][(field, value)] = bits

    def _closed_sets(self, kind: str) -> tuple[int, int]:
        """The published documents of a kind (requests) whose deadline passed (bidding_closed), and
        those without one."""
        if kind not in self._closed:
            closed, undated = [], []
            self.cur.execute(f"SELECT object_id, deadline IS NULL FROM {ENTRY} WHERE kind = %s "  # nosec B608
                             f"AND status = '{OPEN_STATUS}' AND (deadline <= %s OR deadline IS NULL)",
                             [kind, self.query.now])
            for object_id, no_deadline in self.cur.fetchall():
                (undated if no_deadline else closed).append(int(object_id))
            size = self.lengths.get(kind, 0)
            self._closed[kind] = (from_ids(closed, size), from_ids(undated, size))
        return self._closed[kind]

    def _ids_matching(self, kind: str, variants: list[tuple[str, ...]]) -> list[int]:
        self.cur.execute(f"SELECT object_id FROM {ENTRY} WHERE kind = %s AND vector @@ %s::tsquery",  # nosec B608
                         [kind, self.tsquery(variants)])
        return [int(r[0]) for r in self.cur.fetchall()]

    # matching

    def match(self) -> None:
        deadline_kinds = registry.deadline_kinds()
        for kind in self.query.kinds:
            size = self.lengths.get(kind, 0)
            bitmaps = self.bitmaps[kind]
            universe = bitmaps.get((KIND, kind), 0)
            self.universe[kind] = universe
            found = universe
            for name, values in self.query.filters.items():
                if not found:
                    break
                allowed = 0
                for v in values:
                    if name == STATUS:
                        if kind not in deadline_kinds:
                            continue
                        closed, undated = self._closed_sets(kind)
                        published = bitmaps.get((STATUS, OPEN_STATUS), 0)
                        if v == DERIVED_STATUS:
                            allowed |= closed
                        elif v == OPEN_STATUS:
                            allowed |= published & ~closed & ~undated
                        else:
                            allowed |= bitmaps.get((STATUS, v), 0)
                    else:
                        allowed |= bitmaps.get((name, facet_value(name, v)), 0)
                found &= allowed
            if self.text and found:
                text = 0
                rare = []
                for terms in self.variants:
                    if all((TERM, t) in bitmaps for t in terms):
                        docs = found
                        for t in terms:
                            docs &= bitmaps[(TERM, t)]
                        text |= docs
                    else:
                        rare.append(terms)
                if rare:
                    text |= from_ids(self._ids_matching(kind, rare), size)
                found &= text
            self.matches[kind] = found

    # counting

    def counts(self) -> tuple[int, dict[str, dict[str, int]]]:
        total = 0
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        live = {k: m for k, m in self.matches.items() if m}
        for kind, m in live.items():
            n = m.bit_count()
            total += n
            if KIND in self.query.facets:
                counts[KIND][kind] = n
        fields = [f for f in self.query.facets if f != KIND]
        if live and fields:
            # Few matches: their entries' keys (as the bitmaps were written from them) cost less to
            # read than every facet bitmap.
            few = {k: m for k, m in live.items() if m.bit_count() <= COUNT_BY_ROW}
            many = {k: m for k, m in live.items() if k not in few}
            parts, params = [], []
            if many:
                values = ", ".join(["(%s, %s::varbit)"] * len(many))
                params += [x for k, m in many.items() for x in (k, to_param(m, self.lengths[k]))]
                parts.append(f"SELECT b.field, b.value, bit_count(b.bits & m.bits) FROM {BITMAP} b "  # nosec B608
                             f"JOIN (VALUES {values}) AS m(kind, bits) ON m.kind = b.kind WHERE b.field = ANY(%s)")
                params.append(fields)
            deadline_kinds = registry.deadline_kinds()
            for kind, m in few.items():
                status = (f"|| CASE WHEN e.status <> '' THEN ARRAY['{STATUS}=' || e.status] ELSE '{{}}'::text[] END"
                          if kind in deadline_kinds else "")
                parts.append(f"SELECT split_part(k, '=', 1), substr(k, strpos(k, '=') + 1), count(*) "  # nosec B608
                             f"FROM {ENTRY} e CROSS JOIN LATERAL unnest(COALESCE(e.facet_keys, '{{}}'::text[]) {status}) k "
                             f"WHERE e.kind = %s AND e.object_id = ANY(%s) AND split_part(k, '=', 1) = ANY(%s) "
                             f"GROUP BY k")
                params += [kind, ids_of(m, self.lengths[kind]), fields]
            self.cur.execute(" UNION ALL ".join(parts), params)
            for field, value, n in self.cur.fetchall():
                if n:
                    counts[field][value] = counts[field].get(value, 0) + int(n)
            closing = [k for k in deadline_kinds if k in live] if STATUS in fields else []
            n_closed = sum((live[k] & self._closed_sets(k)[0]).bit_count() for k in closing)
            if n_closed:
                counts[STATUS][DERIVED_STATUS] = n_closed
                left = counts[STATUS].get(OPEN_STATUS, 0) - n_closed
                if left > 0:
                    counts[STATUS][OPEN_STATUS] = left
                else:
                    counts[STATUS].pop(OPEN_STATUS, None)
        return total, counts

    # scoring and the page

    def scored(self) -> list[tuple[float, dict[str, int]]]:
        """The matches as (score, {kind: documents}) groups, best first."""
        if not self.text:
            return [(0.0, self.matches)]
        groups: dict[Fraction, dict[str, int]] = defaultdict(dict)
        for kind, found in self.matches.items():
            if not found:
                continue
            size = self.lengths[kind]
            bitmaps = self.bitmaps[kind]
            names = {t: bitmaps[(NAME, t)] for t in self.terms if (NAME, t) in bitmaps}
            rare = [t for t in self.terms if t not in names]
            if rare:
                limit, params = "", []
                if found.bit_count() <= SPARSE_IDS:
                    limit, params = " AND object_id = ANY(%s)", [ids_of(found, size)]
                self.cur.execute(f"SELECT object_id, tsvector_to_array(name_vector) FROM {ENTRY} "  # nosec B608
                                 f"WHERE kind = %s AND vector @@ %s::tsquery AND name_vector @@ %s::tsquery{limit}",
                                 [kind, self.tsquery([(t,) for t in rare]), self.tsquery([(t,) for t in rare]), *params])
                holders: dict[str, list[int]] = defaultdict(list)
                wanted = set(rare)
                for object_id, name_terms in self.cur.fetchall():
                    for t in wanted.intersection(name_terms or ()):
                        holders[t].append(int(object_id))
                for t in rare:
                    names[t] = from_ids(holders.get(t, ()), size)
            for score, docs in tiers(found, self.variants, names):
                groups[score][kind] = docs
        return [(float(score), groups[score]) for score in sorted(groups, reverse=True)]

    def page(self, groups: list[tuple[float, dict[str, int]]], offset: int, limit: int) -> list[tuple[int, float]]:
        """The entry ids (and scores) of the page: the groups in order, each in the sort's order."""
        sort = self.query.sort
        if sort != "relevance" or not self.text:
            flat: dict[str, int] = defaultdict(int)
            for _, by_kind in groups:
                for kind, docs in by_kind.items():
                    flat[kind] |= docs
            ordered = [(None, dict(flat))]
        else:
            ordered = [(score, by_kind) for score, by_kind in groups]
        columns = ", ".join(f"e.{c}" for c in SORT_COLUMNS[sort])
        parts, params = [], []
        seen = 0
        for number, (_, by_kind) in enumerate(ordered):
            size = sum(d.bit_count() for d in by_kind.values())
            start, stop = max(0, offset - seen), min(size, offset + limit - seen)
            seen += size
            if start >= stop:
                continue
            subs = []
            for kind, docs in by_kind.items():
                n = docs.bit_count()
                if not n:
                    continue
                universe = max(1, self.universe.get(kind, 0).bit_count())
                select = f"SELECT e.id, e.kind, e.object_id, {columns} FROM {ENTRY} e WHERE e.kind = %s"  # nosec B608
                if docs == self.universe.get(kind):  # every document of the kind: the index's own order
                    subs.append(f"({select} ORDER BY {static_order(sort, kind=False)} LIMIT %s)")
                    params += [kind, stop]
                elif n > SPARSE_IDS or stop * universe < 4 * n * n:  # walking the index meets enough soon
                    subs.append(f"({select} AND CASE WHEN e.object_id < %s THEN get_bit(%s::varbit, e.object_id::int) "
                                f"ELSE 0 END = 1 ORDER BY {static_order(sort, kind=False)} LIMIT %s)")
                    params += [kind, self.lengths[kind], to_param(docs, self.lengths[kind]), stop]
                else:
                    subs.append(f"({select} AND e.object_id = ANY(%s))")
                    params += [kind, ids_of(docs, self.lengths[kind])]
            parts.append(f"(SELECT {number} AS grp, u.* FROM ({' UNION ALL '.join(subs)}) u "  # nosec B608
                         f"ORDER BY {static_order(sort, 'u')} LIMIT %s OFFSET %s)")
            params += [stop - start, start]
            if seen >= offset + limit:
                break
        if not parts:
            return []
        self.cur.execute(f"SELECT p.id, p.kind, p.object_id FROM ({' UNION ALL '.join(parts)}) p "  # nosec B608
                         f"ORDER BY p.grp, {static_order(sort, 'p')}", params)
        rows = self.cur.fetchall()
        out = []
        for entry_id, kind, object_id in rows:
            score = 0.0
            if self.text:
                for group_score, by_kind in groups:
                    if has(by_kind.get(kind, 0), self.lengths.get(kind, 0), int(object_id)):
                        score = group_score
                        break
            out.append((int(entry_id), score))
        return out


def searchable(cur, kinds: Iterable[str]) -> bool:
    """Whether every kind has its bitmaps (or no entry at all)."""
    kinds = list(kinds)
    cur.execute(f"SELECT bool_and(EXISTS (SELECT 1 FROM {STATE} WHERE key = 'bitmaps:' || k) "  # nosec B608
                f"OR NOT EXISTS (SELECT 1 FROM {ENTRY} WHERE kind = k)) FROM unnest(%s::text[]) AS k", [kinds])
    return bool(cur.fetchone()[0])


def search(cur, query, *, with_counts: bool, tsquery) -> tuple[int, dict, list[tuple[int, float]]] | None:
    """(total, facet counts, page rows) from the bitmaps, or None when a kind searched has none
    (the caller then uses the SQL path). `tsquery(variants)` writes a tsquery of term tuples."""
    if not searchable(cur, query.kinds):
        return None
    s = Search(cur, query, tsquery)
    s.load()
    s.match()
    if with_counts:
        total, counts = s.counts()
    else:
        total, counts = sum(m.bit_count() for m in s.matches.values()), {}
    offset = query.offset
    if offset >= total > 0:  # past the last page: the last page (the caller notices from the total)
        return total, counts, []
    return total, counts, s.page(s.scored(), offset, query.page_size) if total else []
