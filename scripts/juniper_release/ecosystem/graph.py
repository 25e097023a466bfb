"""The dependency graph between registry packages, computed from each checkout's real pyproject.toml.

Every requirement (hard, or in any extra) naming another registry package is an edge, as long as its marker can be
true on a supported Python. Layers are computed (0 for no Juniper dependency, else 1 + the deepest dependency) and
must agree with the registry. The release order is layer by layer, ties broken by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from juniper_release.ecosystem import drawing
from juniper_release.ecosystem.project import Project, read_project, sibling_requirements
from juniper_release.ecosystem.registry import PYTHON_CANDIDATES, Package, Registry, present, require_checkout
from juniper_release.errors import JuniperError

# Marker environments the ecosystem supports; an edge counts if its marker holds in any of them.
SUPPORTED_PYTHONS = PYTHON_CANDIDATES


class CycleError(JuniperError):
    """The Juniper packages depend on each other in a cycle."""


class LayerError(JuniperError):
    """A declared layer disagrees with the computed one."""


@dataclass(frozen=True)
class Diagnosis:
    """One layer/extras defect of the graph: what is wrong and the one fix (shared by ``graph`` and ``check``)."""

    package: str
    check: str  # "graph" or "meta-extras"
    what: str
    fix: str
    cycle: bool = False


@dataclass(frozen=True)
class Edge:
    """``source`` requires ``target`` (hard when ``extra`` is None)."""

    source: str
    target: str
    requirement: Requirement
    extra: str | None

    @property
    def label(self) -> str:
        spec = str(self.requirement.specifier) or "any"
        return f"[{self.extra}] {spec}" if self.extra else spec

    @property
    def reason(self) -> str:
        """``target spec``, plus ``through extra [x]`` when an extra creates the edge."""
        spec = str(self.requirement.specifier) or "any version"
        return f"{self.target} {spec}" + (f" through extra [{self.extra}]" if self.extra else "")


def marker_can_hold(marker: Marker | None, extra: str | None) -> bool:
    """A requirement's environment marker holds on some Python this tool verifies on (3.11-3.13), with ``extra``: a
    requirement for ``python_version < '3.10'`` only is no edge, and no ceiling a bump must raise."""
    if marker is None:
        return True
    for py in SUPPORTED_PYTHONS:
        env = {"python_version": py, "python_full_version": f"{py}.0", "extra": extra or ""}
        if marker.evaluate(env):
            return True
    return False


@dataclass(frozen=True)
class Graph:
    """Packages (by registry name), their edges and their projects."""

    registry: Registry
    projects: Mapping[str, Project]
    edges: tuple[Edge, ...]
    _deps: Mapping[str, frozenset[str]] = field(default_factory=dict)
    unresolved: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Registry packages a package requires that the workspace lacks (an older checkout): no edge, no node."""

    def deps(self, name: str) -> frozenset[str]:
        """Registry packages ``name`` requires directly."""
        return self._deps.get(name, frozenset())

    def dependents(self, name: str) -> frozenset[str]:
        """Registry packages that require ``name`` directly."""
        return frozenset(e.source for e in self.edges if e.target == name)

    def find_cycle(self) -> list[str] | None:
        """One cycle as a closed path (``[a, b, a]``), or None."""
        state: dict[str, int] = {}
        stack: list[str] = []

        def visit(node: str) -> list[str] | None:
            state[node] = 1
            stack.append(node)
            for nxt in sorted(self.deps(node)):
                if state.get(nxt) == 1:
                    return [*stack[stack.index(nxt) :], nxt]
                if nxt not in state:
                    found = visit(nxt)
                    if found:
                        return found
            stack.pop()
            state[node] = 2
            return None

        for name in sorted(self.registry.names):
            if name not in state:
                found = visit(name)
                if found:
                    return found
        return None

    def computed_layers(self) -> dict[str, int]:
        """Layer per package: 0 without Juniper dependencies, else 1 + the deepest dependency's layer."""
        cycle = self.find_cycle()
        if cycle:
            raise CycleError(
                f"dependency cycle: {' -> '.join(cycle)}",
                "remove one of these requirements (a lower layer must never require a higher one)",
            )
        layers: dict[str, int] = {}

        def layer(name: str) -> int:
            if name not in layers:
                layers[name] = 1 + max((layer(d) for d in self.deps(name)), default=-1)
            return layers[name]

        for name in self.registry.names:
            layer(name)
        return layers

    def layer_mismatches(self) -> list[tuple[Package, int]]:
        """Packages whose declared layer differs from the computed one, with the computed layer."""
        computed = self.computed_layers()
        # A package requiring a missing package can sit above its computed layer (the missing edge would lift it).
        return [
            (p, computed[p.name])
            for p in self.registry.packages
            if computed[p.name] > p.layer or (computed[p.name] < p.layer and not self.unresolved.get(p.name))
        ]

    def check_layers(self) -> None:
        """Raise on the first layer/extras defect :func:`diagnose` finds (the finding ``invoke check`` prints)."""
        for found in diagnose(self):
            raise (CycleError if found.cycle else LayerError)(found.what, found.fix)

    def release_order(self, names: Iterable[str] | None = None) -> list[Package]:
        """Packages layer by layer (computed layers), ties broken by name."""
        layers = self.computed_layers()
        wanted = set(self.registry.names if names is None else names)
        chosen = [p for p in self.registry.packages if p.name in wanted]
        return sorted(chosen, key=lambda p: (layers[p.name], p.name))

    def layers(self) -> list[list[Package]]:
        """The release order grouped by layer."""
        computed = self.computed_layers()
        grouped: dict[int, list[Package]] = {}
        for pkg in self.release_order():
            grouped.setdefault(computed[pkg.name], []).append(pkg)
        return [grouped[k] for k in sorted(grouped)]

    # ---- rendering (:mod:`juniper_release.ecosystem.drawing`)

    def shown_layers(self) -> dict[str, int]:
        """The layer a rendering shows per package: the computed one, or the declared one when a cycle leaves none."""
        return self.computed_layers() if not self.find_cycle() else {p.name: p.layer for p in self.registry.packages}

    def to_mermaid(self, labels: bool = False) -> str:
        """The graph as Mermaid (:func:`juniper_release.ecosystem.drawing.to_mermaid`)."""
        return drawing.to_mermaid(self, labels)

    def to_dot(self, labels: bool = False) -> str:
        """The graph as DOT (:func:`juniper_release.ecosystem.drawing.to_dot`)."""
        return drawing.to_dot(self, labels)

    def render(self, fmt: str, labels: bool = False) -> str:
        """The graph as text: ``mermaid`` or ``dot`` (``svg`` and ``png`` are :meth:`picture`)."""
        drawing.check_format(fmt)
        if fmt in drawing.PICTURES:
            return self.picture(fmt, labels).decode("utf-8") if fmt == "svg" else self.to_dot(labels)
        return self.to_dot(labels) if fmt == "dot" else self.to_mermaid(labels)

    def picture(self, fmt: str, labels: bool = False) -> bytes:
        """The graph drawn by Graphviz (``dot -Tsvg`` or ``-Tpng``); a one-line error when ``dot`` is missing or
        fails."""
        return drawing.draw(self.to_dot(labels), fmt)


def diagnose(graph: Graph) -> list[Diagnosis]:
    """The graph's layer/extras defects, each with one fix: a cycle; a meta-package whose extras miss packages (it
    sinks a layer: the fix is the extra, not the layer); declared layers that disagree with the computed ones, naming
    the requirements (and the extras that create them) behind the computed layer."""
    file = graph.registry.path.name
    cycle = graph.find_cycle()
    if cycle:
        what = f"dependency cycle: {' -> '.join(cycle)}"
        fix = "remove one of these requirements (a lower layer must never require a higher one)"
        return [Diagnosis(cycle[0], "graph", what, fix, cycle=True)]
    out: list[Diagnosis] = []
    explained: set[str] = set()
    for pkg in graph.registry.packages:
        if not pkg.is_meta:
            continue
        named = {e.target for e in graph.edges if e.source == pkg.name}
        missing = [p.name for p in graph.registry.packages if p.name != pkg.name and p.name not in named]
        if missing:
            lacking = [x for x in pkg.extras if x not in graph.projects[pkg.name].optional]
            also = f" ({graph.registry.shown_path} expects extras it lacks: {', '.join(lacking)})" if lacking else ""
            explained.add(pkg.name)
            out.append(
                Diagnosis(
                    pkg.name,
                    "meta-extras",
                    f"the meta-package's extras do not name {', '.join(missing)}{also}",
                    f"add them to an extra (its extras: {', '.join(pkg.extras) or 'none yet'}) and to [all]",
                )
            )
    for pkg, computed in graph.layer_mismatches():
        if pkg.name in explained and computed < pkg.layer:
            continue
        why = ", ".join(e.reason for e in graph.edges if e.source == pkg.name) or "nothing"
        out.append(
            Diagnosis(
                pkg.name,
                "graph",
                f"{file}: {pkg.name} declares layer {pkg.layer} but its dependencies put it in layer {computed} "
                f"(requires: {why})",
                f"set layer = {computed} for {pkg.name} in {file}, or drop the requirement",
            )
        )
    return out


def order_line(graph: Graph) -> str:
    """The release order on one line: ``release order: layer 0: a, b | layer 1: c``."""
    order = " | ".join(f"layer {i}: {', '.join(p.name for p in layer)}" for i, layer in enumerate(graph.layers()))
    return f"release order: {order}"


def build_graph(registry: Registry, workspace: Path, projects: Mapping[str, Project] | None = None) -> Graph:
    """Read every checkout's pyproject.toml and collect the edges between registry packages."""
    full = registry
    registry = present(registry, workspace)  # a sub-package an older checkout lacks has no node
    loaded = dict(projects) if projects is not None else {}
    for pkg in registry.packages:
        if pkg.name not in loaded:
            loaded[pkg.name] = read_project(pkg, require_checkout(pkg, workspace))
    canon = {canonicalize_name(p.name): p.name for p in registry.packages}
    edges: list[Edge] = []
    deps: dict[str, set[str]] = {p.name: set() for p in registry.packages}
    for pkg in registry.packages:
        for extra, req in sibling_requirements(loaded[pkg.name], set(canon)):
            if not marker_can_hold(req.marker, extra):
                continue
            target = canon[canonicalize_name(req.name)]
            edges.append(Edge(pkg.name, target, req, extra))
            deps[pkg.name].add(target)
    gone = {canonicalize_name(p.name): p.name for p in full.packages if p.name not in deps}
    unresolved = {
        pkg.name: frozenset(
            gone[canonicalize_name(r.name)] for _, r in sibling_requirements(loaded[pkg.name], set(gone))
        )
        for pkg in registry.packages
    }
    return Graph(
        registry,
        loaded,
        tuple(edges),
        {k: frozenset(v) for k, v in deps.items()},
        {k: v for k, v in unresolved.items() if v},
    )
