"""Read the project's import graph with ``ast`` (nothing is imported or run).

Used by ``test_layers.py`` and printable on its own::

    python -m tests.architecture.graph

Domains: each top-level app (``agencies``, ``bids``, ``credit``, ``cms``,
``supervision``) and each package under ``market/`` (``market.core``,
``market.requests`` …). Wiring — the project settings and URL conf, management
commands, migrations, demo data, app configs — stands above every layer and is
left out of the graph.
"""
from __future__ import annotations

import ast
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("market", "agencies", "bids", "credit", "cms", "supervision")

# Lower number = lower layer. A module may import its own domain and any
# domain on a strictly lower layer (same-layer siblings may not import each other).
LAYERS: dict[str, int] = {
    "market.core": 0,
    "market.api": 1,
    "market.search": 1,
    "market.accounts": 2,
    "market.calendar": 3,
    "market.catalogue": 3,
    "agencies": 4,
    "credit": 5,
    "market.requests": 6,
    "bids": 7,
    "market.contracts": 8,
    "market.payments": 9,
    "supervision": 10,
    "market.opendata": 10,
    "market.notifications": 11,
    "cms": 12,
}

# Modules that wire the domains together; they may import anything and are
# not domains themselves.
WIRING_MODULES = {
    "market",
    "market.settings",
    "market.settings_test",
    "market.urls",
    "market.wsgi",
    "market.apps",
    "market.api.urls",  # the API's root URL conf
    "market.models",  # the market app label's models module: star-imports each package's models
    "market.admin",  # the admin's autodiscovery entry: imports each package's admin
}
WIRING_PREFIXES = ("market.demo", "market.management")
WIRING_PARTS = {"migrations", "management"}

MAX_LINES = 700
MAX_FUNCTION_IMPORTS = 25


@dataclass
class Import:
    source: str  # importing module
    target: str  # imported module (project module, resolved)
    line: int
    in_function: bool
    type_checking: bool


@dataclass
class Graph:
    modules: dict[str, Path] = field(default_factory=dict)
    imports: list[Import] = field(default_factory=list)


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def iter_sources() -> list[Path]:
    out = []
    for app in APPS:
        for p in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in p.parts:
                continue
            out.append(p)
    return out


def is_wiring(mod: str) -> bool:
    if mod in WIRING_MODULES:
        return True
    if mod.startswith(WIRING_PREFIXES):
        return True
    parts = mod.split(".")
    if WIRING_PARTS & set(parts):
        return True
    # each app's AppConfig is wiring (it connects receivers)
    if parts[-1] == "apps":
        return True
    return False


def domain_of(mod: str) -> str | None:
    parts = mod.split(".")
    if parts[0] not in APPS:
        return None
    if parts[0] == "market":
        if len(parts) == 1:
            return None
        pkg = ROOT / "market" / parts[1]
        if pkg.is_dir():
            return "market." + parts[1]
        return mod  # a flat market/x.py file is a domain of its own (and should not exist)
    return parts[0]


def _resolve(mod: str, is_pkg: bool, level: int, name: str | None) -> str:
    if level == 0:
        return name or ""
    base = mod.split(".")
    if not is_pkg:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _known(target: str, modules: dict[str, Path]) -> str | None:
    """Longest project-module prefix of ``target``."""
    parts = target.split(".")
    while parts:
        cand = ".".join(parts)
        if cand in modules:
            return cand
        parts.pop()
    return None


class _Visitor(ast.NodeVisitor):
    def __init__(self, mod: str, is_pkg: bool, modules: dict[str, Path], out: list[Import]):
        self.mod, self.is_pkg, self.modules, self.out = mod, is_pkg, modules, out
        self.depth = 0
        self.tc = 0

    def visit_FunctionDef(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_If(self, node):
        test = ast.unparse(node.test)
        if test in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            self.tc += 1
            for n in node.body:
                self.visit(n)
            self.tc -= 1
            for n in node.orelse:
                self.visit(n)
        else:
            self.generic_visit(node)

    def _add(self, target: str, line: int):
        known = _known(target, self.modules)
        if known is None:
            return
        self.out.append(Import(self.mod, known, line, self.depth > 0, self.tc > 0))

    def visit_Import(self, node):
        for a in node.names:
            self._add(a.name, node.lineno)

    def visit_ImportFrom(self, node):
        base = _resolve(self.mod, self.is_pkg, node.level, node.module)
        for a in node.names:
            full = f"{base}.{a.name}" if base else a.name
            if _known(full, self.modules) == full:
                self._add(full, node.lineno)
            else:
                self._add(base, node.lineno)


def build() -> Graph:
    g = Graph()
    for p in iter_sources():
        g.modules[module_name(p)] = p
    for mod, p in g.modules.items():
        tree = ast.parse(p.read_text(encoding="utf-8"), str(p))
        _Visitor(mod, p.name == "__init__.py", g.modules, g.imports).visit(tree)
    return g


def domain_edges(g: Graph, *, include_type_checking: bool = False) -> dict[tuple[str, str], list[Import]]:
    edges: dict[tuple[str, str], list[Import]] = defaultdict(list)
    for imp in g.imports:
        if imp.type_checking and not include_type_checking:
            continue
        if is_wiring(imp.source):
            continue
        a, b = domain_of(imp.source), domain_of(imp.target)
        if a is None or b is None or a == b or is_wiring(imp.target):
            continue
        edges[(a, b)].append(imp)
    return edges


def cycles(edges) -> list[list[str]]:
    """Strongly connected components with more than one domain (Tarjan)."""
    adj: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        adj[a].add(b)
        adj.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in adj[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(adj):
        if v not in index:
            strong(v)
    return out


def upward(edges) -> list[tuple[str, str, Import]]:
    out = []
    for (a, b), imps in edges.items():
        la, lb = LAYERS.get(a), LAYERS.get(b)
        if la is None or lb is None or lb >= la:
            out.append((a, b, imps[0]))
    return out


def function_imports(g: Graph) -> list[Import]:
    return [i for i in g.imports if i.in_function and not is_wiring(i.source)]


def flat_domain_files() -> list[str]:
    allowed = {"__init__.py", "settings.py", "settings_test.py", "urls.py", "wsgi.py", "apps.py", "models.py", "admin.py"}
    return sorted(p.name for p in (ROOT / "market").glob("*.py") if p.name not in allowed)


def long_modules() -> list[tuple[str, int]]:
    out = []
    for p in iter_sources():
        mod = module_name(p)
        if mod.startswith("market.demo"):
            continue
        n = len(p.read_text(encoding="utf-8").splitlines())
        if n > MAX_LINES:
            out.append((str(p.relative_to(ROOT)), n))
    return out


def report() -> str:
    g = build()
    edges = domain_edges(g)
    lines = []
    cyc = cycles(edges)
    lines.append(f"domains: {len({d for e in edges for d in e})}, domain edges: {len(edges)}")
    lines.append(f"circles: {len(cyc)}")
    for c in cyc:
        lines.append("  " + " ↔ ".join(c))
    up = upward(edges)
    lines.append(f"upward or unlayered imports: {len(up)}")
    for a, b, imp in sorted(up):
        lines.append(f"  {a} → {b}  ({imp.source}:{imp.line} imports {imp.target}; {len(edges[(a, b)])} in all)")
    fi = function_imports(g)
    lines.append(f"project imports inside functions: {len(fi)} (at most {MAX_FUNCTION_IMPORTS})")
    flat = flat_domain_files()
    lines.append(f"flat files in market/: {len(flat)} {' '.join(flat)}")
    lm = long_modules()
    lines.append(f"modules over {MAX_LINES} lines: {len(lm)} " + " ".join(f"{p}({n})" for p, n in lm))
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
    if "-v" in sys.argv:
        for i in function_imports(build()):
            print(f"  fn-import {i.source}:{i.line} → {i.target}")
