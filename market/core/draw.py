"""The verifiable selection procedure, as pure functions over published data.

Anyone can run these on a published result: they use nothing the result does not publish.

1. At publication: secret = 32 random bytes; commitment = hex(SHA-256(secret)).
2. Each bid carries a nonce of at least 16 random bytes.
3. seed = SHA-256(secret ‖ nonce_1 ‖ … ‖ nonce_n), eligible bids ordered by id (as integers).
4. ticket(bid) = hex(SHA-256(seed ‖ ascii(decimal bid id))); a draw or a tie-break picks the smallest ticket.
5. reference factor = 0.95 + 0.03 × u, u = int.from_bytes(SHA-256(seed ‖ b"factor")[:8], "big") / 2**64.
"""

from __future__ import annotations

import hashlib
import secrets as _secrets
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Sequence

METHODS = ("random", "lowest", "reference", "weighted", "direct")
MIN_NONCE_BYTES = 16


def new_secret() -> str:
    return _secrets.token_hex(32)


def new_nonce() -> str:
    return _secrets.token_hex(MIN_NONCE_BYTES)


def commitment_of(secret_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(secret_hex)).hexdigest()


def seed_of(secret_hex: str, nonces_in_bid_order: Sequence[str]) -> bytes:
    h = hashlib.sha256(bytes.fromhex(secret_hex))
    for nonce in nonces_in_bid_order:
        h.update(bytes.fromhex(nonce))
    return h.digest()


def ticket_of(seed: bytes, bid_id: int) -> str:
    return hashlib.sha256(seed + str(int(bid_id)).encode("ascii")).hexdigest()


def factor_of(seed: bytes) -> Fraction:
    u = Fraction(int.from_bytes(hashlib.sha256(seed + b"factor").digest()[:8], "big"), 2**64)
    return Fraction(95, 100) + Fraction(3, 100) * u


def decimal_str(value: Fraction, places: int = 6) -> str:
    """A Fraction as a fixed-point string (rounded half up), for publication."""
    scaled = value * 10**places
    rounded = (scaled.numerator * 2 + scaled.denominator) // (scaled.denominator * 2)
    sign = "-" if rounded < 0 else ""
    rounded = abs(rounded)
    return f"{sign}{rounded // 10**places}.{rounded % 10**places:0{places}d}"


@dataclass(frozen=True)
class Entry:
    """One eligible bid as the procedure sees it."""

    bid_id: int
    price_fen: int
    nonce: str
    quality: Fraction | None = None  # weighted method: the panel's average quality score


@dataclass
class Outcome:
    seed: bytes
    tickets: dict[int, str]
    ranking: list[int]  # bid ids, winner first
    factor: Fraction | None = None
    reference_fen: Fraction | None = None
    totals: dict[int, Fraction] = field(default_factory=dict)
    price_scores: dict[int, Fraction] = field(default_factory=dict)

    @property
    def winner(self) -> int | None:
        return self.ranking[0] if self.ranking else None


def run(*, method: str, secret_hex: str, entries: Sequence[Entry], price_weight: int | None = None,
        direct_bid_id: int | None = None) -> Outcome:
    """Rank the eligible entries by the published rule; ties go to the smallest ticket."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}")
    entries = sorted(entries, key=lambda e: int(e.bid_id))
    seed = seed_of(secret_hex, [e.nonce for e in entries])
    tickets = {e.bid_id: ticket_of(seed, e.bid_id) for e in entries}
    outcome = Outcome(seed=seed, tickets=tickets, ranking=[])
    if not entries:
        return outcome
    if method == "random":
        outcome.ranking = sorted(tickets, key=lambda b: tickets[b])
    elif method == "lowest":
        outcome.ranking = [e.bid_id for e in sorted(entries, key=lambda e: (e.price_fen, tickets[e.bid_id]))]
    elif method == "reference":
        prices = sorted(e.price_fen for e in entries)
        kept = prices[1:-1] if len(prices) > 2 else prices
        average = Fraction(sum(kept), len(kept))
        outcome.factor = factor_of(seed)
        outcome.reference_fen = average * outcome.factor
        ref = outcome.reference_fen
        outcome.ranking = [e.bid_id for e in sorted(entries, key=lambda e: (abs(e.price_fen - ref), tickets[e.bid_id]))]
    elif method == "weighted":
        if price_weight is None:
            raise ValueError("the weighted method needs a price weight")
        lowest = min(e.price_fen for e in entries)
        for e in entries:
            price_score = Fraction(lowest, e.price_fen) * price_weight if e.price_fen else Fraction(price_weight)
            outcome.price_scores[e.bid_id] = price_score
            outcome.totals[e.bid_id] = price_score + (e.quality or 0)
        outcome.ranking = [e.bid_id for e in sorted(
            entries, key=lambda e: (-outcome.totals[e.bid_id], -(e.quality or 0), tickets[e.bid_id]))]
    elif method == "direct":
        chosen = [e.bid_id for e in entries if e.bid_id == direct_bid_id]
        if not chosen:
            raise ValueError("the directly chosen bid is not among the eligible bids")
        outcome.ranking = chosen + sorted((b for b in tickets if b != direct_bid_id), key=lambda b: tickets[b])
    return outcome


def verify(published: dict) -> list[str]:
    """Recompute a published result from its own fields; return the mismatches (empty = verified)."""
    problems: list[str] = []
    secret = published.get("secret") or ""
    if commitment_of(secret) != published.get("commitment"):
        problems.append("commitment does not match SHA-256(secret)")
    eligible = published.get("eligible", [])
    entries = [
        Entry(bid_id=int(b["bid_id"]), price_fen=int(b["price_fen"]), nonce=b["nonce"],
              quality=Fraction(b["quality_score"]) if b.get("quality_score") not in (None, "") else None)
        for b in eligible
    ]
    # A failed round has no winner; its seed and tickets are recomputed with the plain draw.
    method = "random" if published.get("outcome") == "failed" else published.get("method")
    try:
        outcome = run(method=method, secret_hex=secret, entries=entries, price_weight=published.get("price_weight"),
                      direct_bid_id=published.get("winner_bid_id") if method == "direct" else None)
    except (ValueError, KeyError) as exc:
        return problems + [f"cannot recompute: {exc}"]
    if entries and outcome.seed.hex() != published.get("seed"):
        problems.append("seed does not match SHA-256(secret ‖ nonces)")
    for b in eligible:
        if outcome.tickets.get(int(b["bid_id"])) != b.get("ticket"):
            problems.append(f"ticket of bid {b['bid_id']} does not match")
    if published.get("factor") is not None and outcome.factor is not None:
        if decimal_str(outcome.factor, 12) != published["factor"]:
            problems.append("reference factor does not match")
    if published.get("outcome") == "selected":
        if outcome.winner != published.get("winner_bid_id"):
            problems.append(f"winner should be bid {outcome.winner}, published {published.get('winner_bid_id')}")
    return problems
