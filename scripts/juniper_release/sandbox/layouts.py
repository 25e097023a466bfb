"""The stand-in layouts and the cached sandbox workspace of one: ``six`` (:mod:`juniper_release.sandbox.standin`),
``grown`` (:mod:`juniper_release.sandbox.grown`), ``kinds`` (:mod:`juniper_release.sandbox.kinds`), ``single``
(:mod:`juniper_release.sandbox.single`) and ``lockstep`` (:mod:`juniper_release.sandbox.lockstep`).

The generators build on the stand-in's repositories, so the choice between them sits above all three.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from juniper_release.ecosystem.paths import cache_part
from juniper_release.ecosystem.registry import Registry
from juniper_release.errors import ConfigError
from juniper_release.github.pins import PINS
from juniper_release.sandbox.defects import parse_defects
from juniper_release.sandbox.standin import GENERATOR_VERSION, Ecosystem, create_ecosystem


class _Create(Protocol):
    """A layout's generator: :func:`create_ecosystem` and its kin."""

    def __call__(
        self, workspace: Path, registry: Registry, defects: str | Iterable[str] | None = None, *, remotes: Path | None
    ) -> Ecosystem: ...


def _layout(layout: str, defects: str | Iterable[str] | None) -> tuple[_Create, frozenset[str]]:
    """The generator of ``layout`` and the defects chosen for it (each layout has its own defect names)."""
    if layout == "kinds":
        from juniper_release.sandbox.kinds import create_kinds, parse_kinds_defects

        return create_kinds, parse_kinds_defects(defects)
    if layout == "single":
        from juniper_release.sandbox.single import create_single, parse_single_defects

        return create_single, parse_single_defects(defects)
    if layout == "grown":
        from juniper_release.sandbox.grown import create_grown

        return create_grown, parse_defects(defects)
    if layout == "lockstep":
        from juniper_release.sandbox.lockstep import create_lockstep

        if parse_defects(defects):
            raise ConfigError("the lockstep stand-in has no defects", "drop --defects with --layout lockstep")
        return create_lockstep, frozenset()
    if layout == "six":
        return create_ecosystem, parse_defects(defects)
    raise ConfigError(f"unknown stand-in layout {layout!r}", "use one of: six, grown, kinds, single, lockstep")


def sandbox_workspace(
    registry: Registry, defects: str | Iterable[str] | None = None, base: Path | None = None, layout: str = "six"
) -> Path:
    """The cached stand-in workspace under ``.juniper/sandbox/<key>``, generated on first use.

    ``layout`` is one of :data:`juniper_release.frontdoor.LAYOUTS` (this module's docstring names their
    generators). It is keyed on the generator version, the layout, the defects and the
    registry file, so a changed generator or registry yields a fresh sandbox while an unchanged one is reused (and
    its verification cache stays warm).
    """
    create, chosen = _layout(layout, defects)
    key_src = json.dumps(
        {
            "gen": GENERATOR_VERSION,
            "defects": sorted(chosen),
            "registry": registry.path.read_text(encoding="utf-8"),
            "pins": sorted(p.ref for p in PINS.values()),  # the upstream workflows pin their actions from the table
            **({"layout": layout} if layout != "six" else {}),
        },
        sort_keys=True,
    )
    key = hashlib.sha256(key_src.encode()).hexdigest()[:12]
    base = base or cache_part("sandbox")
    target = base / f"{'' if layout == 'six' else layout + '-'}{'-'.join(sorted(chosen)) or 'clean'}-{key}"
    marker = target / ".complete"
    if not marker.is_file():
        if target.exists():
            shutil.rmtree(target)
        create(target / "workspace", registry, chosen, remotes=target / "remotes")
        marker.write_text("ok\n", encoding="utf-8")
    return target / "workspace"
