"""/search/?q=: agencies, announcements and catalogue items in one list, with facets and pages."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from . import registry
from .api import page_of, search
from .backends.base import Hit, is_province
from .documents import DERIVED_STATUS
from .forms import SearchForm

PAGE_SIZE = 20
PAGE_FACETS = ("kind", "service_item", "region", "grade", "method", "status", "category")
FILTERS = ("service_item", "region", "grade", "method", "status", "category", "qualification")
# What each hit shows beside its name: (attribute, facet whose value labels it uses).
HIT_LABELS = (("status_label", "status"), ("method_label", "method"), ("pricing_label", "pricing_mode"),
              ("level_label", "level"))


def _hit_value(hit: Hit, facet: str) -> str | None:
    return hit.status_now if facet == "status" else hit.data.get(facet)


def _label_hits(*, hits: list[Hit], now: dt.datetime) -> None:
    """Each hit's status by the clock, and the labels of its values, from the registered document
    types' facets (a status without a label shows as it is; other values without one, not at all)."""
    for hit in hits:
        hit.status_now = hit.status_at(now)
    for attr, facet in HIT_LABELS:
        labels = registry.facet_labels(facet, {v for hit in hits if (v := _hit_value(hit, facet))})
        for hit in hits:
            value = _hit_value(hit, facet)
            setattr(hit, attr, labels.get(value, value if facet == "status" else ""))


@require_GET
def search_page(request):
    form = SearchForm(request.GET)
    form.is_valid()  # an invalid choice is dropped; the valid fields still count
    data = form.cleaned_data
    q, kind, sort = data.get("q", ""), data.get("kind", ""), data.get("sort") or "relevance"
    filters = {name: request.GET.get(name, "").strip()[:64] for name in FILTERS if request.GET.get(name, "").strip()}
    now = timezone.now()
    result = search(q=q, kinds=[kind] if kind else None, filters=filters, facets=PAGE_FACETS,
                    page=_int(request.GET.get("page")), page_size=PAGE_SIZE, sort=sort, now=now)
    _label_hits(hits=result.hits, now=now)
    base = {k: v for k, v in (("q", q), ("kind", kind), ("sort", sort if sort != "relevance" else "")) if v}
    base.update(filters)
    facet_groups = []
    for name in PAGE_FACETS:
        values = _shown_values(name, result.facets.get(name, []), filters)
        if not values:
            continue
        links = []
        for fv in values:
            params = dict(base)
            if name == "kind":
                params.pop("kind", None)
                if not fv.selected:
                    params["kind"] = fv.value
            elif fv.selected:
                params.pop(name, None)
            else:
                params[name] = fv.value
            links.append({"value": fv.value, "label": fv.label, "count": fv.count, "selected": fv.selected,
                          "href": "?" + urlencode(params)})
        facet_groups.append({"name": name, "label": registry.facet_label(name), "links": links})
    active = []
    for name, value in filters.items():
        params = {k: v for k, v in base.items() if k != name}
        label = next((fv.label for fv in result.facets.get(name, []) if fv.value == value), value)
        if name == "status":
            label = registry.facet_labels(name, [value]).get(value, value)
        active.append({"label": registry.facet_label(name), "value": label, "href": "?" + urlencode(params)})
    return render(request, "search/results.html", {
        "form": form, "q": q, "result": result, "page_obj": page_of(result), "facet_groups": facet_groups,
        "active_filters": active, "filters": filters, "querystring": urlencode(base), "kind_labels": registry.kind_labels(), "now": now,
        "derived_status": DERIVED_STATUS,
    })


def _shown_values(name, values, filters):
    """Regions: the prefectures, or the counties of the chosen prefecture; other facets as they are."""
    if name != "region":
        return values
    chosen = filters.get("region", "")
    if chosen and len(chosen) == 6 and chosen.endswith("00") and not is_province(chosen):
        return [v for v in values if v.value == chosen or (v.value.startswith(chosen[:4]) and v.value != chosen
                                                           and len(v.value) == 6)]
    if chosen:
        return [v for v in values if v.value == chosen]
    return [v for v in values if len(v.value) == 6 and v.value.endswith("00")]


def _int(value) -> int:
    try:
        return max(1, int(value or 1))
    except (TypeError, ValueError):
        return 1
