"""Every UI string has its Chinese translation: no empty or fuzzy entry in the zh_Hans catalogue,
and the compiled catalogue is shipped with it."""

import re
from pathlib import Path

PO = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _entries(text: str):
    """(flags, msgid, [msgstr…]) for each entry except the header and obsolete ones."""
    for block in re.split(r"\n\s*\n", text):
        lines = [ln for ln in block.splitlines() if not ln.startswith("#~")]
        flags = " ".join(ln for ln in lines if ln.startswith("#,"))
        strings, current = {}, None
        for ln in lines:
            m = re.match(r'^(msgid|msgid_plural|msgstr(?:\[\d+\])?) "(.*)"$', ln)
            if m:
                current = m.group(1)
                strings[current] = m.group(2)
            elif ln.startswith('"') and current:
                strings[current] += ln[1:-1]
        if strings.get("msgid"):
            yield flags, strings["msgid"], [v for k, v in strings.items() if k.startswith("msgstr")]


def test_every_string_is_translated_to_chinese():
    text = PO.read_text(encoding="utf-8")
    missing = [msgid for flags, msgid, values in _entries(text) if "fuzzy" in flags or not all(values)]
    assert missing == [], f"untranslated or fuzzy in {PO.name}: {missing[:10]}"


def test_the_compiled_catalogue_is_shipped():
    mo = PO.with_suffix(".mo")
    assert mo.exists() and mo.stat().st_size > 10_000
