"""The verifiable draw of random inspections (双随机一公开), as pure functions over published data.

It is the selections' procedure (market.core.draw) applied to a plan instead of a request:

1. When the plan is published, the platform draws a 32-byte `secret` and publishes
   `commitment = hex(SHA-256(secret))` together with the plan's public parameters, frozen then:
   the plan id, the criteria, the sample size, the number of inspectors per agency, the population
   (every agency that meets the criteria, by id) and the pool of inspectors (by user id).
2. `seed = SHA-256(secret ‖ canonical(parameters))`, where canonical() is the parameters as JSON with
   sorted keys, no spaces, UTF-8 (json.dumps(p, sort_keys=True, separators=(",", ":"), ensure_ascii=False)).
3. Each agency's `ticket = hex(SHA-256(seed ‖ ascii(decimal agency id)))`; the `sample_size` smallest
   tickets are drawn, in ticket order.
4. `inspector_seed = SHA-256(seed ‖ b"inspectors")`; each inspector's
   `ticket = hex(SHA-256(inspector_seed ‖ ascii(decimal user id)))`; the inspectors are ordered by
   ticket, and the i-th drawn agency (from 0) gets the inspectors at positions
   (i × k + j) mod pool size, j = 0 … k − 1, k = inspectors per agency. Everyone in the pool is
   used before anyone is used twice.
5. The draw publishes the secret, the seed, every ticket, the drawn agencies and the assignments.
   A verifier recomputes the commitment, the seed, the tickets and the outcome.
"""

from __future__ import annotations

import hashlib
import json

from market.core.draw import commitment_of, new_secret, ticket_of

__all__ = ["PROCEDURE", "canonical", "seed_of", "inspector_seed_of", "draw", "verify", "commitment_of", "new_secret"]

PROCEDURE = __doc__.split("\n\n", 1)[1].strip()


def canonical(parameters: dict) -> bytes:
    return json.dumps(parameters, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def seed_of(secret_hex: str, parameters: dict) -> bytes:
    return hashlib.sha256(bytes.fromhex(secret_hex) + canonical(parameters)).digest()


def inspector_seed_of(seed: bytes) -> bytes:
    return hashlib.sha256(seed + b"inspectors").digest()


def draw(*, secret_hex: str, parameters: dict) -> dict:
    """The outcome of the procedure for these published parameters."""
    population = sorted(int(a["agency_id"]) for a in parameters["population"])
    pool = sorted(int(i["user_id"]) for i in parameters["inspectors"])
    size = min(int(parameters["sample_size"]), len(population))
    k = int(parameters["inspectors_per_agency"])
    if population and k > len(pool):
        raise ValueError("fewer inspectors in the pool than inspectors per agency")
    seed = seed_of(secret_hex, parameters)
    agency_tickets = {a: ticket_of(seed, a) for a in population}
    drawn = sorted(population, key=lambda a: agency_tickets[a])[:size]
    inspector_seed = inspector_seed_of(seed)
    inspector_tickets = {u: ticket_of(inspector_seed, u) for u in pool}
    order = sorted(pool, key=lambda u: inspector_tickets[u])
    assignments = {a: [order[(i * k + j) % len(order)] for j in range(k)] for i, a in enumerate(drawn)}
    return {
        "seed": seed.hex(),
        "inspector_seed": inspector_seed.hex(),
        "agency_tickets": {str(a): t for a, t in agency_tickets.items()},
        "inspector_tickets": {str(u): t for u, t in inspector_tickets.items()},
        "drawn": drawn,
        "inspector_order": order,
        "assignments": {str(a): users for a, users in assignments.items()},
    }


def verify(published: dict) -> list[str]:
    """Recompute a published draw from its own fields; return the mismatches (empty: verified)."""
    problems: list[str] = []
    secret = published.get("secret") or ""
    try:
        if commitment_of(secret) != published.get("commitment"):
            problems.append("commitment does not match SHA-256(secret)")
        expected = draw(secret_hex=secret, parameters=published["parameters"])
    except (ValueError, KeyError, TypeError) as exc:
        return problems + [f"cannot recompute: {exc}"]
    for key in ("seed", "inspector_seed", "agency_tickets", "inspector_tickets", "drawn", "inspector_order",
                "assignments"):
        if expected[key] != published.get(key):
            problems.append(f"{key} does not match")
    return problems
