"""Regions in the search (market.search): the region facet and the helpers every kind of document
with a region shares (agencies, requests). Regions are no document kind of their own."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from market.search.backends.base import is_province
from market.search.documents import Facet, IndexContext, code_labels

from .models import Region

REGION_FACET = Facet("region", _("Region"), values=code_labels(Region.objects))


def _regions(ctx: IndexContext) -> dict[str, tuple[str, str, str | None]]:
    return ctx.memo("regions", lambda: {code: (name, full, parent) for code, name, full, parent
                                        in Region.objects.values_list("code", "name", "full_name", "parent_id")})


def region_codes(*, ctx: IndexContext, code: str | None) -> list[str]:
    """The region and its ancestors below the province, prefecture first (the province is the
    whole platform: filtering by it filters nothing) — a document's region facet values."""
    regions = _regions(ctx)
    chain: list[str] = []
    while code and code not in chain:
        chain.append(code)
        code = regions.get(code, (None, None, None))[2]
    return [c for c in reversed(chain) if not is_province(c)]


def region_name(*, ctx: IndexContext, code: str | None) -> str:
    entry = _regions(ctx).get(code or "")
    return (entry[1] or entry[0]) if entry else ""
