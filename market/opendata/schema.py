"""Validate OCDS output against the official 1.1 schemas kept in ../shared/ocds-1.1, resolving
their URLs to those local files (never the network)."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

from django.conf import settings

FILES = ["release-schema.json", "release-package-schema.json", "record-package-schema.json",
         "versioned-release-validation-schema.json"]


def schema_dir() -> Path:
    return Path(os.environ.get("OCDS_SCHEMA_DIR", settings.BASE_DIR.parent / "shared" / "ocds-1.1"))


@lru_cache(maxsize=1)
def _registry():
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    resources = []
    schemas = {}
    for name in FILES:
        schema = json.loads((schema_dir() / name).read_text(encoding="utf-8"))
        schemas[name] = schema
        resources.append((schema["id"], Resource.from_contents(schema, default_specification=DRAFT4)))
    return Registry().with_resources(resources), schemas


def validation_errors(document: dict, *, kind: str) -> list[str]:
    """kind: "release-package" or "record-package". Returns readable errors (empty = valid)."""
    from jsonschema import Draft4Validator, FormatChecker

    registry, schemas = _registry()
    validator = Draft4Validator(schemas[f"{kind}-schema.json"], registry=registry, format_checker=FormatChecker())
    return [f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
