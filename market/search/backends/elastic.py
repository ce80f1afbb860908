"""The Elasticsearch backend, built with elasticsearch-dsl (``elasticsearch.dsl`` in the 8.x client).

One index per kind behind an alias (``<prefix>-agency``, ``<prefix>-request``, ``<prefix>-item``);
a rebuild fills a new index ``<alias>-<timestamp>`` and swaps the alias to it in one atomic call,
so searches never see a missing or half-built index. An index template for ``<alias>-*`` carries
the same settings and mapping, so an index created any other way gets them too.

The analyzers are the database backend's analysis (analysis.py) in Elasticsearch's terms:
``zh_fold`` (a mapping char filter with the fold table: NFKC compatibility folding and traditional
→ simplified) → ``standard`` tokenizer → ``cjk_width`` → ``lowercase`` → ``cjk_bigram``; the search
analyzer adds ``zh_synonyms`` (a synonym_graph filter with data/synonyms.txt). The query builder
also sends every synonym variant of the query as its own clause, exactly the variants the
database backend matches, so both backends find the same documents.
"""

from __future__ import annotations

# bandit: the suppressions below were reviewed — Elasticsearch highlights with encoder=html (escaped).

import datetime as dt
import functools
import logging
from typing import Callable, Iterable

from django.conf import settings
from django.utils import timezone
from django.utils.safestring import mark_safe
from elasticsearch import Elasticsearch, helpers
from elasticsearch.dsl import (A, Boolean, Date, Document, Integer, Keyword, Long, Object, Q, Search, Text, analyzer,
                               char_filter, token_filter)

from .. import analysis, registry
from ..documents import DERIVED_STATUS, OPEN_STATUS, SearchDocument
from .base import FACET_SIZE, Hit, SearchQuery, SearchResult, empty_result, finish_facets

logger = logging.getLogger(__name__)

NAME_BOOST = 2.5  # a name match adds 2.5 × its score: the name counts above the other text
HIGHLIGHT_FRAGMENT_SIZE = 80
INDEX_SETTINGS = {"number_of_shards": 1, "number_of_replicas": 0}

zh_fold = char_filter("zh_fold", "mapping", mappings=analysis.es_char_filter_mappings())
zh_synonyms = token_filter("zh_synonyms", "synonym_graph", synonyms=analysis.es_synonym_rules())
zh_index = analyzer("zh_index", tokenizer="standard", char_filter=[zh_fold],
                    filter=["cjk_width", "lowercase", "cjk_bigram"])
zh_search = analyzer("zh_search", tokenizer="standard", char_filter=[zh_fold],
                     filter=["cjk_width", "lowercase", "cjk_bigram", zh_synonyms])


def _text(**kwargs) -> Text:
    return Text(analyzer=zh_index, search_analyzer=zh_search, **kwargs)


class SearchDocumentBase(Document):
    """The fields every kind has (so that sorting and filtering across kinds never meets an
    unmapped field)."""

    kind = Keyword()
    object_id = Long()
    name = _text(copy_to="all_text")
    body = _text(copy_to="all_text")
    all_text = _text()
    url = Keyword(index=False)
    data = Object(enabled=False)
    service_item = Keyword()
    region = Keyword()
    status = Keyword()
    deadline = Date()
    grade = Keyword()
    red = Boolean()
    credit_score = Integer()
    sort_name = Keyword()
    sort_date = Date()


COMMON_FIELDS = ("service_item", "region", "status", "grade")


@functools.lru_cache(maxsize=64)
def _document_class(kind: str, fields: tuple[str, ...]) -> type[SearchDocumentBase]:
    index = type("Index", (), {"name": f"market-{kind}", "settings": INDEX_SETTINGS})
    attrs = {name: Keyword() for name in fields}
    return type(f"{kind.title().replace('_', '')}Document", (SearchDocumentBase,), {**attrs, "Index": index})


def document_class(kind: str) -> type[SearchDocumentBase]:
    """The dsl Document of a registered kind: the common fields, and a keyword field for each
    other facet its type declares (agency: qualification, agency_type; request: method …)."""
    fields = tuple(f for f in registry.document_type(kind).facet_names if f not in COMMON_FIELDS)
    return _document_class(kind, fields)


def es_document(doc: SearchDocument) -> SearchDocumentBase:
    """The Elasticsearch document of a SearchDocument (id: the object's primary key)."""
    cls = document_class(doc.kind)
    values = {
        "kind": doc.kind, "object_id": doc.object_id, "name": doc.name, "body": doc.body, "url": doc.url,
        "data": doc.data, "status": doc.status or None, "deadline": doc.deadline, "grade": doc.grade or None,
        "red": doc.red, "credit_score": doc.credit_score, "sort_name": doc.sort_name, "sort_date": doc.sort_date,
    }
    for name, facet_values in doc.facets.items():
        if name in ("kind", "status", "grade"):  # single values, set above
            continue
        values[name] = list(facet_values)
    return cls(meta={"id": str(doc.object_id)}, **values)


def _iso(value: dt.datetime) -> str:
    return value.isoformat()


class ElasticsearchBackend:
    name = "elasticsearch"

    def __init__(self, url: str, *, prefix: str = "market", timeout: float = 5.0, replicas: int | None = None):
        self.url = url
        self.prefix = prefix
        self.timeout = timeout
        self.replicas = replicas

    @functools.cached_property
    def client(self) -> Elasticsearch:
        return Elasticsearch(self.url, request_timeout=self.timeout, max_retries=0, retry_on_timeout=False)

    # --- indices ---------------------------------------------------------------------------------

    def alias(self, kind: str) -> str:
        return f"{self.prefix}-{kind}"

    def index(self, kind: str, name: str | None = None):
        """The dsl Index of a kind, named `name` (default: the alias)."""
        idx = document_class(kind)._index.clone(name=name or self.alias(kind))
        if self.replicas is not None:
            idx.settings(number_of_replicas=self.replicas)
        return idx

    def index_body(self, kind: str) -> dict:
        """Settings (with the analyzers) and mapping of the kind's index."""
        return self.index(kind).to_dict()

    def template(self, kind: str):
        return self.index(kind).as_composable_template(f"{self.alias(kind)}-template", pattern=f"{self.alias(kind)}-*",
                                                       priority=100)

    def ping(self) -> bool:
        return bool(self.client.ping())

    def ensure_indices(self, kinds: Iterable[str]) -> None:
        """Create the index and alias of each kind that has none yet (before a first write)."""
        for kind in kinds:
            if not self.client.indices.exists_alias(name=self.alias(kind)):
                self._create_and_swap(kind, documents=[], progress=None)

    def _create_and_swap(self, kind: str, *, documents: Iterable[SearchDocument],
                         progress: Callable[[int], None] | None) -> str:
        alias = self.alias(kind)
        self.template(kind).save(using=self.client)
        new_name = f"{alias}-{timezone.now():%Y%m%d%H%M%S%f}"
        self.index(kind, new_name).create(using=self.client)
        count = 0
        for ok, item in helpers.streaming_bulk(self.client, self._actions(documents, index=new_name), chunk_size=500,
                                               raise_on_error=True):
            count += 1
            if progress and count % 500 == 0:
                progress(500)
        if progress and count % 500:
            progress(count % 500)
        self.client.indices.refresh(index=new_name)
        actions: list[dict] = [{"add": {"index": new_name, "alias": alias}}]
        old: list[str] = []
        if self.client.indices.exists_alias(name=alias):
            old = list(self.client.indices.get_alias(name=alias).keys())
            actions += [{"remove": {"index": name, "alias": alias}} for name in old]
        elif self.client.indices.exists(index=alias):  # a concrete index took the alias's name
            actions.append({"remove_index": {"index": alias}})
        self.client.indices.update_aliases(actions=actions)
        for name in old:
            if name != new_name:
                self.client.indices.delete(index=name, ignore_unavailable=True)
        return new_name

    def rebuild(self, kind: str, documents: Iterable[SearchDocument], *,
                progress: Callable[[int], None] | None = None) -> str:
        """Fill a new index and swap the alias to it (no downtime). Returns the new index's name."""
        return self._create_and_swap(kind, documents=documents, progress=progress)

    # --- writing ---------------------------------------------------------------------------------

    def _actions(self, documents: Iterable[SearchDocument], *, index: str | None = None):
        for doc in documents:
            action = es_document(doc).to_dict(include_meta=True)
            action["_index"] = index or self.alias(doc.kind)
            yield action

    def write(self, kind: str, documents: list[SearchDocument], deleted: Iterable[int]) -> None:
        """Index these documents and delete these ids, in one bulk request; raises on any failure."""
        actions = list(self._actions(documents))
        actions += [{"_op_type": "delete", "_index": self.alias(kind), "_id": str(pk)} for pk in deleted]
        if not actions:
            return
        self.ensure_indices([kind])
        helpers.bulk(self.client, actions, raise_on_error=True, ignore_status=(404,), refresh="wait_for"
                     if getattr(settings, "ELASTICSEARCH_REFRESH_ON_WRITE", False) else False)

    # --- searching -------------------------------------------------------------------------------

    def build_search(self, query: SearchQuery) -> Search:
        """The dsl Search of a query (no request is made)."""
        s = Search(using=self.client, index=[self.alias(k) for k in query.kinds])
        filters = [Q("terms", kind=list(query.kinds))]
        for name, values in query.filters.items():
            filters.append(self._filter(name, values, query.now))
        if query.parsed.is_empty:
            s = s.query(Q("bool", filter=filters))
        else:
            variants = [Q("match", all_text={"query": text, "operator": "and"}) for text, _ in query.parsed.variants]
            names = [Q("match", name={"query": text, "operator": "and", "boost": NAME_BOOST})
                     for text, _ in query.parsed.variants]
            s = s.query(Q("bool", must=[Q("bool", should=variants, minimum_should_match=1)], should=names,
                          filter=filters))
            s = s.highlight_options(pre_tags=["<mark>"], post_tags=["</mark>"], encoder="html",
                                    require_field_match=False)
            s = s.highlight("name", number_of_fragments=0)
            s = s.highlight("body", fragment_size=HIGHLIGHT_FRAGMENT_SIZE, number_of_fragments=2)
        for facet in query.facets:
            if facet == "status":
                s.aggs.bucket("status", A("terms", field="status", size=FACET_SIZE))
                s.aggs.bucket(DERIVED_STATUS, A("filter", Q("bool", filter=[
                    Q("term", status=OPEN_STATUS), Q("range", deadline={"lte": _iso(query.now)})])))
            else:
                s.aggs.bucket(facet, A("terms", field=facet, size=FACET_SIZE))
        s = s.sort(*self._sort(query.sort))
        s = s.source(excludes=["body", "all_text"])
        s = s.extra(track_total_hits=True)
        return s[query.offset:query.offset + query.page_size]

    @staticmethod
    def _filter(name: str, values: tuple[str, ...], now: dt.datetime):
        if name == "status":
            ors = []
            for v in values:
                if v == DERIVED_STATUS:
                    ors.append(Q("bool", filter=[Q("term", status=OPEN_STATUS), Q("range", deadline={"lte": _iso(now)})]))
                elif v == OPEN_STATUS:
                    ors.append(Q("bool", filter=[Q("term", status=OPEN_STATUS), Q("range", deadline={"gt": _iso(now)})]))
                else:
                    ors.append(Q("term", status=v))
            kinds = registry.deadline_kinds()
            kind_filter = Q("term", kind=kinds[0]) if len(kinds) == 1 else Q("terms", kind=list(kinds))
            return Q("bool", filter=[kind_filter], should=ors, minimum_should_match=1)
        return Q("terms", **{name: list(values)})

    @staticmethod
    def _sort(sort: str) -> list:
        tiebreak = [{"object_id": {"order": "asc"}}, {"kind": {"order": "asc"}}]
        if sort == "name":
            return [{"sort_name": {"order": "asc"}}, *tiebreak]
        if sort == "grade":
            return [{"grade": {"order": "asc", "missing": "_last"}}, {"credit_score": {"order": "desc"}},
                    {"sort_name": {"order": "asc"}}, *tiebreak]
        if sort == "newest":
            return [{"sort_date": {"order": "desc", "missing": "_last"}}, {"object_id": {"order": "desc"}},
                    {"kind": {"order": "asc"}}]
        return ["_score", {"red": {"order": "desc"}}, {"credit_score": {"order": "desc"}},
                {"sort_date": {"order": "desc", "missing": "_last"}}, {"sort_name": {"order": "asc"}}, *tiebreak]

    def search(self, query: SearchQuery) -> SearchResult:
        if query.parsed.matches_nothing or not query.kinds:
            return empty_result(query, self.name)
        response = self.build_search(query).execute()
        total = response.hits.total.value
        if query.offset >= total > 0:
            query = query.with_page(max(1, (total - 1) // query.page_size + 1))
            response = self.build_search(query).execute()
            total = response.hits.total.value
        hits = []
        wanted = query.parsed.all_terms
        for h in response.hits:
            highlight = getattr(h.meta, "highlight", None)
            name_parts = list(getattr(highlight, "name", []) or []) if highlight else []
            body_parts = list(getattr(highlight, "body", []) or []) if highlight else []
            deadline = getattr(h, "deadline", None)
            if isinstance(deadline, str):
                deadline = dt.datetime.fromisoformat(deadline)
            hits.append(Hit(
                kind=h.kind, id=int(h.object_id), score=float(h.meta.score or 0.0), name=h.name, url=h.url or "",
                data=h.data.to_dict() if hasattr(h.data, "to_dict") else dict(h.data or {}),
                name_html=mark_safe(name_parts[0]) if name_parts else analysis.highlight(h.name, wanted),  # nosec B308 B703
                fragments=[mark_safe(p) for p in body_parts], status=getattr(h, "status", None) or "",  # nosec B308 B703
                deadline=deadline, grade=getattr(h, "grade", None) or "", red=bool(getattr(h, "red", False)),
                credit_score=int(getattr(h, "credit_score", 0) or 0)))
        counts: dict[str, dict[str, int]] = {}
        aggs = response.aggregations if hasattr(response, "aggregations") else None
        for facet in query.facets:
            buckets = {str(b.key): int(b.doc_count) for b in getattr(aggs, facet).buckets} if aggs else {}
            if facet == "status" and aggs is not None:
                closed = int(getattr(aggs, DERIVED_STATUS).doc_count)
                if closed:
                    buckets[OPEN_STATUS] = buckets.get(OPEN_STATUS, 0) - closed
                    buckets[DERIVED_STATUS] = closed
            counts[facet] = buckets
        return SearchResult(hits=hits, total=total, facets=finish_facets(query, counts), page=query.page,
                            page_size=query.page_size, backend=self.name, query=query)
