# /// script
# requires-python = ">=3.11"
# dependencies = [
#     "build>=1.2",
#     "griffe>=2",
#     "invoke>=2.2",
#     "nox>=2025.2.9",
#     "packaging>=24",
#     "pdm-backend>=2.4",
#     "pypiserver[passlib]>=2.3",
#     "pyyaml>=6",
#     "readme_renderer[md]>=43",
#     "rich>=13",
#     "setuptools-scm>=9",
#     "tomlkit>=0.13",
#     "twine>=6",
#     "uv>=0.5",
#     "virtualenv>=20.26",
# ]
# ///
"""Nox sessions for juniper-release: the front door maintainers and CI share.

Every session is a short checklist that calls the engine in ``scripts/juniper_release``. Options go after ``--``
and are parsed with argparse (``nox -s verify-all -- --sandbox``).

Tags:
  ci      the per-package, per-Python ``verify(<package>, <python>)`` sessions CI runs as a matrix
          (``nox -l --json -t ci``); ``verify(<package>)`` verifies on the package's default Python (its floor)
  layer0  / layer1 / layer2: the per-package sessions of one release layer
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import nox

# script mode (the PEP 723 header installs the engine's dependencies), nox.param tags, and
# default_venv_backend "uv|virtualenv" all need nox 2025.02.09 or newer.
nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_venv = "yes"

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "scripts"))  # the engine, used from the checkout (not installed)

from juniper_release.cli import flags  # noqa: E402
from juniper_release.ecosystem.registry import load_registry, registry_path  # noqa: E402
from juniper_release.errors import JuniperError  # noqa: E402
from juniper_release.frontdoor import failure  # noqa: E402
from juniper_release.hints import Invocation  # noqa: E402

# The sessions are parametrized at import, from $JUNIPER_REGISTRY (else repos.toml): set it to list the sessions of
# another registry (`JUNIPER_REGISTRY=registries/grown.toml nox -l`). `-- --registry PATH` must name the same file.
try:
    REGISTRY = load_registry()
except JuniperError as exc:  # a broken registry must still say what to fix
    raise SystemExit(f"error: {failure(exc)}") from None

PACKAGE_NAMES = [p.name for p in REGISTRY.packages]


def _verify_params() -> list[object]:
    """``verify(<package>)`` on the default Python, and one ci-tagged ``verify(<package>, <python>)`` per Python its
    checkout's requires-python admits (every candidate when the workspace cannot be read now; those then skip)."""
    from juniper_release.verify.pythons import listed_pythons

    params: list[object] = []
    for pkg in REGISTRY.packages:
        params.append(nox.param(pkg.name, None, id=pkg.name, tags=[f"layer{pkg.layer}"]))
        for py in listed_pythons(pkg):
            params.append(nox.param(pkg.name, py, id=f"{pkg.name}, {py}", tags=["ci", f"layer{pkg.layer}"]))
    return params


def _options(session: nox.Session, *, verify: bool = False) -> argparse.Namespace:
    """Parse ``session.posargs`` (never mutated) with the options of the flag table the tasks use
    (``-s``/``--sandbox``, ``-p``/``--package``...): ``nox -s verify-all -- -s -p NAME``."""
    names = flags.VERIFY if verify else (*flags.TARGET, "json")
    opts = flags.parser(f"nox -s {session.name} --", names).parse_args(list(session.posargs))
    if opts.registry and registry_path(opts.registry).resolve() != REGISTRY.path.resolve():
        session.error(
            f"--registry {opts.registry} is not the registry the sessions were listed from ({REGISTRY.path}). "
            f"Fix: run JUNIPER_REGISTRY={opts.registry} nox ..."
        )
    return opts


def _fail(session: nox.Session, exc: JuniperError) -> None:
    """One line, and the error's own exit code: 2 for an error (as invoke exits), 130/143 for an interruption."""
    print(f"nox > error: {failure(exc)}", file=sys.stderr, flush=True)
    raise SystemExit(exc.exit_code)


# ----------------------------------------------------------------------------------------------- quality


ZIZMOR = ("zizmor", "--offline", "--persona", "pedantic", "--strict-collection", "--no-progress", "--color", "never")
"""zizmor offline (no GitHub API), with every audit of the pedantic persona, so nothing is hidden by the persona."""


@nox.session
def lint(session: nox.Session) -> None:
    """Lint and format-check the tool with ruff; check that stages import only downwards (import-linter, the
    contracts in pyproject.toml); audit this repository's workflows and Dependabot configuration, and every file
    ``invoke workflows --write`` renders into the stand-in ecosystem, with zizmor (offline)."""
    session.install("ruff>=0.8", "zizmor>=1.33,<2", "import-linter>=2.1")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports", "--no-cache", env={"PYTHONPATH": str(ROOT / "scripts")})
    session.run(*ZIZMOR, ".github/")
    session.run(*ZIZMOR, *_standin_rendered(Path(session.create_tmp()) / "standin"))
    session.run(*ZIZMOR, *_standin_rendered(Path(session.create_tmp()) / "lockstep", "lockstep"))


def _standin_rendered(dest: Path, layout: str | None = None) -> list[str]:
    """Copy the stand-in sandbox (of ``layout``) to ``dest``, run ``invoke workflows --write`` there, return the
    written files (the lockstep layout: the members' validation gates, the app's workflows, Dependabot)."""
    import shutil

    from juniper_release.frontdoor import target
    from juniper_release.github import workflows as wf

    tgt = target(sandbox=True, registry_path=None if layout else REGISTRY.path, layout=layout)
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(tgt.workspace, dest, symlinks=True)
    wf.run_write(tgt.registry, dest, tgt.registry.packages)
    tops = {p.name: p.top_of(p.checkout(dest)) for p in tgt.registry.packages}
    return [str(tops[r.package] / r.path) for r in wf.render_all(tgt.registry, tgt.registry.packages, dest)]


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check the engine, noxfile and tasks with mypy --strict."""
    session.install("-e", ".[typecheck]")
    session.run("mypy")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (real git, real builds, real local index servers)."""
    from juniper_release.verify.envs import PYENV_VERSIONS

    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs, env={"PYENV_VERSION": PYENV_VERSIONS, "UV_PYTHON_DOWNLOADS": "never"})


# ----------------------------------------------------------------------------------------------- ecosystem


@nox.session(venv_backend="none")
def check(session: nox.Session) -> None:
    """Check ecosystem consistency (versions, specifiers, floors, extras, README, LICENSE, secrets, workflows)."""
    from juniper_release.ecosystem.checks import problems, render
    from juniper_release.frontdoor import target
    from juniper_release.github.checks import run_checks

    opts = _options(session)
    try:
        t = target(
            opts.workspace,
            sandbox=opts.sandbox,
            defects=opts.defects,
            require_all=True,
            registry_path=opts.registry,
            layout=opts.layout,
            invocation=_nox(),
        )
        findings = run_checks(t.registry, t.workspace)
    except JuniperError as exc:
        _fail(session, exc)
        return
    print(render(findings, as_json=opts.json))
    if found := problems(findings):
        session.error(f"{len(found)} consistency problems (see above)")


# ----------------------------------------------------------------------------------------------- verification
# The engine makes its own fresh environments, so these sessions run in nox's interpreter (venv_backend="none").

# build(...) carries only its layer tag: `nox -l --json -t ci` lists exactly one verify(...) per package.
BUILD_PARAMS = [nox.param(p.name, id=p.name, tags=[f"layer{p.layer}"]) for p in REGISTRY.packages]


def _verify(
    session: nox.Session, packages: list[str] | None, *, sandbox: bool = False, python: str | None = None
) -> None:
    """Run verify with the session's options (the same as ``juniper-release verify``); fail on any failure.

    ``python`` is the session's own Python (``verify(<package>, <python>)``): it skips when the package excludes it.
    """
    from juniper_release.cli.verifying import VerifyOptions, run

    opts = vars(_options(session, verify=True))
    opts["sandbox"] = sandbox or opts["sandbox"]
    try:
        report = run(
            VerifyOptions(**opts),
            program=_nox(),
            session_python=python,
            session_package=packages[0] if packages else None,
            skip=session.skip,
        )
    except JuniperError as exc:
        _fail(session, exc)
        return
    print(report.to_json() if opts["json"] else report.render(), flush=True)
    if not report.ok:
        session.error(f"verification failed: {report.summary()}")


def _nox() -> Invocation:
    """This run's invocation: hints name ``nox -s verify...`` for verification, the console script for the rest."""
    try:
        from juniper_release.cli.common import accepts
    except ImportError:  # nox without invoke (NOX_SCRIPT_MODE=none): hints keep only the target flags
        return Invocation("nox")
    return Invocation("nox", accepts=accepts())


@nox.session(venv_backend="none")
@nox.parametrize("package", BUILD_PARAMS)
def build(session: nox.Session, package: str) -> None:
    """Build one package's sdist and wheel into the wheelhouse, twine-check and inspect them."""
    from juniper_release.frontdoor import target
    from juniper_release.verify.cache import build_into_wheelhouse

    opts = _options(session)
    try:
        tgt = target(
            opts.workspace,
            sandbox=opts.sandbox,
            defects=opts.defects,
            registry_path=opts.registry,
            layout=opts.layout,
            invocation=_nox(),
        )
        built = build_into_wheelhouse(tgt.registry, tgt.registry.get(package), tgt.workspace)
    except JuniperError as exc:
        _fail(session, exc)
        return
    if opts.json:
        print(json.dumps(built.manifest, indent=2), flush=True)
        return
    for entry in built.manifest["artifacts"]:
        session.log(f"{entry['name']}  {entry['size']} bytes  sha256 {entry['sha256']}")


@nox.session(venv_backend="none")
@nox.parametrize(("package", "interpreter"), _verify_params())
def verify(session: nox.Session, package: str, interpreter: str | None) -> None:
    """Build and verify one package in a fresh environment (on one Python) against local builds of its siblings."""
    _verify(session, [package], python=interpreter)


@nox.session(name="verify-all", venv_backend="none")
def verify_all(session: nox.Session) -> None:
    """Build and verify every package in release order; summary table, non-zero exit on failure."""
    _verify(session, None)


@nox.session(venv_backend="none")
def demo(session: nox.Session) -> None:
    """verify-all on the generated stand-in ecosystem (no checkouts needed; --defects to break it)."""
    if _options(session, verify=True).workspace:
        session.error("demo always uses the stand-in sandbox. Fix: drop --workspace, or run verify-all instead")
    _verify(session, None, sandbox=True)


@nox.session(venv_backend="none")
def clean(session: nox.Session) -> None:
    """Remove the wheelhouse, verification cache, environments, sandboxes and rehearsal under .juniper/ (only the parts
    the tool made: a part of a $JUNIPER_CACHE_DIR without the tool's marker is kept)."""
    from juniper_release.verify.cache import clean_cache

    removed = clean_cache(say=session.log)
    session.log("removed: " + (", ".join(str(p) for p in removed) or "nothing (already clean)"))


def _check_session_names() -> None:
    """A misspelt ``-s NAME`` is one line naming the nearest session (nox alone would only list them), exit 2."""
    from juniper_release.cli.suggest import unknown_sessions

    if message := unknown_sessions(sys.argv, list(nox.registry.get())):
        print(message, file=sys.stderr)
        raise SystemExit(2)


_check_session_names()
