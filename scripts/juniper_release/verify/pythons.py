"""Which Pythons a package is verified on: chosen from its own requires-python among the interpreters found.

The candidates are :data:`~juniper_release.ecosystem.registry.PYTHON_CANDIDATES`; those this machine has are found
with :func:`~juniper_release.verify.envs.find_python`. By default a package is verified on its floor (the oldest
interpreter found that its requires-python admits), or on the Pythons repos.toml lists for it. A request
(``--python 3.12``, or ``--python all`` for every admitted one) overrides the default.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from packaging.specifiers import SpecifierSet

from juniper_release.ecosystem.project import read_project
from juniper_release.ecosystem.registry import PYTHON_CANDIDATES, Package, require_checkout
from juniper_release.errors import JuniperError
from juniper_release.verify.envs import PYENV_VERSIONS, VerifyError, find_python

ALL = "all"
"""The request for every supported Python."""


class PythonNotAdmitted(VerifyError):
    """The requested Python is one the package's requires-python excludes (a CI session skips on it)."""


def check_request(value: str | None) -> str | None:
    """``--python``: None (the default), ``all`` or one of the candidates."""
    if value is None or value == ALL or value in PYTHON_CANDIDATES:
        return value
    raise JuniperError(
        f"--python {value!r} is not a supported Python", f"use 'all' or one of: {', '.join(PYTHON_CANDIDATES)}"
    )


@functools.cache
def found_pythons() -> tuple[str, ...]:
    """The candidate interpreters this machine has, oldest first (probed at once: each probe starts an interpreter,
    through a pyenv shim that alone takes about 0.1 s)."""

    def has(version: str) -> bool:
        try:
            find_python(version)
        except JuniperError:
            return False
        return True

    with ThreadPoolExecutor(max_workers=len(PYTHON_CANDIDATES)) as pool:
        present = list(pool.map(has, PYTHON_CANDIDATES))
    return tuple(v for v, ok in zip(PYTHON_CANDIDATES, present, strict=True) if ok)


def admits(requires_python: SpecifierSet | None, python: str) -> bool:
    return requires_python is None or requires_python.contains(python, prereleases=True)


def supported(requires_python: SpecifierSet | None, pythons: tuple[str, ...] = PYTHON_CANDIDATES) -> tuple[str, ...]:
    """The ``pythons`` a requires-python admits."""
    return tuple(p for p in pythons if admits(requires_python, p))


def choose(
    pkg: Package,
    requires_python: SpecifierSet | None,
    request: str | None = None,
    found: tuple[str, ...] | None = None,
) -> tuple[str, ...]:
    """The Pythons to verify ``pkg`` on (never empty), or the pre-check failure that says why there are none."""
    found = found_pythons() if found is None else found
    shown = str(requires_python) if requires_python is not None else "any"
    usable = supported(requires_python, found)
    if not usable:
        raise VerifyError(
            f"pre-check: {pkg.name} requires Python {shown} but none of the interpreters found admits it "
            f"(found: {', '.join(found) or 'none'} of {', '.join(PYTHON_CANDIDATES)})",
            f"install a Python that satisfies {shown} (pyenv: PYENV_VERSION={PYENV_VERSIONS}), "
            f"or widen requires-python in {pkg.name}'s pyproject.toml",
        )
    if request == ALL:
        return usable
    wanted = (request,) if request else pkg.python
    for python in wanted:
        if not admits(requires_python, python):
            origin = f"--python {python}" if request else f"{pkg.registry_file} python = {list(pkg.python)}"
            raise PythonNotAdmitted(
                f"pre-check: {pkg.name} requires Python {shown}, which excludes Python {python} ({origin})",
                f"verify it on one of: {', '.join(usable)}"
                + ("" if request else f", or drop {python} from its python list in {pkg.registry_file}"),
            )
        if python not in found:
            raise VerifyError(
                f"pre-check: no Python {python} interpreter found for {pkg.name} (found: {', '.join(found)})",
                f"install Python {python} (pyenv: PYENV_VERSION={PYENV_VERSIONS}), or verify on one of: "
                f"{', '.join(usable)}",
            )
    return tuple(wanted) if wanted else usable[:1]


def workflow_python(pkg: Package, requires_python: SpecifierSet | None) -> str:
    """The Python a package's own workflows use, independent of this machine: its first listed, else its floor."""
    if pkg.python:
        return pkg.python[0]
    return (supported(requires_python) or PYTHON_CANDIDATES)[0]


def listed_pythons(pkg: Package, workspace: Path | None = None) -> tuple[str, ...]:
    """The Pythons CI lists for ``pkg``: those its checkout's requires-python admits among the candidates.

    Every candidate when the checkout cannot be read (or admits none): the session then decides at run time.
    """
    from juniper_release.ecosystem.registry import resolve_workspace

    try:
        spec = read_project(pkg, require_checkout(pkg, workspace or resolve_workspace())).requires_python
    except JuniperError:
        return PYTHON_CANDIDATES
    return supported(spec) or PYTHON_CANDIDATES


def choose_for_checkout(pkg: Package, workspace: Path, request: str | None = None) -> tuple[str, ...]:
    """:func:`choose` with the requires-python of ``pkg``'s checkout."""
    return choose(pkg, read_project(pkg, require_checkout(pkg, workspace)).requires_python, request)


def default_python(pkg: Package, workspace: Path, request: str | None = None) -> str | None:
    """The first Python ``request`` chooses for ``pkg``, or None when there is none (verification then says why)."""
    try:
        return choose_for_checkout(pkg, workspace, request)[0]
    except JuniperError:
        return None
