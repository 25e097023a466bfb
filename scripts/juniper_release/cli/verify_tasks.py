"""The verify task: ``juniper-release verify`` (alias ``verify-all``) runs what ``nox -s verify-all`` runs, with the
flags of :data:`juniper_release.cli.flags.VERIFY`."""

from __future__ import annotations

from invoke.context import Context
from invoke.exceptions import Exit

from juniper_release.cli.common import guarded, via
from juniper_release.cli.flags import VERIFY, helps
from juniper_release.cli.tasking import task


@task(aliases=("verify-all",), help=helps(*VERIFY))
@guarded
def verify(
    c: Context,
    package: str | None = None,
    workspace: str | None = None,
    sandbox: bool = False,
    registry: str | None = None,
    layout: str | None = None,
    defects: str | None = None,
    json: bool = False,
    quiet: bool = False,
    verbose: bool = False,
    force: bool = False,
    python: str | None = None,
    keep_going: bool = False,
    markdown: str | None = None,
) -> None:
    """Build and verify every package (or --package) in a fresh environment, in release order.

    Each is verified against local builds of its siblings; a summary table, exit 1 on a failure. nox's sessions
    take the same flags after --: nox -s verify-all -- -s -p NAME."""
    from juniper_release.cli.verifying import VerifyOptions
    from juniper_release.cli.verifying import run as run_verify

    opts = VerifyOptions(
        package,
        workspace,
        sandbox,
        registry,
        layout,
        defects,
        json,
        quiet,
        verbose,
        force,
        python,
        keep_going,
        markdown,
    )
    report = run_verify(opts, program=via())
    print(report.to_json() if json else report.render(), flush=True)
    if not report.ok:
        raise Exit(f"error: verification failed: {report.summary()}", code=1)
