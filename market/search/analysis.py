"""Chinese text analysis shared by every search backend.

The database backend (PostgreSQL full text, SQLite FTS5) indexes the terms this module produces,
and the Elasticsearch index is given an analyzer built from the same data, so a document and a
query are cut into the same terms whichever backend answers:

1. **Fold** each character: NFKC compatibility folding for the blocks where Chinese text meets it
   (full-width Latin letters and digits, circled numbers, Kangxi radicals, CJK compatibility
   ideographs, ㎡ and the like), lower case, and traditional → simplified Chinese with the table
   in data/t2s.tsv (環境影響評價 → 环境影响评价). Elasticsearch gets the same table as a
   ``mapping`` char filter, followed by ``cjk_width`` and ``lowercase``.
2. **Tokenize** like Elasticsearch's ``standard`` tokenizer followed by ``cjk_bigram`` (the
   built-in ``cjk`` analyzer): every run of adjacent CJK characters becomes overlapping bigrams
   (环境影响评价 → 环境 境影 影响 响评 评价), a lone CJK character stays a unigram, and other
   text becomes words of letters and digits (ISO9001 → iso9001, GB50300, 1.5).
3. At query time only, **synonyms** from data/synonyms.txt add variants of the query for the
   domain's abbreviations (环评 → 环境影响评价, 安评 → 安全评价 …). A document matches a query when
   it holds every term of at least one variant.
"""

from __future__ import annotations

# bandit: the suppressions below were reviewed — text is HTML-escaped before <mark> tags are added.

import functools
import html
import itertools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from django.utils.safestring import SafeString, mark_safe

DATA_DIR = Path(__file__).resolve().parent / "data"
MAX_TOKEN_LENGTH = 255  # as Elasticsearch's standard tokenizer
MAX_VARIANTS = 16

# Blocks whose NFKC compatibility folding is applied (the same characters on every backend).
NFKC_BLOCKS = (
    (0x00A0, 0x00FF),  # Latin-1: superscript digits, ª º
    (0x2150, 0x218F),  # number forms: Ⅱ → ii
    (0x2460, 0x24FF),  # enclosed alphanumerics: ① → 1
    (0x2E80, 0x2FDF),  # CJK radicals and Kangxi radicals: ⾦ → 金
    (0x3000, 0x303F),  # CJK symbols: 〸 → 十
    (0x3200, 0x33FF),  # enclosed CJK letters, CJK compatibility: ㈱ → (株), ㎡ → m2
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFE30, 0xFE6F),  # CJK compatibility forms, small form variants
    (0xFF00, 0xFFEF),  # half-width and full-width forms: Ａ → a, ０ → 0
)


# --- folding ------------------------------------------------------------------------------------


@functools.cache
def t2s_table() -> dict[str, str]:
    """Traditional → simplified characters (data/t2s.tsv)."""
    table = {}
    with open(DATA_DIR / "t2s.tsv", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#") or not line.strip():
                continue
            trad, simp = line.rstrip("\n").split("\t")
            table[trad] = simp
    return table


def _lower(ch: str) -> str:
    low = ch.lower()
    return low if len(low) == 1 else low[0]  # one code point for one, as Lucene's LowerCaseFilter


@functools.cache
def fold_table() -> dict[str, str]:
    """Every character whose fold is not simply its lower case, with its fold."""
    t2s = t2s_table()

    def finish(text: str) -> str:
        return "".join(t2s.get(c, c) for c in (_lower(c) for c in text))

    table: dict[str, str] = {}
    for low, high in NFKC_BLOCKS:
        for cp in range(low, high + 1):
            ch = chr(cp)
            norm = unicodedata.normalize("NFKC", ch)
            if norm == ch or not norm or any(c.isspace() or unicodedata.combining(c) for c in norm):
                continue
            folded = finish(norm)
            if folded != _lower(ch) and any(c.isalnum() for c in ch + folded):
                table[ch] = folded
    for trad, simp in t2s.items():
        table.setdefault(trad, simp)
    return table


def fold(text: str) -> str:
    """The folded form of the text (what the tokenizer sees)."""
    table = fold_table()
    return "".join(table.get(c) or _lower(c) for c in text)


# --- tokenizing ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Token:
    term: str
    start: int  # offsets into the original text
    end: int
    position: int


_CJK_CLASS = ("\u3005-\u3007\u3021-\u3029\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
              "\uf900-\ufaff\U00020000-\U0003ffff")
_WORD = f"(?:(?![{_CJK_CLASS}])\\w)"
_LETTER = f"(?:(?![{_CJK_CLASS}])[^\\W\\d_])"
# A run of CJK characters, or a word: letters, digits and _ joined as UAX #29 joins them —
# letters across . ' ’ : · (a.b, don't), digits across . ' ’ , ; (3.14, 1,000).
_TOKENS = re.compile(
    f"(?P<cjk>[{_CJK_CLASS}]+)"
    f"|(?P<word>{_WORD}+(?:(?:(?<=[^\\W\\d_])[.'’:·](?={_LETTER})|(?<=\\d)[.'’,;](?=\\d)){_WORD}+)*)"
)


@functools.cache
def _translation() -> tuple[dict[int, str], frozenset[str]]:
    """The fold table for str.translate, and the characters whose fold is longer than one."""
    table = fold_table()
    return {ord(k): v for k, v in table.items()}, frozenset(k for k, v in table.items() if len(v) != 1)


def _fold_with_offsets(text: str) -> tuple[str, list[int] | None]:
    """The folded text and, when its length differs from the original's, the original index of
    each folded character (None: the same index)."""
    translate, multi = _translation()
    folded = text.translate(translate).lower()
    if len(folded) == len(text) and multi.isdisjoint(text):
        return folded, None
    table = fold_table()
    chars, offsets = [], []
    for i, c in enumerate(text):
        for f in (table.get(c) or _lower(c)):
            chars.append(f)
            offsets.append(i)
    return "".join(chars), offsets


def analyze(text: str | None) -> list[Token]:
    """The terms of the text with their offsets in the original and their positions."""
    if not text:
        return []
    folded, offsets = _fold_with_offsets(text)

    def span(start: int, end: int) -> tuple[int, int]:
        return (start, end) if offsets is None else (offsets[start], offsets[end - 1] + 1)

    tokens: list[Token] = []
    pos = 0
    for m in _TOKENS.finditer(folded):
        start, end = m.span()
        if m.lastgroup == "cjk":
            if end - start == 1:
                tokens.append(Token(folded[start], *span(start, end), pos))
                pos += 1
                continue
            for k in range(start, end - 1):
                tokens.append(Token(folded[k:k + 2], *span(k, k + 2), pos))
                pos += 1
        else:
            for k in range(start, end, MAX_TOKEN_LENGTH):
                stop = min(end, k + MAX_TOKEN_LENGTH)
                tokens.append(Token(folded[k:stop], *span(k, stop), pos))
                pos += 1
    return tokens


def terms(text: str | None) -> list[str]:
    return [t.term for t in analyze(text)]


# --- synonyms (query time) ----------------------------------------------------------------------


@dataclass(frozen=True)
class SynonymRule:
    left: tuple[str, ...]
    right: tuple[str, ...]
    equivalent: bool  # "a, b, c" rather than "a => b, c"

    def as_solr(self) -> str:
        if self.equivalent:
            return ", ".join(self.right)
        return f"{', '.join(self.left)} => {', '.join(self.right)}"


@functools.cache
def synonym_rules() -> tuple[SynonymRule, ...]:
    """The rules of data/synonyms.txt, folded."""
    rules = []
    with open(DATA_DIR / "synonyms.txt", encoding="utf-8") as fh:
        for line in fh:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            if "=>" in line:
                left, right = line.split("=>", 1)
                lhs = tuple(fold(t.strip()) for t in left.split(",") if t.strip())
                rhs = tuple(fold(t.strip()) for t in right.split(",") if t.strip())
                rules.append(SynonymRule(lhs, rhs, False))
            else:
                group = tuple(fold(t.strip()) for t in line.split(",") if t.strip())
                rules.append(SynonymRule(group, group, True))
    return tuple(rules)


@functools.cache
def _synonym_index() -> tuple[dict[str, tuple[str, ...]], re.Pattern | None]:
    alternatives: dict[str, list[str]] = {}
    for rule in synonym_rules():
        for term in rule.left:
            alts = alternatives.setdefault(term, [term] if rule.equivalent else [])
            for other in rule.right:
                if other not in alts:
                    alts.append(other)
    if not alternatives:
        return {}, None
    keys = sorted(alternatives, key=lambda k: (-len(k), k))
    return {k: tuple(v) for k, v in alternatives.items()}, re.compile("|".join(re.escape(k) for k in keys))


def expand(query: str) -> list[str]:
    """The folded query and its synonym variants (the query as typed first when it is one)."""
    text = fold(query or "").strip()
    if not text:
        return []
    alternatives, pattern = _synonym_index()
    matches = list(pattern.finditer(text)) if pattern else []
    if not matches:
        return [text]
    pieces: list[tuple[str, ...]] = []
    last = 0
    for m in matches:
        pieces.append((text[last:m.start()],))
        pieces.append(alternatives[m.group(0)])
        last = m.end()
    pieces.append((text[last:],))
    variants: list[str] = []
    for combo in itertools.product(*pieces):
        variant = "".join(combo)
        if variant not in variants:
            variants.append(variant)
        if len(variants) >= MAX_VARIANTS:
            break
    return variants


@dataclass(frozen=True)
class ParsedQuery:
    """A text query: its variants (folded text) and the terms each must match."""

    text: str
    variants: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def is_empty(self) -> bool:
        """No text to match: every document matches."""
        return not self.text.strip()

    @property
    def matches_nothing(self) -> bool:
        """Text with no term (only punctuation): nothing matches, as in Elasticsearch."""
        return not self.is_empty and not self.variants

    @property
    def all_terms(self) -> frozenset[str]:
        return frozenset(t for _, ts in self.variants for t in ts)


def parse_query(query: str | None) -> ParsedQuery:
    variants = []
    seen: set[frozenset[str]] = set()
    for variant in expand(query or ""):
        ts = tuple(dict.fromkeys(terms(variant)))
        if ts and frozenset(ts) not in seen:
            seen.add(frozenset(ts))
            variants.append((variant, ts))
    return ParsedQuery(text=(query or "").strip(), variants=tuple(variants))


# --- highlighting (database backend) ------------------------------------------------------------


def _spans(text: str, wanted: frozenset[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for tok in analyze(text):
        if tok.term in wanted:
            if spans and tok.start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], tok.end))
            else:
                spans.append((tok.start, tok.end))
    return spans


def _marked(text: str, spans: list[tuple[int, int]], start: int, end: int) -> str:
    out, cursor = [], start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(html.escape(text[cursor:s]))
        out.append(f"<mark>{html.escape(text[s:e])}</mark>")
        cursor = e
    out.append(html.escape(text[cursor:end]))
    return "".join(out)


def highlight(text: str, wanted: frozenset[str] | set[str]) -> SafeString:
    """The whole text, escaped, with the matching terms in <mark>."""
    text = text or ""
    return mark_safe(_marked(text, _spans(text, frozenset(wanted)), 0, len(text)))  # nosec B308 B703


def highlight_fragments(text: str, wanted: frozenset[str] | set[str], *, size: int = 80,
                        count: int = 2) -> list[SafeString]:
    """Up to `count` fragments of about `size` characters around the matches, escaped, with the
    matching terms in <mark>; none when nothing matches."""
    text = text or ""
    spans = _spans(text, frozenset(wanted))
    fragments: list[SafeString] = []
    covered = 0
    for s, e in spans:
        if len(fragments) >= count:
            break
        if s < covered:
            continue
        start = max(covered, s - size // 4)
        line_start = text.rfind("\n", start, s)
        if line_start != -1:
            start = line_start + 1
        end = min(len(text), max(start + size, e))
        line_end = text.find("\n", e, end)
        if line_end != -1:
            end = line_end
        body = _marked(text, spans, start, end)
        prefix = "…" if start > 0 and text[start - 1] != "\n" else ""
        suffix = "…" if end < len(text) and text[end] != "\n" else ""
        fragments.append(mark_safe(prefix + body + suffix))  # nosec B308 B703
        covered = end
    return fragments


# --- Elasticsearch analysis settings built from the same data -----------------------------------


def _es_escape(text: str) -> str:
    return "".join(c if c.isalnum() else f"\\u{ord(c):04x}" for c in text)


def es_char_filter_mappings() -> list[str]:
    """The fold table as the rules of a ``mapping`` char filter ("環 => 环", "\\uff21 => a" …)."""
    return [f"{_es_escape(k)} => {_es_escape(v)}" for k, v in sorted(fold_table().items())]


def es_synonym_rules() -> list[str]:
    """The synonym rules in the Solr format of the ``synonym_graph`` filter."""
    return [rule.as_solr() for rule in synonym_rules()]
