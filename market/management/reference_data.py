"""Reference data shipped with the code: GB/T 2260 regions of Guangdong, qualification types
and the seed catalogue of service items. Loading is idempotent (update or create by code)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from django.db import transaction

from market.accounts.models import Region
from market.catalogue.models import QualificationType, ServiceCategory, ServiceItem

DATA_DIR = Path(__file__).resolve().parents[1] / "data"  # market/data
LEVELS_ORDER = ["province", "prefecture", "county", "town"]


def load_regions() -> int:
    with open(DATA_DIR / "regions_guangdong.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rows.sort(key=lambda r: (LEVELS_ORDER.index(r["level"]), r["code"]))
    names = {r["code"]: r["name"] for r in rows}
    parents = {r["code"]: r["parent_code"] for r in rows}

    def full_name(code: str) -> str:
        parts = []
        while code:
            parts.append(names[code])
            code = parents.get(code) or ""
        return "".join(reversed(parts))

    existing = set(Region.objects.values_list("code", flat=True))
    with transaction.atomic():
        for r in rows:
            values = {"name": r["name"], "level": r["level"], "parent_id": r["parent_code"] or None,
                      "full_name": full_name(r["code"])}
            if r["code"] in existing:
                Region.objects.filter(code=r["code"]).update(**values)
            else:
                Region.objects.create(code=r["code"], **values)
    return len(rows)


def load_catalogue() -> int:
    qtypes = json.loads((DATA_DIR / "qualification_types.json").read_text(encoding="utf-8"))
    items = json.loads((DATA_DIR / "service_items.json").read_text(encoding="utf-8"))
    with transaction.atomic():
        by_code = {}
        for q in qtypes:
            obj, _ = QualificationType.objects.update_or_create(
                code=q["code"], defaults={"name": q["name"], "issuer": q.get("issuer", "")})
            by_code[obj.code] = obj
        categories = {}
        for order, item in enumerate(items):
            code = item["category_code"]
            if code not in categories:
                cat, _ = ServiceCategory.objects.update_or_create(
                    code=code, defaults={"name": item["category"], "sort_order": len(categories)})
                categories[code] = cat
        for item in items:
            obj, _ = ServiceItem.objects.update_or_create(
                code=item["code"],
                defaults={
                    "name": item["name"], "category": categories[item["category_code"]],
                    "legal_basis": item["legal_basis"], "approval": item["approval"],
                    "department": item["department"], "service_content": item["service_content"],
                    "result": item["result"], "time_limit_days": item["time_limit_days"],
                    "pricing_mode": item["pricing_mode"], "fee_basis": item["fee_basis"],
                    "fee_standard": item["fee_standard"], "fee_cap_fen": item["fee_cap_fen"],
                    "level": item["level"],
                },
            )
            obj.qualification_types.set([by_code[c] for c in item["qualification_codes"]])
    return len(items)


def load_reference_data() -> dict[str, int]:
    from market.calendar.workdays import calendar_seed_from_package

    from credit.services import breach_rules_seed

    return {"regions": load_regions(), "service_items": load_catalogue(), "calendar_days": calendar_seed_from_package(),
            "breach_rules": breach_rules_seed()}
