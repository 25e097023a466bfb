"""What an install would need, checked statically before anything is installed.

From the local wheels alone: requires-python admits the environment's Python, every configured extra exists, every
Juniper sibling the install reaches admits its local build, and torch is pulled in only by packages configured for it
and only in a version the CPU build satisfies. Requirement markers are evaluated here, once, for every caller.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from juniper_release import netio
from juniper_release.ecosystem.registry import Package, Registry
from juniper_release.verify.build import BuildResult, wheel_extras, wheel_metadata, wheel_requirements
from juniper_release.verify.envs import CudaTorchError, VerifyError, _local_torch_wheel, pip_find_links, torch_plan

Closure = list[tuple[str, Requirement]]
"""Requirements an install brings: (the canonical name of the distribution requiring it, requirement)."""


def applies(req: Requirement, python_full: str, extras: Iterable[str] = ()) -> bool:
    """True when ``req``'s marker holds on Python ``python_full`` for the base install or one of ``extras``.

    Markers are evaluated for the target environment's interpreter, never for the one running this tool.
    """
    if req.marker is None:
        return True
    python = {"python_version": ".".join(python_full.split(".")[:2]), "python_full_version": python_full}
    return any(req.marker.evaluate({**python, "extra": extra}) for extra in ("", *extras))


def requirement_closure(wheels: Mapping[str, Path], root: str, extras: Iterable[str], python_full: str) -> Closure:
    """Requirements an install of ``root[extras]`` brings, following Juniper siblings through their local wheels.

    ``wheels`` maps canonical names to wheel paths.
    """
    todo = [(canonicalize_name(root), frozenset(canonicalize_name(e) for e in extras))]
    seen: set[tuple[str, frozenset[str]]] = set()
    out: Closure = []
    while todo:
        item = todo.pop()
        if item in seen:
            continue
        seen.add(item)
        name, active = item
        for req in wheel_requirements(wheels[name]):
            if not applies(req, python_full, active):
                continue
            out.append((name, req))
            target = canonicalize_name(req.name)
            if target in wheels:
                todo.append((target, frozenset(canonicalize_name(e) for e in req.extras)))
    return out


def precheck(registry: Registry, pkg: Package, wheels: Mapping[str, BuildResult], python_full: str) -> Closure:
    """Static checks before anything is installed; returns the requirement closure (base and configured extras)."""
    own = wheels[pkg.name].wheel
    _check_requires_python(pkg, own, python_full)
    _check_extras_declared(pkg, own)
    local = {canonicalize_name(n): b for n, b in wheels.items()}
    closure = requirement_closure({c: b.wheel for c, b in local.items()}, pkg.name, pkg.extras, python_full)
    for via, req in closure:
        target = canonicalize_name(req.name)
        if target in local:
            _check_sibling_range(via, req, Version(local[target].version))
        if target == "torch":
            _check_torch(registry, pkg, via, req)
            _check_cpu_torch_exists(registry, pkg, python_full)
    return closure


def _check_requires_python(pkg: Package, wheel: Path, python_full: str) -> None:
    requires_python = wheel_metadata(wheel).get("Requires-Python")
    if requires_python and not SpecifierSet(str(requires_python)).contains(python_full, prereleases=True):
        raise VerifyError(
            f"{pkg.name}'s wheel requires Python {requires_python}, which excludes the Python {python_full} it is "
            "verified on",
            f"verify it on a Python that satisfies {requires_python} (--python, or python in {pkg.registry_file}), "
            "or widen requires-python in its pyproject.toml",
        )


def _check_extras_declared(pkg: Package, wheel: Path) -> None:
    declared = wheel_extras(wheel)
    for extra in pkg.extras:
        if canonicalize_name(extra) not in declared:
            raise VerifyError(
                f"{pkg.registry_file} lists extra [{extra}] for {pkg.name} but its wheel declares "
                f"{', '.join(sorted(declared)) or 'no extras'}",
                f"add [project.optional-dependencies] {extra} to {pkg.name}, or remove it from {pkg.registry_file}",
            )


def _check_sibling_range(via: str, req: Requirement, local: Version) -> None:
    if not req.specifier.contains(local, prereleases=True):
        raise VerifyError(
            f"{via} requires {req.name}{req.specifier} but the local build of {req.name} is {local}",
            f"widen the requirement in {via}'s pyproject.toml to admit {local}, or fix {req.name}'s version",
        )


def _check_torch(registry: Registry, pkg: Package, via: str, req: Requirement) -> None:
    """Torch only for packages configured for it, and only in a range the pinned CPU build satisfies."""
    if not pkg.torch:
        raise CudaTorchError(
            f"{pkg.name} pulls in torch ({via}: {req}) but {pkg.registry_file} says torch = false, so the "
            "install would fetch the CUDA build from PyPI; nothing was installed",
            f"set torch = true for {pkg.name} in {pkg.registry_file} so CPU torch is installed first",
        )
    cpu = Version(registry.torch.version)
    if not req.specifier.contains(cpu, prereleases=True):
        raise CudaTorchError(
            f"{via} requires {req.name}{req.specifier} but the CPU build available is torch {cpu}; installing "
            "it would pull the CUDA build from PyPI; nothing was downloaded",
            f"relax the torch requirement to admit {cpu}, or point [torch] version / JUNIPER_TORCH_SOURCE "
            "at a CPU build that satisfies it",
        )


def _check_cpu_torch_exists(registry: Registry, pkg: Package, python_full: str) -> None:
    """A CPU torch wheel for this Python exists where the install will look: a folder is listed, an index asked."""
    python = ".".join(python_full.split(".")[:2])
    tag = "cp" + python.replace(".", "")
    version = registry.torch.version
    plan = torch_plan(registry.torch, python)
    where = plan.options[1]
    if plan.options[0] == "--find-links" and Path(where).is_dir():
        if _local_torch_wheel(where, version, python):
            return
        reason = f"{where} holds no {tag} CPU wheel"
    elif plan.options[0] == "--index-url":
        lacking = _index_lacks_cpu_torch(where, version, tag)
        if lacking is None:
            return
        reason = lacking
    else:
        return  # a remote find-links page: the installer's dry run decides
    local = ", ".join(pip_find_links()) or "none"
    raise CudaTorchError(
        f"pre-check: no CPU torch {version} for Python {python} on this machine ({reason}; pip's find-links: "
        f"{local}); nothing was installed",
        f"verify {pkg.name} on a Python with a CPU torch wheel (--python), or point JUNIPER_TORCH_SOURCE at a CPU "
        f"index or folder with a {tag} wheel of torch {version}",
    )


def _index_lacks_cpu_torch(index: str, version: str, tag: str) -> str | None:
    """Why ``index`` has no CPU torch ``version`` for ``tag``, or None when its project page lists one."""
    url = index.rstrip("/") + "/torch/"
    try:  # bounded in time and size like every other read (netio)
        page = netio.read(urllib.request.Request(url), 20).body.decode("utf-8", "replace")
    except (OSError, ValueError) as exc:
        return f"the index {url} is unreachable: {getattr(exc, 'reason', exc)}"
    wanted = f"torch-{version}+cpu-{tag}-"
    if wanted in page or wanted.replace("+", "%2B") in page:
        return None
    return f"the index {url} lists no {wanted}*.whl"
