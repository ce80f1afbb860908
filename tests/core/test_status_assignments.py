"""Only market.core.statemachine.transition writes a status: read from the source with ``ast``
(nothing is imported or run), in the project's apps, migrations, tests and market/demo aside.

What counts as writing a status field (``status``, and each machine's own field, e.g. a
notification's ``email_status``):

- an assignment to an attribute of that name — ``obj.status = …``, also inside a tuple
  (``obj.status, obj.at = …``) or augmented;
- ``setattr(obj, "status", …)`` with the name written out;
- ``….update(status=…)`` — a queryset's bulk UPDATE, which skips the audit event (also
  ``bulk_update(…, ["status", …])``);
- ``….save(update_fields=[…, "status", …])``: saving a status that was set some other way.

What does not: creating a row in its first status (``Model.objects.create(status=…)``,
``Model(status=…)``: not a move), reading or filtering on a status, and names computed at run time
(``setattr(obj, name, value)``, ``update(**fields)``), which no static reading can follow — the
allow-list below says which files still do that.

ALLOWED lists the files that have not moved to `transition` yet, each with the machine and the call
that replaces its writes. It only shrinks: a file listed here that no longer writes a status fails
the test too, so the list is emptied as the files are converted."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from market.core import statemachine

ROOT = Path(__file__).resolve().parents[2]
APPS = ("agencies", "bids", "credit", "cms", "supervision", "market")
ENGINE = "market/core/statemachine.py"

# Not converted yet (owned by other work); the list will be emptied. file -> what replaces its writes.
ALLOWED: dict[str, str] = {
    # agency_transition: transition(agency, to=…) on agencies.states.AGENCY (audit "agency.<move>"); the
    # organization it verifies on activation: transition(org, to="verified") on market.accounts.states.ORGANIZATION.
    "agencies/services/transitions.py": "AGENCY, ORGANIZATION",
    # objection_rule: transition(objection, to=upheld|dismissed, move="uphold"|"dismiss") on PUBLICITY_OBJECTION.
    "agencies/services/publicity.py": "PUBLICITY_OBJECTION",
    # invitation_accept / invitation_revoke / the pending one a new invitation replaces (a bulk update
    # today, unaudited): transition(invitation, to=accepted|revoked) on agencies.states.INVITATION.
    "agencies/services/staff.py": "INVITATION",
    # contract_transition / delivery_transition / extension_transition / evaluation_transition:
    # market.contracts.states CONTRACT, DELIVERY, EXTENSION, EVALUATION (same audit actions).
    "market/contracts/services/contracts.py": "CONTRACT",
    "market/contracts/services/deliveries.py": "DELIVERY",
    "market/contracts/services/extensions.py": "EXTENSION",
    "market/contracts/services/evaluations.py": "EVALUATION",
    # _mirror_intent sets Payment.status by a computed name (setattr(payment, field, …), not seen here) and
    # _mirror_refund sets PaymentRefund.status (Stripe's refund status, no enum, no machine):
    # transition(payment, to=snap.status) on market.payments.states.PAYMENT; the refund stays a mirror.
    "market/payments/mirror.py": "PAYMENT (and PaymentRefund's mirrored status)",
    # emails_send: bulk updates of email_status: transition(note, to=sent|failed, actor=None) on
    # supervision.states.NOTIFICATION_EMAIL (or a decision that e-mail delivery is not audited).
    "market/notifications/services.py": "NOTIFICATION_EMAIL",
}


def _status_fields() -> set[str]:
    return {"status"} | {m.field for m in statemachine.machines()}


def _sources() -> list[Path]:
    out = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if {"migrations", "tests", "__pycache__"} & set(rel.parts) or rel.parts[:2] == ("market", "demo"):
                continue
            out.append(path)
    return out


def _names(node: ast.AST) -> list[str]:
    """The string constants of a list/tuple literal (or a lone string)."""
    items = node.elts if isinstance(node, (ast.List, ast.Tuple, ast.Set)) else [node]
    return [x.value for x in items if isinstance(x, ast.Constant) and isinstance(x.value, str)]


def status_writes(source: str, fields: set[str]) -> list[tuple[int, str]]:
    """(line, what) for every write of a status field in `source` (see the module docstring)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                for t in target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]:
                    if isinstance(t, ast.Attribute) and t.attr in fields:
                        found.append((node.lineno, f"assigns .{t.attr}"))
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name == "setattr" and len(node.args) >= 2 and set(_names(node.args[1])) & fields:
                found.append((node.lineno, f"setattr(…, {_names(node.args[1])[0]!r}, …)"))
            elif name == "update" and {k.arg for k in node.keywords} & fields:
                found.append((node.lineno, "update(status=…) on a queryset"))
            elif name == "bulk_update" and len(node.args) >= 2 and set(_names(node.args[1])) & fields:
                found.append((node.lineno, "bulk_update(…, [status…])"))
            elif name == "save":
                for k in node.keywords:
                    if k.arg == "update_fields" and set(_names(k.value)) & fields:
                        found.append((node.lineno, "save(update_fields=[…status…])"))
    return found


def test_the_checker_sees_each_kind_of_write_and_nothing_else():
    source = '''
a.status = "x"
a.status, a.at = "x", 1
setattr(a, "email_status", "x")
Model.objects.filter(pk=1).update(status="x", at=2)
Model.objects.bulk_update(rows, ["status"])
a.save(update_fields=["at", "status"])
Model.objects.create(status="x")
Model(status="x")
Model.objects.filter(status="x").update(at=1)
a.save(update_fields=["at"])
if a.status == "x":
    b = a.status
setattr(a, name, value)
'''
    assert [line for line, _what in status_writes(source, {"status", "email_status"})] == [2, 3, 4, 5, 6, 7]


def test_only_the_state_machine_writes_a_status():
    fields = _status_fields()
    writes = {}
    for path in _sources():
        rel = path.relative_to(ROOT).as_posix()
        if rel == ENGINE:
            continue
        found = status_writes(path.read_text(encoding="utf-8"), fields)
        if found:
            writes[rel] = found
    unconverted = {f: w for f, w in writes.items() if f not in ALLOWED}
    assert unconverted == {}, "write the status through market.core.statemachine.transition:\n" + "\n".join(
        f"  {f}:{line}: {what}" for f, w in sorted(unconverted.items()) for line, what in w)
    converted = sorted(set(ALLOWED) - set(writes))
    assert converted == [], f"no status write left in {converted}: take them off ALLOWED"


@pytest.mark.parametrize("rel", ["bids/services.py", "supervision/services.py", "market/requests/services.py",
                                 "credit/services.py", "market/accounts/services.py"])
def test_the_converted_services_write_no_status(rel):
    assert status_writes((ROOT / rel).read_text(encoding="utf-8"), _status_fields()) == []
