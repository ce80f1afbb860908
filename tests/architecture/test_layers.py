"""The house rules, read from the code's imports with ``ast`` (``python -m tests.architecture.graph``
prints the same figures): domains form layers and import only downwards, with no circle; no domain
module lies flat in ``market/``; few imports hide inside functions; no module grows past 700 lines."""

from __future__ import annotations

import pytest

from . import graph



@pytest.fixture(scope="module")
def house():
    g = graph.build()
    return g, graph.domain_edges(g)


def test_every_domain_has_a_layer(house):
    _, edges = house
    domains = {d for edge in edges for d in edge}
    assert sorted(d for d in domains if d not in graph.LAYERS) == []


def test_no_circle_between_domains(house):
    _, edges = house
    assert graph.cycles(edges) == []


def test_imports_run_downwards(house):
    _, edges = house
    upward = [f"{a} → {b} ({imp.source}:{imp.line} imports {imp.target})" for a, b, imp in graph.upward(edges)]
    assert upward == []


def test_no_domain_module_flat_in_market():
    assert graph.flat_domain_files() == []


def test_few_imports_inside_functions(house):
    g, _ = house
    inside = graph.function_imports(g)
    assert len(inside) <= graph.MAX_FUNCTION_IMPORTS, "\n".join(
        f"{i.source}:{i.line} imports {i.target}" for i in inside)


def test_no_module_over_700_lines():
    assert graph.long_modules() == []


def test_the_checker_sees_a_circle_and_an_upward_import():
    """The checker itself: a made-up graph with a circle and an upward edge is caught."""
    a = graph.Import("credit.services", "bids.models", 1, False, False)
    b = graph.Import("bids.services", "credit.models", 1, False, False)
    edges = {("credit", "bids"): [a], ("bids", "credit"): [b]}
    assert graph.cycles(edges) == [["bids", "credit"]]
    assert [(x, y) for x, y, _ in graph.upward(edges)] == [("credit", "bids")]
