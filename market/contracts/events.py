"""What a contract tells the domains above it (payments), which contracts never import.

Contracts send these signals and ask these hooks; a domain above connects its receivers and
registers its hooks when the app is ready (market/apps.py, e.g. market.payments.receivers.connect).

Signals — sent with ``send``, not ``send_robust``: a receiver's exception reaches the sender.

- ``contract_cancelling(contract, actor, refund_fen, reason)``: inside the cancellation's
  transaction, the contract locked and not moved yet. A receiver refuses the cancellation by raising
  ValidationError (e.g. a refund larger than what was paid): the transaction rolls back, nothing is
  written, and the caller gets the error.
- ``contract_cancelled(contract, actor, refund_fen, reason)``: once the cancellation has committed
  (the contract stays cancelled whatever a receiver does).
- ``contract_accepted(contract, actor)``: once an acceptance has committed — the owner's, or a
  delivery deemed accepted by the deadline job (actor None).

Hooks:

- close guards — ``close_guard_register(guard)``; ``guard(contract)`` says why the owner may not
  close the contract yet (e.g. it is not paid), or None. ``contract_close_blocker`` asks each.
- contract page sections — ``page_section_register(extend)``; ``extend(ctx=…, forms_in=…)`` adds to
  the context of the contract's page (market/templates/contracts/detail.html) what it shows.
- API sections — ``private_section_register(name, provide)``; ``provide(contract)`` is shown under
  ``name`` in the private part of a contract (the two parties and regulators only).
"""

from __future__ import annotations

from typing import Any, Callable

from django.dispatch import Signal

from .models import Contract

contract_cancelling = Signal()
contract_cancelled = Signal()
contract_accepted = Signal()

CloseGuard = Callable[[Contract], "str | None"]
PageSection = Callable[..., None]
PrivateSection = Callable[[Contract], Any]

_close_guards: list[CloseGuard] = []
_page_sections: list[PageSection] = []
_private_sections: dict[str, PrivateSection] = {}


def close_guard_register(guard: CloseGuard) -> CloseGuard:
    if guard not in _close_guards:
        _close_guards.append(guard)
    return guard


def contract_close_blocker(*, contract: Contract) -> str | None:
    """Why the contract may not be closed yet (the first guard that says so), or None."""
    for guard in _close_guards:
        reason = guard(contract)
        if reason:
            return reason
    return None


def page_section_register(extend: PageSection) -> PageSection:
    if extend not in _page_sections:
        _page_sections.append(extend)
    return extend


def page_sections() -> list[PageSection]:
    return list(_page_sections)


def private_section_register(name: str, provide: PrivateSection) -> PrivateSection:
    _private_sections[name] = provide
    return provide


def private_sections() -> list[tuple[str, PrivateSection]]:
    return list(_private_sections.items())
