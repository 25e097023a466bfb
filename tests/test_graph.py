"""The dependency graph computed from the stand-in checkouts' real pyproject.toml files."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import tomlkit
from conftest import RELEASE_ORDER, run_task
from juniper_release.ecosystem.drawing import check_format
from juniper_release.ecosystem.graph import CycleError, LayerError, build_graph, order_line
from juniper_release.errors import JuniperError


def test_clean_order_layers_and_edges(ecosystem, registry):
    graph = build_graph(registry, ecosystem.workspace)
    graph.check_layers()
    assert tuple(p.name for p in graph.release_order()) == RELEASE_ORDER
    assert [[p.name for p in layer] for layer in graph.layers()][1:] == [
        ["juniper-cascor", "juniper-data"],
        ["juniper-ml"],
    ]
    assert graph.deps("juniper-ml") == {n for n in registry.names if n != "juniper-ml"}
    assert graph.dependents("juniper-data-client") == {"juniper-data", "juniper-cascor", "juniper-ml"}
    assert graph.find_cycle() is None


def test_mermaid_and_dot(ecosystem, registry):
    graph = build_graph(registry, ecosystem.workspace)
    mermaid = graph.to_mermaid()
    assert mermaid.startswith("graph TB")
    assert 'juniper_data["juniper-data<br/>layer 1"]' in mermaid
    assert "juniper_data -.-> juniper_data_client" in mermaid
    assert 'juniper_data -.->|"[api] <0.4,>=0.3.1"| juniper_data_client' in graph.to_mermaid(labels=True)
    dot = graph.to_dot()
    assert dot.startswith("digraph juniper {") and dot.endswith("}")
    assert '"juniper-ml" -> "juniper-cascor" [style="dashed", color=' in dot
    assert 'label="[services] <0.6,>=0.5.0"' in graph.to_dot(labels=True)


def test_cycle_names_the_whole_cycle(make_ecosystem, registry):
    graph = build_graph(registry, make_ecosystem("cycle").workspace)
    cycle = graph.find_cycle()
    assert cycle is not None and cycle[0] == cycle[-1]
    assert {"juniper-data-client", "juniper-ml"} <= set(cycle)
    with pytest.raises(CycleError) as info:
        graph.release_order()
    message = str(info.value)
    assert f"dependency cycle: {' -> '.join(cycle)}" in message and "Fix:" in message
    # Every hop of the named cycle is a real edge.
    for source, target in itertools.pairwise(cycle):
        assert target in graph.deps(source)


def test_wrong_layer_shows_declared_and_computed(make_ecosystem, registry):
    graph = build_graph(registry, make_ecosystem("wrong-layer").workspace)
    with pytest.raises(LayerError) as info:
        graph.check_layers()
    message = str(info.value)
    assert "juniper-cascor-client declares layer 0 but its dependencies put it in layer 1" in message
    assert "juniper-data-client" in message and "Fix: set layer = 1" in message


def _add_dependency(root: Path, requirement: str) -> None:
    pyproject = root / "pyproject.toml"
    doc = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    doc["project"]["dependencies"].append(requirement)
    pyproject.write_text(tomlkit.dumps(doc), encoding="utf-8")


@pytest.mark.parametrize(
    ("marker", "edge"),
    [('python_version < "3.0"', False), ('python_version >= "3.12"', True), ('sys_platform == "win32"', False)],
    ids=["py2-only", "py312", "windows"],
)
def test_markers_are_honoured(ecosystem, registry, marker, edge):
    _add_dependency(ecosystem.checkout("juniper-cascor-client"), f"juniper-data-client>=0.3; {marker}")
    graph = build_graph(registry, ecosystem.workspace)
    assert ("juniper-data-client" in graph.deps("juniper-cascor-client")) is edge


def test_graph_task_prints_mermaid_and_dot(ecosystem):
    ws = str(ecosystem.workspace)
    mermaid = run_task("graph", "--workspace", ws)
    assert mermaid.returncode == 0, mermaid.stderr
    assert mermaid.stdout.startswith("graph TB")
    assert "release order: layer 0: juniper-cascor-client" in mermaid.stderr
    dot = run_task("graph", "--workspace", ws, "--format", "dot")
    assert dot.returncode == 0 and dot.stdout.startswith("digraph juniper {")
    bad = run_task("graph", "--workspace", ws, "--format", "jpeg")
    assert bad.returncode == 2 and "unknown graph format 'jpeg'" in bad.stderr and "Traceback" not in bad.stderr


def test_graph_task_fails_on_a_cycle(make_ecosystem):
    result = run_task("graph", "--workspace", str(make_ecosystem("cycle").workspace))
    assert result.returncode == 2
    assert "dependency cycle: " in result.stderr and "Traceback" not in result.stderr


def test_unknown_format_is_refused_before_anything_is_read(ecosystem, registry):
    with pytest.raises(JuniperError, match=r"unknown graph format 'jpeg'\. Fix: use --format mermaid, dot, svg, png"):
        check_format("jpeg")
    graph = build_graph(registry, ecosystem.workspace)
    with pytest.raises(JuniperError, match="unknown graph format"):
        graph.render("gif")
    assert graph.render("dot") == graph.to_dot() and graph.render("mermaid") == graph.to_mermaid()
    assert order_line(graph) == (
        "release order: layer 0: juniper-cascor-client, juniper-cascor-worker, juniper-data-client"
        " | layer 1: juniper-cascor, juniper-data | layer 2: juniper-ml"
    )


def test_an_extra_edge_changes_the_layers_and_says_which_extra(make_ecosystem, registry):
    graph = build_graph(registry, make_ecosystem("extra-edge").workspace)
    assert graph.computed_layers()["juniper-cascor"] == 2 and graph.computed_layers()["juniper-ml"] == 3
    with pytest.raises(LayerError) as info:
        graph.check_layers()
    message = str(info.value)
    assert "juniper-cascor declares layer 1 but its dependencies put it in layer 2" in message
    assert "juniper-data <0.7,>=0.6.0 through extra [juniper-data]" in message
    assert "Fix: set layer = 2 for juniper-cascor" in message


def _bin_without_dot(tmp_path: Path) -> str:
    """A PATH holding git alone (and no Graphviz): what a machine without ``dot`` looks like."""
    import shutil

    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
    return str(bindir)


def test_svg_and_png_are_drawn_by_graphviz(ecosystem, registry):
    import shutil

    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed (apt-get install graphviz)")
    graph = build_graph(registry, ecosystem.workspace)
    svg = graph.picture("svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "juniper&#45;data&#45;client" in svg
    assert graph.picture("png").startswith(b"\x89PNG")
    drawn = run_task("graph", "--workspace", str(ecosystem.workspace), "--format", "svg")
    assert drawn.returncode == 0, drawn.stderr
    assert "<svg" in drawn.stdout and "juniper&#45;ml" in drawn.stdout


def test_without_dot_svg_is_a_one_line_error_saying_how_to_install_it(ecosystem, registry, monkeypatch, tmp_path):
    bindir = _bin_without_dot(tmp_path)
    result = run_task("graph", "--workspace", str(ecosystem.workspace), "--format", "svg", env={"PATH": bindir})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error == [
        "error: --format svg needs Graphviz's `dot`, which is not on PATH. Fix: install Graphviz (`apt-get install "
        "graphviz`, `brew install graphviz`), or use --format mermaid or dot"
    ]
    assert result.stdout == ""
    monkeypatch.setenv("PATH", bindir)
    with pytest.raises(JuniperError, match="needs Graphviz's `dot`"):
        build_graph(registry, ecosystem.workspace).picture("png")
