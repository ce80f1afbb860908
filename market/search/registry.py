"""The registry of document types: what is searchable, as the domains declare it.

    from market.search.documents import DocumentType
    from market.search.registry import register

    class AgencyDocumentType(DocumentType):
        kind = "agency"
        ...

    register(AgencyDocumentType())

Each domain registers its types in its ``search`` module. The modules are found on the first
look at the registry — which SearchConfig.ready() makes, when it connects the signals — by
importing ``<app>.search`` for every installed app (agencies.search) and ``market.<package>.search``
for each package beside the engine's that has one (market.requests.search, market.catalogue.search),
the way market.core.deadlines finds the jobs. A type registered later (a test's) is
connected when it registers.
"""

from __future__ import annotations

import os
import pkgutil
import re
from collections.abc import Sequence
from importlib import import_module
from typing import Any, Callable, Iterable, Iterator

from django.apps import apps
from django.utils.module_loading import module_has_submodule
from django.utils.translation import gettext_lazy as _

from .documents import DocumentType, Facet, IndexContext, SearchDocument

MODULE = "search"  # the module each domain registers its document types in
KIND_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,15}")  # fits SearchEntry.kind and SearchOutbox.kind

_types: dict[str, DocumentType] = {}
_listeners: list[Callable[[DocumentType], None]] = []
_discovered = False


def register(document_type: DocumentType) -> DocumentType:
    """Add a document type (an instance; a DocumentType subclass is instantiated). Registering a
    kind again replaces its type. Returns what it was given, so it also decorates a class."""
    given = document_type
    if isinstance(document_type, type):
        document_type = document_type()
    if not KIND_PATTERN.fullmatch(document_type.kind or ""):
        raise ValueError(f"a document type's kind must match {KIND_PATTERN.pattern}: {document_type.kind!r}")
    names = document_type.facet_names
    if "kind" in names or len(set(names)) != len(names):
        raise ValueError(f"{document_type.kind}: facet names must be unique and not 'kind': {names}")
    _types[document_type.kind] = document_type
    for listener in list(_listeners):
        listener(document_type)
    return given


def unregister(kind: str) -> None:
    """Remove a kind (its signals stay connected and find nothing to do)."""
    _types.pop(kind, None)


def on_register(listener: Callable[[DocumentType], None]) -> None:
    """Call listener(document_type) for every type registered from now on (indexing connects
    their signals)."""
    if listener not in _listeners:
        _listeners.append(listener)


def discover() -> None:
    """Import the domains' search modules (once)."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    for config in apps.get_app_configs():
        if module_has_submodule(config.module, MODULE):
            import_module(f"{config.name}.{MODULE}")
    parent = __package__.rpartition(".")[0]  # "market": the engine's siblings are domains too
    for path in import_module(parent).__path__:
        for info in pkgutil.iter_modules([path]):
            if info.ispkg and any(m.name == MODULE for m in pkgutil.iter_modules([os.path.join(path, info.name)])):
                import_module(f"{parent}.{info.name}.{MODULE}")


def document_types() -> list[DocumentType]:
    """The registered types, in their order."""
    discover()
    return sorted(_types.values(), key=lambda t: (t.order, t.kind))


def document_type(kind: str) -> DocumentType:
    """The type of a kind (KeyError when none is registered)."""
    discover()
    return _types[kind]


def kinds() -> tuple[str, ...]:
    return tuple(t.kind for t in document_types())


class _Kinds(Sequence):
    """The registered kinds, read each time they are used (so a module may import KINDS before
    the domains have registered theirs)."""

    def __getitem__(self, index):
        return kinds()[index]

    def __len__(self) -> int:
        return len(kinds())

    def __iter__(self) -> Iterator[str]:
        return iter(kinds())

    def __contains__(self, kind: object) -> bool:
        return kind in kinds()

    def __repr__(self) -> str:
        return repr(kinds())


KINDS: Sequence[str] = _Kinds()


def kind_labels() -> dict[str, Any]:
    return {t.kind: t.label for t in document_types()}


KIND_FACET = Facet("kind", _("Type"), values=lambda values: kind_labels())


def facets() -> dict[str, Facet]:
    """Every filter and facet by name: "kind", then the types' own (the first declaration of a
    name shared by several types gives its labels)."""
    out = {KIND_FACET.name: KIND_FACET}
    for t in document_types():
        for f in t.facets:
            out.setdefault(f.name, f)
    return out


def facet_label(name: str) -> Any:
    found = facets().get(name)
    return found.label if found is not None else name


def facet_labels(name: str, values: Iterable[str]) -> dict[str, str]:
    """The labels of a facet's values that have one (one query at most)."""
    found = facets().get(name)
    return found.value_labels(list(values)) if found is not None else {}


def deadline_kinds() -> tuple[str, ...]:
    """The kinds whose status follows their deadline (documents.OPEN_STATUS → DERIVED_STATUS)."""
    return tuple(t.kind for t in document_types() if t.deadline_status)


def build_documents(kind: str, ids: Iterable[int], ctx: IndexContext | None = None) -> tuple[list[SearchDocument], set[int]]:
    """Documents for those of `ids` that are indexable now, and the ids that are not (to remove)."""
    ids = {int(i) for i in ids}
    docs = list(document_type(kind).documents(ids, ctx)) if ids else []
    return docs, ids - {d.object_id for d in docs}
