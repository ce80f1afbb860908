"""Print every state machine's table (market.core.statemachine): machine, from → to, move, who may
make it, its guards, whether it needs a reason.

    manage.py state_machines
    manage.py state_machines --machine request --machine bid
    manage.py state_machines --format json
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from market.core import statemachine


class Command(BaseCommand):
    help = "Print the legal status moves of every state machine (or of those named)."

    def add_arguments(self, parser):
        parser.add_argument("--machine", action="append", default=[], metavar="NAME",
                            help="only this machine (repeatable)")
        parser.add_argument("--format", choices=("table", "json"), default="table")

    def handle(self, *args, machine: list[str], format: str, **options):
        machines = statemachine.machines()
        known = {m.name for m in machines}
        unknown = sorted(set(machine) - known)
        if unknown:
            raise CommandError(f"unknown machine(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        chosen = [m for m in machines if not machine or m.name in machine]
        if format == "json":
            self.stdout.write(json.dumps([
                {"machine": m.name, "model": m.model, "field": m.field, "states": list(m.states.values),
                 "description": m.description, "moves": m.rows()} for m in chosen
            ], ensure_ascii=False, indent=2))
            return
        for m in chosen:
            self._table(m)

    def _table(self, m: statemachine.Machine) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"{m.name}  ({m.model}.{m.field}, {len(m.moves)} moves)"))
        if m.description:
            self.stdout.write(f"  {m.description}")
        header = ("from → to", "move", "who", "guard", "reason")
        rows = [(f"{r['from']} → {r['to']}", r["move"], r["who"], r["guard"] or "—", "required" if r["reason_required"]
                 else "—") for r in m.rows()]
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
        for line in (header, *rows):
            self.stdout.write("  " + "  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip())
        self.stdout.write("")
