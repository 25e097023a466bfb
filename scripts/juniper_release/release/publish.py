"""Publishing: credentials, uploads (twine), index propagation and post-publish verification.

Credentials come from the environment (per index $JUNIPER_TESTPYPI_TOKEN / $JUNIPER_PYPI_TOKEN, or
$TWINE_USERNAME/$TWINE_PASSWORD) or ``~/.pypirc``. They reach twine through its environment, never its command line,
and are registered for redaction. Verification installs third-party dependencies from PyPI first, then the package
alone from the index under test with ``--no-deps``: two indexes are never merged in one resolution.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import shutil
import sys
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from juniper_release.commands import display, run
from juniper_release.ecosystem import indexes
from juniper_release.ecosystem.project import Project, read_project
from juniper_release.ecosystem.registry import Index, Package, Registry
from juniper_release.errors import CommandError, JuniperError, suggest
from juniper_release.secrets import redact, register_secret
from juniper_release.verify.envs import Env, create_env
from juniper_release.verify.precheck import applies
from juniper_release.verify.pythons import choose
from juniper_release.verify.smoke import smoke_test

THIRD_PARTY_INDEX = "https://pypi.org/simple/"
ENV_DEPS_INDEX = "JUNIPER_DEPS_INDEX_URL"
"""Where verification takes third-party dependencies from (real PyPI unless overridden)."""


class PublishError(JuniperError):
    """An upload or a post-publish verification failed."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    source: str  # where they came from, for messages (never the value)


def _is_local(url: str) -> bool:
    return (urllib.parse.urlsplit(url).hostname or "") in {"127.0.0.1", "localhost", "::1"}


def credentials(index: Index, env: Mapping[str, str] | None = None, pypirc: Path | None = None) -> Credentials:
    """Upload credentials for ``index``: env per-index token, then TWINE_*, then ~/.pypirc, else an error."""
    env = os.environ if env is None else env
    token_var = f"JUNIPER_{index.name.upper()}_TOKEN"
    if env.get(token_var):
        creds = Credentials("__token__", env[token_var], f"${token_var}")
    elif env.get("TWINE_PASSWORD"):
        creds = Credentials(env.get("TWINE_USERNAME") or "__token__", env["TWINE_PASSWORD"], "$TWINE_PASSWORD")
    else:
        path = pypirc or Path(env.get("HOME", str(Path.home()))) / ".pypirc"
        parser = configparser.ConfigParser(interpolation=None)
        if path.is_file():
            try:
                parser.read(path, encoding="utf-8")
            except (configparser.Error, UnicodeDecodeError) as exc:
                # One line, and never a value of the file (its passwords): only where it broke.
                lineno = getattr(exc, "lineno", None)
                where = f" (line {lineno})" if isinstance(lineno, int) else ""
                raise PublishError(
                    f"{path} is not a valid .pypirc{where}: {type(exc).__name__}",
                    f"fix {path}: [{index.name}] on its own line, then `username = ...` and `password = ...` lines",
                ) from None
        if parser.has_option(index.name, "password"):
            creds = Credentials(
                parser.get(index.name, "username", fallback="__token__"),
                parser.get(index.name, "password"),
                f"{path} [{index.name}]",
            )
        elif urllib.parse.urlsplit(index.upload_url).password:
            parts = urllib.parse.urlsplit(index.upload_url)
            creds = Credentials(
                urllib.parse.unquote(parts.username or "__token__"),
                urllib.parse.unquote(parts.password or ""),
                "the upload URL's user:password",
            )
        elif _is_local(index.upload_url):
            creds = Credentials("juniper", "local-anonymous", "anonymous (local index)")
        else:
            raise PublishError(
                f"no upload credentials for {index.name}",
                f"export {token_var} (an API token), or add a [{index.name}] section with a password to ~/.pypirc",
            )
    register_secret(creds.password)
    return creds


# --------------------------------------------------------------------------------------------------- upload


def upload_command(index: Index, files: Sequence[Path]) -> list[str]:
    """The exact upload command (credentials travel in the environment, never here)."""
    return [
        sys.executable,
        "-m",
        "twine",
        "upload",
        "--non-interactive",
        "--disable-progress-bar",
        "--repository-url",
        _without_userinfo(index.upload_url),
        *[str(f) for f in files],
    ]


def _without_userinfo(url: str) -> str:
    """``url`` without ``user:password@``: credentials travel in twine's environment, never on its command line."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def uploaded(index: Index, project: str, files: Sequence[Path], timeout: float = indexes.DEFAULT_TIMEOUT) -> bool:
    """True when every one of ``files`` is already on the index."""
    listing = indexes.project_listing(index, project, timeout)
    return {f.name for f in files} <= set(listing.files)


def sha256_of(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def missing_files(index: Index, project: str, files: Sequence[Path]) -> list[Path]:
    """The ``files`` the index does not hold yet. A file it holds with other content (its ``sha256``) is an error.

    This is what makes a re-run after a partial upload (the wheel stored, the index gone before the sdist) finish
    the version instead of refusing it.
    """
    listing = indexes.project_listing(index, project)
    differing = [f.name for f in files if f.name in listing.sha256 and listing.sha256[f.name] != sha256_of(f)]
    if differing:
        raise PublishError(
            f"{index.name} already holds {', '.join(differing)} of {project} with other content (sha256 differs)",
            "files on an index cannot be replaced: bump to a new version "
            f"({suggest(f'invoke bump --package {project} --part patch')}) and release that",
        )
    return [f for f in files if f.name not in listing.files]


def upload(index: Index, project: str, files: Sequence[Path], creds: Credentials | None = None) -> str:
    """Upload the ``files`` the index lacks; identical files already there count as done, different ones are an error."""
    try:
        todo = missing_files(index, project, files)
    except indexes.IndexUnreachable:
        todo = list(files)  # twine reports the index being down, with the fix
    if not todo:
        return "already on the index (identical files)"
    creds = creds or credentials(index)
    env = {"TWINE_USERNAME": creds.username, "TWINE_PASSWORD": creds.password, "NO_COLOR": "1"}
    try:
        run(upload_command(index, todo), env=env, what=f"upload {project} to {index.name}")
    except CommandError as exc:
        # Judge from the index, not from the error text (pypiserver answers a bare 400, PyPI a 400 "File already
        # exists", others 409): identical files already there mean the upload happened meanwhile.
        try:
            if not missing_files(index, project, files):
                return "already on the index (identical files)"
        except indexes.IndexUnreachable:
            pass
        raise PublishError(
            redact(f"upload of {project} to {index.name} failed: {exc.what}"),
            "check that the index is reachable and the credentials are right, then re-run to resume",
        ) from None
    kept = len(files) - len(todo)
    return f"uploaded {len(todo)} files ({creds.source})" + (f"; {kept} identical already there" if kept else "")


def wait_installable(index: Index, project: str, version: Version, timeout: float) -> float:
    """Poll the index (backoff, never a fixed sleep) until ``version`` is listed."""
    return indexes.wait_for(
        lambda: indexes.has_version(index, project, version),
        timeout=timeout,
        what=f"{project} {version} on {index.name}",
    )


# --------------------------------------------------------------------------------------------------- verify


def _base_requirements(registry: Registry, project: Project, python_full: str) -> tuple[list[str], list[str]]:
    """The base install's requirements on Python ``python_full``: (third-party, Juniper siblings)."""
    third: list[str] = []
    siblings: list[str] = []
    for req in project.dependencies:
        if applies(req, python_full):
            (siblings if registry.find(req.name) is not None else third).append(str(req))
    return third, siblings


def verify_install(
    registry: Registry,
    pkg: Package,
    version: Version,
    index: Index,
    source: Path,
    work_dir: Path,
    log: Callable[[str], None] = print,
) -> str:
    """Install ``pkg==version`` from ``index`` in a fresh env and smoke-test it (``verify.smoke``). Returns a summary.
    ``source`` is the package's directory: a checkout, or a tree exported from the release tag (a version from git
    tags is then the one released)."""
    project = read_project(pkg, source, tagged=version)
    env = create_env(work_dir / f"verify-{pkg.name}-{index.name}", choose(pkg, project.requires_python)[0])
    third, siblings = _base_requirements(registry, project, env.full_version())
    _install_third_party(registry, pkg, third, env, work_dir, log)
    _install_siblings(registry, pkg, siblings, env, index)
    args = [f"{pkg.name}=={version}", "--no-deps", "--index-url", index.simple_url]
    log(f"    pkg:  {display(args)}")
    env.install(args, what=f"install {pkg.name} {version} from {index.name}", fix="re-run to resume once it is listed")
    _install_declared_elsewhere(registry, pkg, env, index, work_dir, log)
    _check_installed(pkg, version, index, env)
    shutil.rmtree(env.path, ignore_errors=True)
    return f"{pkg.name}=={version} installs from {index.name}" + (
        f", imports {', '.join(pkg.imports)}" if pkg.imports else ""
    )


def _install_third_party(
    registry: Registry,
    pkg: Package,
    third: Sequence[str],
    env: Env,
    work_dir: Path,
    log: Callable[[str], None],
) -> None:
    """The third-party dependencies, from PyPI (or $JUNIPER_DEPS_INDEX_URL); torch as the CPU build."""
    deps_index = os.environ.get(ENV_DEPS_INDEX) or THIRD_PARTY_INDEX
    constraints: list[str] = []
    if pkg.torch:
        env.install_cpu_torch(registry.torch)
        pin = env.torch_constraint()
        if pin:
            constraints.append(pin)
    third = [r for r in third if canonicalize_name(Requirement(r).name) != "torch"] if pkg.torch else list(third)
    if not third:
        return
    cfile = work_dir / f"constraints-{pkg.name}.txt"
    cfile.write_text("\n".join(constraints) + "\n", encoding="utf-8")
    args = [*third, "--index-url", deps_index, *(["-c", str(cfile)] if constraints else [])]
    log(f"    deps: {display(args)}")
    env.install(args, what=f"install {pkg.name}'s third-party dependencies from {deps_index}")


def _install_siblings(registry: Registry, pkg: Package, siblings: Sequence[str], env: Env, index: Index) -> None:
    """The Juniper dependencies, from the index under test, without their own dependencies (``--no-deps``), and
    theirs in turn (read from the installed metadata) until every registry package they require is in (a
    workspace's members reach each other through several layers)."""
    installed = {canonicalize_name(pkg.name)}
    wanted = list(siblings)
    while wanted:
        env.install(
            [*wanted, "--no-deps", "--index-url", index.simple_url],
            what=f"install {pkg.name}'s Juniper dependencies from {index.name}",
        )
        names = sorted({canonicalize_name(Requirement(w).name) for w in wanted})
        installed.update(names)
        wanted = [
            str(req)
            for req in _installed_requires(env, names)
            if registry.find(req.name) is not None and canonicalize_name(req.name) not in installed
        ]


def _install_declared_elsewhere(
    registry: Registry, pkg: Package, env: Env, index: Index, work_dir: Path, log: Callable[[str], None]
) -> None:
    """The requirements the installed package's metadata names that are not installed yet: dependencies a build
    plugin declares (``dynamic = ["dependencies"]``) are not in the pyproject. Third-party ones from PyPI, registry
    ones from the index under test, as for the declared ones."""
    have = set(env.installed())
    missing = [r for r in _installed_requires(env, [pkg.name]) if canonicalize_name(r.name) not in have]
    third = [str(r) for r in missing if registry.find(r.name) is None]
    if third:
        _install_third_party(registry, pkg, third, env, work_dir, log)
    _install_siblings(registry, pkg, [str(r) for r in missing if registry.find(r.name) is not None], env, index)


_REQUIRES_PROBE = (
    "import importlib.metadata as m, json\nprint(json.dumps([r for d in {names} for r in (m.requires(d) or [])]))\n"
)


def _installed_requires(env: Env, names: Sequence[str]) -> list[Requirement]:
    """The base requirements (no extra) of the installed distributions ``names``, on the environment's Python."""
    out = env.run_python(_REQUIRES_PROBE.format(names=json.dumps(list(names))), what="read the installed requirements")
    found = []
    for raw in json.loads(out.strip().splitlines()[-1]):
        req = Requirement(raw)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            found.append(req)
    return found


def _check_installed(pkg: Package, version: Version, index: Index, env: Env) -> None:
    """The installed version is the released one, and the shared smoke routine passes on it."""
    installed = env.installed().get(canonicalize_name(pkg.name))
    if installed != str(version):
        raise PublishError(
            f"{index.name} served {pkg.name} {installed} instead of {version}", "check the index; re-run to resume"
        )
    try:
        smoke_test(env, pkg, version)
    except JuniperError as exc:
        raise PublishError(
            f"{pkg.name} {version} from {index.name}: {exc.what}",
            f"{exc.fix or 'see the error'}; published files cannot be replaced: release a new version",
        ) from None
