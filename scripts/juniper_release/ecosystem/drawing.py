"""How the dependency graph is drawn: DOT (for Graphviz's pictures) and Mermaid (for the Markdown summaries).

Both drawings read the same way: one row per layer, layer 0 (released first) at the bottom and each dependent above
what it requires; one box per lockstep group and per repository that holds several packages (:func:`cluster_of`); hard requirements as
solid arrows, optional ones (an extra's) dashed. A specifier is the arrow's tooltip in an SVG, and its label only
with ``labels=True`` (``invoke graph --labels``), so a package with twenty requirements does not bury the picture.
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, BinaryIO

from juniper_release.errors import JuniperError, suggest

if TYPE_CHECKING:
    from juniper_release.ecosystem.graph import Edge, Graph
    from juniper_release.ecosystem.registry import Package, Registry

FORMATS = ("mermaid", "dot", "svg", "png")
PICTURES = ("svg", "png")
"""The formats Graphviz's ``dot`` draws from :func:`to_dot` (it must be installed)."""
DOT_INSTALL = "install Graphviz (`apt-get install graphviz`, `brew install graphviz`), or use --format mermaid or dot"

DOT_STYLE: Mapping[str, Mapping[str, str]] = {
    # newrank: one global ranking. dot's default ranks each cluster on its own, which cannot keep a row
    # (rank=same) across repository boxes and fails outright on Graphviz 2.43 ("trouble in init_rank").
    "graph": {"newrank": "true", "rankdir": "TB", "ranksep": "0.5", "nodesep": "0.25", "fontname": "Helvetica"},
    "node": {"shape": "box", "style": "rounded,filled", "fillcolor": "white", "fontname": "Helvetica"},
    "edge": {"arrowsize": "0.7", "fontname": "Helvetica", "fontsize": "10"},
    "cluster": {"style": "rounded,filled", "fillcolor": "#eef2f7", "color": "#8da2bf", "fontsize": "12"},
    "row": {"shape": "plaintext", "style": "", "fontcolor": "#555555", "fontsize": "12"},
    "row-chain": {"style": "invis"},
    "hard": {"style": "solid", "color": "#333333"},
    "optional": {"style": "dashed", "color": "#7a7a7a"},
}
"""Every Graphviz attribute the drawing sets, in one place: the graph, nodes, edges, repository boxes, the row
labels at the left (and the invisible chain that stacks them), and the two kinds of edge."""


def check_format(fmt: str) -> None:
    """``invoke graph --format`` is one of :data:`FORMATS`."""
    if fmt not in FORMATS:
        raise JuniperError(f"unknown graph format {fmt!r}", f"use --format {', '.join(FORMATS)}")


def cluster_of(registry: Registry, pkg: Package) -> str | None:
    """The box ``pkg`` is drawn in: its lockstep group (``group sdk (v{version})``: one version, one tag), else its
    repository when that holds another package outside any group; None (no box) for a package alone in its
    repository. Both drawings ask this one function."""
    group = registry.group_of(pkg)
    if group is not None:
        return f"group {group.name} ({group.tag_for('X.Y.Z')})"
    shared = [p for p in registry.packages if p.repo == pkg.repo and p.name != pkg.name and not registry.group_of(p)]
    return pkg.repo if shared else None


def boxes(graph: Graph) -> list[tuple[str | None, list[Package]]]:
    """The packages by box (:func:`cluster_of`), lowest layer first; each box's packages by layer, then name. The
    packages drawn without a box come last, under None."""
    layers = graph.shown_layers()
    grouped: dict[str | None, list[Package]] = {}
    for pkg in sorted(graph.registry.packages, key=lambda p: (layers[p.name], p.name)):
        grouped.setdefault(cluster_of(graph.registry, pkg), []).append(pkg)
    loose = grouped.pop(None, [])
    return [*grouped.items(), *([(None, loose)] if loose else [])]


def rows(graph: Graph) -> list[tuple[int, list[str]]]:
    """``(layer, package names)`` from the top row down: the highest layer first, layer 0 last."""
    layers = graph.shown_layers()
    by_layer: dict[int, list[str]] = {}
    for name in sorted(layers):
        by_layer.setdefault(layers[name], []).append(name)
    return sorted(by_layer.items(), reverse=True)


def _q(text: str) -> str:
    """``text`` as a quoted DOT string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _attrs(*parts: Mapping[str, str]) -> str:
    merged: dict[str, str] = {}
    for part in parts:
        merged.update(part)
    return ", ".join(f"{key}={_q(value)}" for key, value in merged.items())


def _edge_tooltip(edge: Edge) -> str:
    return f"{edge.source} requires {edge.reason}"


def to_dot(graph: Graph, labels: bool = False) -> str:
    """The graph as DOT: one ``rank=same`` row per layer with its label at the left, a box per :func:`cluster_of`,
    a tooltip on every node and edge, and specifiers as edge labels only with ``labels``."""
    layers = graph.shown_layers()
    lines = ["digraph juniper {", f"    graph [{_attrs(DOT_STYLE['graph'])}];"]
    lines += [f"    node [{_attrs(DOT_STYLE['node'])}];", f"    edge [{_attrs(DOT_STYLE['edge'])}];"]
    shown = rows(graph)
    for layer, names in shown:
        row = _q(f"layer {layer}")
        lines.append(f"    {{ rank=same; {row} [{_attrs(DOT_STYLE['row'])}]; {'; '.join(map(_q, names))}; }}")
    if len(shown) > 1:
        chain = " -> ".join(_q(f"layer {layer}") for layer, _ in shown)
        lines.append(f"    {chain} [{_attrs(DOT_STYLE['row-chain'])}];")
    for box, members in boxes(graph):
        indent = "    " if box is None else "        "
        if box is not None:
            lines += [f"    subgraph {_q('cluster_' + box)} {{", f"        graph [{_attrs(DOT_STYLE['cluster'])}];"]
            lines.append(f"        label={_q(box)};")
        for pkg in members:
            tip = f"{pkg.name}: layer {layers[pkg.name]}, repository {pkg.repo}"
            lines.append(f"{indent}{_q(pkg.name)} [tooltip={_q(tip)}];")
        if box is not None:
            lines.append("    }")
    for e in graph.edges:
        style = DOT_STYLE["hard" if e.extra is None else "optional"]
        shown_label = {"label": e.label} if labels else {}
        tip = _edge_tooltip(e)
        lines.append(f"    {_q(e.source)} -> {_q(e.target)} [{_attrs(style, shown_label, {'tooltip': tip})}];")
    lines.append("}")
    return "\n".join(lines)


def _node_id(name: str) -> str:
    """A Mermaid id: ``name`` (a package, or a box such as ``group sdk (vX.Y.Z)``) with every run of other than
    letters, digits and ``_`` made one ``_``."""
    return re.sub(r"\W+", "_", name).strip("_")


def _row_id(layer: int) -> str:
    return f"row__{layer}"


def _mermaid_rows(graph: Graph) -> tuple[list[str], list[str]]:
    """Mermaid has no ``rank=same``: a column of row labels ("layer N", chained by invisible links) with an invisible
    link from each label to every package of the layer below holds each layer on its own row. The labels, declared
    first (at the left), and the links, written last (after the subgraphs have placed every package)."""
    shown = rows(graph)
    labels = ["    classDef row fill:none,stroke:none,color:#555555"]
    labels += [f'    {_row_id(layer)}["layer {layer}"]:::row' for layer, _ in shown]
    links = ["    " + " ~~~ ".join(_row_id(layer) for layer, _ in shown)] if len(shown) > 1 else []
    for (upper, _), (_, names) in itertools.pairwise(shown):
        links += [f"    {_row_id(upper)} ~~~ {_node_id(name)}" for name in names]
    for (_, names), (lower, _) in itertools.pairwise(shown):
        links += [f"    {_node_id(name)} ~~~ {_row_id(lower)}" for name in names]
    return labels, links


def to_mermaid(graph: Graph, labels: bool = False) -> str:
    """The graph as a Mermaid flowchart drawn like :func:`to_dot`: the row labels first (at the left), a subgraph
    per box with its packages in layer order, optional edges dotted, and specifiers as labels only with
    ``labels``."""
    layers = graph.shown_layers()
    row_labels, row_links = _mermaid_rows(graph)
    lines = ["graph TB", *row_labels]
    for box, members in boxes(graph):
        indent = "    " if box is None else "        "
        if box is not None:
            lines.append(f'    subgraph repo_{_node_id(box)}["{box}"]')
        for pkg in members:
            lines.append(f'{indent}{_node_id(pkg.name)}["{pkg.name}<br/>layer {layers[pkg.name]}"]')
        if box is not None:
            lines.append("    end")
    for e in graph.edges:
        arrow = "-->" if e.extra is None else "-.->"
        label = f'|"{e.label}"|' if labels else ""
        lines.append(f"    {_node_id(e.source)} {arrow}{label} {_node_id(e.target)}")
    return "\n".join([*lines, *row_links])


def _first_error(stderr: bytes) -> str:
    """dot's first ``Error`` line (it may warn first, and lists the details after), else its first line."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return next((line for line in lines if line.lower().startswith("error")), lines[0] if lines else "no output")


def draw(dot_source: str, fmt: str) -> bytes:
    """``dot_source`` drawn as ``fmt`` (svg, png) by Graphviz's ``dot``. Without ``dot``: say how to install it.
    When ``dot`` fails: its first error line, and the command that writes its input for a bug report."""
    if fmt not in PICTURES:
        raise JuniperError(f"cannot draw the graph as {fmt!r}", f"use --format {' or '.join(PICTURES)}")
    dot = shutil.which("dot")
    if dot is None:
        raise JuniperError(f"--format {fmt} needs Graphviz's `dot`, which is not on PATH", DOT_INSTALL)
    proc = subprocess.run([dot, f"-T{fmt}"], input=dot_source.encode(), capture_output=True, check=False)
    if proc.returncode != 0:
        raise JuniperError(
            f"Graphviz's `dot -T{fmt}` failed (exit {proc.returncode}): {_first_error(proc.stderr)}",
            f"write its input with `{suggest('invoke graph --format dot')} > graph.dot` and report it with "
            "`dot -V` to Graphviz, or use --format mermaid",
        )
    return proc.stdout


def write_picture(data: bytes, fmt: str, stream: BinaryIO | None = None) -> None:
    """Write a drawn graph to stdout (``stream``); a PNG is refused on a terminal (redirect it to a file)."""
    out = stream or sys.stdout.buffer
    if fmt == "png" and out.isatty():
        raise JuniperError("--format png would print binary data on the terminal", "redirect it: > graph.png")
    out.write(data)
    out.flush()
