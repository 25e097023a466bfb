"""``invoke init``'s output: the registry text (tomlkit, every guessed field with a ``guess:`` comment), the summary
of what was found and guessed, and the guarded write (never over an existing file without ``--force``).

The file names no directory of the machine it is made on: its paths are relative to the workspace, which every task
takes as ``--workspace DIR``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Table

from juniper_release import output
from juniper_release.ecosystem.onboard import (
    SUBPACKAGE_TAG_FORMAT,
    Plan,
    Planned,
    default_workflow,
    plan_registry,
)
from juniper_release.errors import ConfigError
from juniper_release.files import write_text

INDEXES = {
    "pypi": ("https://upload.pypi.org/legacy/", "https://pypi.org/simple/"),
    "testpypi": ("https://test.pypi.org/legacy/", "https://test.pypi.org/simple/"),
}
TORCH = ("2.13.0", "https://download.pytorch.org/whl/cpu")
GUESS = "guess: "


def _value(value: Any, guess: str | None = None) -> Any:
    item = tomlkit.item(value)
    if isinstance(value, list) and len(value) > 3:
        item.multiline(True)
    if guess:
        item.comment(GUESS + guess)
    return item


def _settings(plan: Plan) -> Table:
    table = tomlkit.table()
    for key in ("owner", "organization", "tag_format", "branch", "publish_workflow"):
        table.add(key, _value(getattr(plan, key), plan.guesses.get(key)))
    return table


def _indexes() -> Table:
    indexes = tomlkit.table(is_super_table=True)
    for name, (upload, simple) in INDEXES.items():
        table = tomlkit.table()
        table.add("upload_url", upload)
        table.add("simple_url", simple)
        indexes.add(name, table)
    return indexes


def _torch(plan: Plan) -> Table:
    table = tomlkit.table()
    needed = any(p.torch for p in plan.packages)
    table.add(tomlkit.comment("Verification installs this exact CPU build, never the multi-GB CUDA one."))
    if not needed:
        table.add(tomlkit.comment("No package found needs torch; the section is required by the loader."))
    table.add("version", TORCH[0])
    table.add("source", TORCH[1])
    return table


def _about(pkg: Planned) -> str:
    """The package's comment line: how it was found, its version source and its Pythons."""
    source = pkg.found.source.label if pkg.found.source else "version source unknown"
    pythons = f"requires-python {pkg.found.requires_python}" if pkg.found.requires_python else "no requires-python"
    return f"{pkg.found.how}; version: {source}; {pythons} (verified on its floor unless python = [...] is set)"


def _package(plan: Plan, pkg: Planned) -> Table:
    g = pkg.guesses
    table = tomlkit.table()
    table.add(tomlkit.comment(_about(pkg)))
    table.add("name", _value(pkg.name, g.get("version_source")))
    table.add("repo", _value(pkg.repo, g.get("repo")))
    table.add("path", pkg.found.checkout)
    if pkg.found.subdir:
        table.add("subdir", pkg.found.subdir)
    table.add("import", _value(list(pkg.found.imports), g.get("import")))
    table.add("layer", pkg.layer)
    table.add("torch", pkg.torch)
    table.add("extras", _value(list(pkg.extras), g.get("extras")))
    table.add("smoke", _value(list(pkg.smoke)))
    implied = SUBPACKAGE_TAG_FORMAT if pkg.found.subdir else plan.tag_format
    grouped = any(pkg.name in group.members for group in plan.groups)
    if pkg.tag_format != implied or grouped:
        table.add("tag_format", _value(pkg.tag_format, g.get("tag_format")))
    elif "tag_format" in g:
        table.add(tomlkit.comment(f"tag_format: {GUESS}{g['tag_format']}"))
    if pkg.found.version_file:
        table.add("version_file", _value(pkg.found.version_file, g.get("version_file")))
    workflow = pkg.publish_workflow or default_workflow(plan, pkg)
    if workflow != default_workflow(plan, pkg):
        table.add("publish_workflow", _value(workflow, g.get("publish_workflow")))
    elif "publish_workflow" in g:
        table.add(tomlkit.comment(f"publish_workflow: {GUESS}{g['publish_workflow']}"))
    if pkg.prerelease_workflow:
        table.add("prerelease_workflow", pkg.prerelease_workflow)
    return table


def render(plan: Plan) -> str:
    """The registry text of ``plan``."""
    repos = len({p.found.checkout for p in plan.packages})
    doc = tomlkit.document()
    for line in (
        f"The registry of {len(plan.packages)} packages in {repos} repositories, written by `invoke init` from the",
        "checkouts of a workspace. Paths are relative to that workspace: run every task with",
        "`--workspace DIR --registry THIS_FILE`. A value commented 'guess:' was not read from the checkouts.",
    ):
        doc.add(tomlkit.comment(line))
    doc.add(tomlkit.nl())
    doc.add("settings", _settings(plan))
    doc.add("indexes", _indexes())
    doc.add("torch", _torch(plan))
    if plan.groups:
        groups = tomlkit.aot()
        for group in plan.groups:
            table = tomlkit.table()
            table.add(tomlkit.comment("a lockstep group: one version and one tag for every member"))
            table.add("name", group.name)
            table.add("members", _value(list(group.members)))
            table.add("tag_format", _value(group.tag_format, group.guess))
            groups.append(table)
        doc.add("group", groups)
    packages = tomlkit.aot()
    for pkg in plan.packages:
        packages.append(_package(plan, pkg))
    doc.add("package", packages)
    return _layer_rules(tomlkit.dumps(doc), plan)


def _layer_rules(text: str, plan: Plan) -> str:
    """A ``# ---- layer N`` line before the first package of each layer (packages are in layer order)."""
    out: list[str] = []
    names = iter(plan.packages)
    seen: set[int] = set()
    for line in text.splitlines(keepends=True):
        if line.strip() == "[[package]]":
            pkg = next(names)
            if pkg.layer not in seen:
                seen.add(pkg.layer)
                out.append(f"# ---- layer {pkg.layer}\n\n")
        out.append(line)
    return "".join(out)


def guesses(plan: Plan) -> list[str]:
    """Every guess as ``where.field: why``."""
    out = [f"settings.{key}: {why}" for key, why in plan.guesses.items()]
    out += [f"group {g.name}: {g.guess}" for g in plan.groups if g.guess]
    out += [f"{pkg.name}.{key}: {why}" for pkg in plan.packages for key, why in pkg.guesses.items()]
    return out


def summary(plan: Plan, output_path: Path) -> str:
    """What init found (a table per package) and what it guessed."""
    rows = [
        {
            "package": p.name,
            "directory": p.found.directory,
            "layer": p.layer,
            "version": p.found.source.label if p.found.source else "?",
            "tag": p.tag_format.replace("{name}", p.name),
            "workflow": (p.publish_workflow or "-")
            + (f" (pre: {p.prerelease_workflow})" if p.prerelease_workflow else ""),
        }
        for p in plan.packages
    ]
    repos = len({p.found.checkout for p in plan.packages})
    parts = [f"init: {len(plan.packages)} packages in {repos} repositories -> {output_path}", output.table(rows)]
    parts += [f"group {g.name} ({g.tag_format}): {', '.join(g.members)}" for g in plan.groups]
    found = guesses(plan)
    parts.append(
        output.bullets(f"guessed ({len(found)}, marked '{GUESS.strip()}' in the file):", found)
        if found
        else "guessed: nothing"
    )
    if plan.notes:
        parts.append(output.bullets("notes:", plan.notes))
    if plan.skipped:
        parts.append(output.bullets("skipped:", plan.skipped))
    return "\n".join(parts)


def write_registry(path: Path, text: str, *, force: bool = False) -> None:
    """Write ``text`` to ``path`` atomically; an existing file only with ``force``."""
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory", "pass --output FILE, the registry file to write")
    if path.exists() and not force:
        raise ConfigError(f"{path}: already exists", "pass --force to overwrite it, or choose another --output")
    if not path.parent.is_dir():
        raise ConfigError(
            f"{path}: no directory {path.parent}", f"create {path.parent} first, or choose another --output"
        )
    write_text(path, text)


def run_init(workspace: Path, output_path: Path, *, force: bool = False) -> str:
    """Plan the registry of ``workspace``, write it to ``output_path`` and return the summary. The output is checked
    before any checkout is read, so a refused run reads and writes nothing."""
    if output_path.exists() and not force:
        write_registry(output_path, "", force=False)  # the one-line refusal
    plan = plan_registry(workspace)
    write_registry(output_path, render(plan), force=force)
    return summary(plan, output_path)
