"""The selection methods on hand-made bids, and the draw recomputed independently."""

import hashlib
from fractions import Fraction

import pytest

from market.core import draw
from market.core.draw import Entry

SECRET = "11" * 32
NONCES = {101: "aa" * 16, 102: "bb" * 16, 103: "cc" * 16, 104: "dd" * 16, 105: "ee" * 16}


def entries(prices, quality=None):
    return [Entry(bid_id=b, price_fen=p, nonce=NONCES[b], quality=(quality or {}).get(b)) for b, p in prices.items()]


def independent_seed(secret_hex, nonces):
    """The published procedure written out again, without the module under test."""
    raw = bytes.fromhex(secret_hex) + b"".join(bytes.fromhex(n) for n in nonces)
    return hashlib.sha256(raw).digest()


def independent_ticket(seed, bid_id):
    return hashlib.sha256(seed + str(bid_id).encode("ascii")).hexdigest()


def test_commitment_is_sha256_of_the_secret():
    assert draw.commitment_of(SECRET) == hashlib.sha256(bytes.fromhex(SECRET)).hexdigest()


def test_seed_and_tickets_match_an_independent_computation():
    outcome = draw.run(method="random", secret_hex=SECRET, entries=entries({103: 5, 101: 5, 102: 5}))
    seed = independent_seed(SECRET, [NONCES[101], NONCES[102], NONCES[103]])  # ordered by bid id
    assert outcome.seed == seed
    for b in (101, 102, 103):
        assert outcome.tickets[b] == independent_ticket(seed, b)


def test_random_draw_picks_the_smallest_ticket():
    outcome = draw.run(method="random", secret_hex=SECRET, entries=entries({101: 5, 102: 5, 103: 5}))
    assert outcome.winner == min(outcome.tickets, key=outcome.tickets.get)


def test_bid_order_is_numeric_not_textual():
    nonces = {9: "01" * 16, 10: "02" * 16}
    e = [Entry(10, 1, nonces[10]), Entry(9, 1, nonces[9])]
    outcome = draw.run(method="random", secret_hex=SECRET, entries=e)
    assert outcome.seed == independent_seed(SECRET, [nonces[9], nonces[10]])


def test_lowest_price_wins():
    outcome = draw.run(method="lowest", secret_hex=SECRET, entries=entries({101: 900, 102: 800, 103: 1000}))
    assert outcome.winner == 102
    assert outcome.ranking == [102, 101, 103]


def test_lowest_price_tie_is_broken_by_the_smallest_ticket():
    outcome = draw.run(method="lowest", secret_hex=SECRET, entries=entries({101: 800, 102: 800, 103: 1000}))
    tied = {b: outcome.tickets[b] for b in (101, 102)}
    assert outcome.winner == min(tied, key=tied.get)


def test_reference_price_drops_extremes_and_applies_the_factor():
    prices = {101: 1000, 102: 900, 103: 950, 104: 700, 105: 1200}
    outcome = draw.run(method="reference", secret_hex=SECRET, entries=entries(prices))
    seed = independent_seed(SECRET, [NONCES[b] for b in sorted(prices)])
    u = Fraction(int.from_bytes(hashlib.sha256(seed + b"factor").digest()[:8], "big"), 2**64)
    factor = Fraction(95, 100) + Fraction(3, 100) * u
    assert Fraction(95, 100) <= factor <= Fraction(98, 100)
    assert outcome.factor == factor
    reference = Fraction(900 + 950 + 1000, 3) * factor
    assert outcome.reference_fen == reference
    expected = min(prices, key=lambda b: (abs(prices[b] - reference), outcome.tickets[b]))
    assert outcome.winner == expected


def test_reference_price_tie_goes_to_the_smallest_ticket():
    # Two identical prices are equally close to any reference.
    outcome = draw.run(method="reference", secret_hex=SECRET, entries=entries({101: 950, 102: 950, 103: 950}))
    assert outcome.winner == min(outcome.tickets, key=outcome.tickets.get)


def test_weighted_score_arithmetic():
    # price weight 40: lowest/price*40; quality is the panel's average out of 60.
    prices = {101: 800, 102: 1000, 103: 900}
    quality = {101: Fraction(40), 102: Fraction(58), 103: Fraction(50)}
    outcome = draw.run(method="weighted", secret_hex=SECRET, entries=entries(prices, quality), price_weight=40)
    assert outcome.price_scores[101] == 40
    assert outcome.price_scores[102] == Fraction(800, 1000) * 40  # 32
    assert outcome.totals == {101: 80, 102: 90, 103: Fraction(800, 900) * 40 + 50}
    assert outcome.winner == 102


def test_weighted_tie_goes_to_quality_then_ticket():
    prices = {101: 800, 102: 1000}
    # 101: 40 + 50 = 90; 102: 32 + 58 = 90 → equal totals, 102 has the higher quality score.
    outcome = draw.run(method="weighted", secret_hex=SECRET,
                       entries=entries(prices, {101: Fraction(50), 102: Fraction(58)}), price_weight=40)
    assert outcome.totals[101] == outcome.totals[102] == 90
    assert outcome.winner == 102
    same = draw.run(method="weighted", secret_hex=SECRET, entries=entries({101: 800, 102: 800},
                                                                        {101: Fraction(50), 102: Fraction(50)}), price_weight=40)
    assert same.winner == min(same.tickets, key=same.tickets.get)


def test_direct_choice_takes_the_chosen_bid():
    outcome = draw.run(method="direct", secret_hex=SECRET, entries=entries({101: 1, 102: 2}), direct_bid_id=102)
    assert outcome.winner == 102
    with pytest.raises(ValueError):
        draw.run(method="direct", secret_hex=SECRET, entries=entries({101: 1}), direct_bid_id=999)


def _published(method, prices, quality=None, price_weight=None):
    outcome = draw.run(method=method, secret_hex=SECRET, entries=entries(prices, quality), price_weight=price_weight)
    return {
        "method": method, "outcome": "selected", "secret": SECRET, "commitment": draw.commitment_of(SECRET),
        "seed": outcome.seed.hex(), "price_weight": price_weight, "winner_bid_id": outcome.winner,
        "factor": draw.decimal_str(outcome.factor, 12) if outcome.factor is not None else None,
        "eligible": [{"bid_id": b, "price_fen": p, "nonce": NONCES[b], "ticket": outcome.tickets[b],
                      "quality_score": str(quality[b]) if quality else None} for b, p in prices.items()],
    }


@pytest.mark.parametrize("method", ["random", "lowest", "reference"])
def test_verify_accepts_an_honest_result(method):
    assert draw.verify(_published(method, {101: 900, 102: 800, 103: 1000, 104: 850})) == []


def test_verify_detects_a_changed_winner_secret_or_nonce():
    honest = _published("lowest", {101: 900, 102: 800, 103: 1000})
    assert draw.verify({**honest, "winner_bid_id": 101})
    assert any("commitment" in p for p in draw.verify({**honest, "secret": "22" * 32}))
    tampered = {**honest, "eligible": [dict(e) for e in honest["eligible"]]}
    tampered["eligible"][0]["nonce"] = "ff" * 16
    assert any("seed" in p for p in draw.verify(tampered))
