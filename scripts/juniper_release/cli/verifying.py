"""Verification as both front doors run it: ``juniper-release verify`` (and ``invoke verify``) and nox's verify
sessions parse the same options (:data:`juniper_release.cli.flags.VERIFY`) and call :func:`run`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from juniper_release.errors import JuniperError
from juniper_release.frontdoor import failure
from juniper_release.hints import Invocation
from juniper_release.verify.results import VerifyReport


@dataclass(frozen=True)
class VerifyOptions:
    """The verify options (:data:`juniper_release.cli.flags.VERIFY`), however they were parsed."""

    package: str | None = None
    workspace: str | None = None
    sandbox: bool = False
    registry: str | None = None
    layout: str | None = None
    defects: str | None = None
    json: bool = False
    quiet: bool = False
    verbose: bool = False
    force: bool = False
    python: str | None = None
    keep_going: bool = False
    markdown: str | None = None


def run(
    opts: VerifyOptions,
    *,
    program: Invocation,
    session_python: str | None = None,
    session_package: str | None = None,
    skip: Callable[[str], None] | None = None,
) -> VerifyReport:
    """Resolve the target, verify the selected packages (``--package``, else all) and write the Markdown summary.

    ``session_python`` / ``session_package`` are a nox ``verify(<package>, <python>)`` session's own; ``skip`` is
    called with the reason when that Python is not admitted by the package."""
    from juniper_release import summary
    from juniper_release.ecosystem.graph import build_graph
    from juniper_release.frontdoor import target
    from juniper_release.output import verbosity
    from juniper_release.verify.matrix import verify_pythons
    from juniper_release.verify.pythons import PythonNotAdmitted, check_request, choose_for_checkout

    if session_python and opts.python:
        raise JuniperError(f"this session already verifies on Python {session_python}", f"drop --python {opts.python}")
    if session_package and opts.package:
        raise JuniperError(f"this session verifies {session_package} only", "drop --package, or run verify-all")
    request = session_python or check_request(opts.python)
    tgt = target(
        opts.workspace,
        sandbox=opts.sandbox,
        defects=opts.defects,
        require_all=True,
        registry_path=opts.registry,
        layout=opts.layout,
        invocation=program,
    )
    packages = [session_package] if session_package else None
    if opts.package:
        packages = [p.name for p in tgt.registry.select(opts.package)]
    if session_python and session_package and skip:
        try:
            choose_for_checkout(tgt.registry.get(session_package), tgt.workspace, session_python)
        except PythonNotAdmitted as exc:
            skip(failure(exc))
    report = verify_pythons(
        tgt.registry,
        tgt.workspace,
        packages,
        python=request,
        force=opts.force,
        keep_going=opts.keep_going,
        verbosity=verbosity(quiet=opts.quiet, verbose=opts.verbose),
    )
    if where := summary.summary_path(opts.markdown):
        summary.write(where, report.to_markdown(build_graph(tgt.registry, tgt.workspace).to_mermaid()))
    if packages:  # the selection in the verdict line: `verify(pkg) passed`, not `verify-all passed`
        report.title = f"verify({', '.join(packages)})"
    return report
