"""The preflight gates of one release, in the order they run: all are evaluated before any change.

Each gate is a function of the :class:`ReleaseContext` returning a :class:`Gate` (``None`` when it does not apply in
the chosen mode). They only read, apart from the `git fetch` that "in sync with origin" needs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from shlex import quote

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from juniper_release.ecosystem import indexes, lines
from juniper_release.ecosystem.graph import marker_can_hold
from juniper_release.ecosystem.project import VersionKind, sibling_requirements
from juniper_release.ecosystem.tags import previous_release_tag
from juniper_release.errors import GitError, JuniperError
from juniper_release.github.forge import CommitStatus, ForgeError
from juniper_release.offline import Offline
from juniper_release.output import paint, printable
from juniper_release.release import apireview
from juniper_release.release.context import ReleaseContext, index_chain
from juniper_release.release.existing import problem as release_problem
from juniper_release.secrets import redact
from juniper_release.verify.cache import is_verified, recorded_failure


@dataclass(frozen=True)
class Gate:
    name: str
    ok: bool
    what: str = ""
    fix: str = ""
    checked: bool = True  # False: a dry run could not check it (network, token); --execute requires it
    why: str = "offline"
    """Why it was not checked: ``offline`` (truly unreachable, or --offline), ``no token``, ``no credentials``."""
    skipped: bool = False
    """Not asked, by design (``what`` says why: a resumed release): shown as skipped, never as ``[ok]``."""

    def line(self) -> str:
        """``[  ok] name``, ``[FAIL] name: what. Fix: fix``, ``[skip]`` or ``[  --]`` (not checked); file names and
        subjects in it shown escaped (:func:`printable`)."""
        if not self.checked:
            return printable(f"  [  --] {self.name}: not checked ({self.why})")
        if self.skipped:
            return "  " + paint("[skip]", "skipped") + printable(f" {self.name}: skipped ({self.what})")
        outcome = "ok" if self.ok else "FAIL"
        shown = f" {self.name}" + ("" if self.ok else f": {self.what}. Fix: {self.fix}")
        return "  " + paint(f"[{outcome:>4}]", outcome) + printable(shown)


def not_checked(name: str, what: str, why: str = "offline") -> Gate:
    """A gate a dry run cannot check: shown, never a failure."""
    return Gate(name, True, what, "run with --execute to check it", checked=False, why=why)


def skipped_line(gates: Sequence[Gate]) -> str | None:
    """A dry run's last line: how many checks it could not make, and why (None when it made them all)."""
    skipped = [g for g in gates if not g.checked]
    if not skipped:
        return None
    reasons: dict[str, list[str]] = {}
    for gate in skipped:
        reasons.setdefault(gate.why, []).append(gate.name)
    shown = "; ".join(f"{why}: {', '.join(names)}" for why, names in reasons.items())
    return f"dry run: {len(skipped)} check(s) not made ({shown}); --execute requires them"


class PreflightError(JuniperError):
    """One or more preflight gates failed; nothing was changed."""

    def __init__(self, package: str, failures: Sequence[Gate]) -> None:
        self.failures = list(failures)
        first = failures[0]
        more = f" (and {len(failures) - 1} more gate(s), listed above)" if len(failures) > 1 else ""
        super().__init__(redact(f"{package}: preflight gate '{first.name}' failed: {first.what}{more}"), first.fix)


def in_the_line(ctx: ReleaseContext) -> Gate | None:
    """On a maintenance branch (``--branch``): the version is the line's (0.2.0 on ``release/0.1`` is refused)."""
    if not ctx.maintenance:
        return None
    try:
        line = lines.resolve(ctx.git, ctx.pkg, ctx.branch)
        if line.version != ctx.version:  # its own tag already there: a resumed release
            lines.check_in_line(ctx.pkg, line, ctx.version)
    except JuniperError as exc:
        return Gate(f"in the {ctx.branch} line", False, exc.what, exc.fix or "")
    return Gate(f"in the {line.name} line of {ctx.branch}", True)


def on_main(ctx: ReleaseContext) -> Gate:
    branch, main = ctx.git.branch(), ctx.branch
    if branch == "HEAD":  # detached: a commit made here belongs to no branch
        return Gate(
            "on main",
            False,
            f"HEAD is detached (at {ctx.git.head()[:8]}), not on {main!r}",
            f"git switch {quote(main)} (first `git branch keep-{ctx.git.head()[:8]}` if HEAD holds commits to keep)",
        )
    if not ctx.git.ok("rev-parse", "-q", "--verify", f"refs/heads/{main}"):
        return Gate("on main", False, _no_branch(ctx, main), _switch_fix(ctx, main))
    return Gate("on main", branch == main, f"on branch {branch!r}, not {main!r}", f"git switch {quote(main)}")


def _no_branch(ctx: ReleaseContext, main: str) -> str:
    """The registry's branch is not in the checkout (a ``master`` checkout of a registry that says ``main``)."""
    return (
        f"the registry's branch {main!r} does not exist in this checkout (checked out: {ctx.git.branch()!r}; "
        f"{ctx.pkg.registry_file or 'the registry'} [settings] branch = {main!r})"
    )


def _switch_fix(ctx: ReleaseContext, main: str) -> str:
    remote = ctx.git.ok("rev-parse", "-q", "--verify", f"refs/remotes/origin/{main}")
    switch = (
        f"git switch -c {quote(main)} {quote(f'origin/{main}')}"
        if remote
        else f"git branch -m {quote(ctx.git.branch())} {quote(main)}"
    )
    return (
        f"`{switch}`, or set branch = {ctx.git.branch()!r} in the registry's [settings] if that is the release branch"
    )


def _pr_fix(ctx: ReleaseContext) -> str:
    """How a change reaches a protected branch: a pull request, or --direct-push where nothing protects it."""
    propose = ctx.opts.hints.hint(f"invoke propose --packages {ctx.pkg.name} --part patch")
    return (
        f"land the bump through a pull request (`{propose}`), merge it and `git pull --ff-only`, then release; or "
        "pass --direct-push for an unprotected repository"
    )


def clean_tree(ctx: ReleaseContext) -> Gate:
    """Nothing uncommitted but this package's version bump (which the release commits) and, in a shared repository,
    the pending bumps of its sibling packages (which their releases commit). In the PR flow the bump must have been
    merged: nothing uncommitted at all."""
    dirty = ctx.dirty()
    if not ctx.opts.direct_push and dirty and ctx.needs_commit():
        return Gate(
            "clean tree",
            False,
            f"the version bump of {ctx.pkg.name} is uncommitted, and the PR flow never commits or pushes a branch",
            _pr_fix(ctx),
        )
    return Gate(
        "clean tree",
        not dirty or ctx.needs_commit() or ctx.only_sibling_bumps_pending(),
        f"uncommitted changes in {', '.join(dirty[:4])}",
        "commit or stash them (only an uncommitted version bump is committed for you)",
    )


def in_sync_with_origin(ctx: ReleaseContext) -> Gate:
    """Not behind origin, and ahead only by this tool's own bump commits (fetches first): this package's, or in a
    shared repository those of its sibling packages (a train releases them in layer order, each pushing its own)."""
    git, branch = ctx.git, ctx.branch
    git.fetch()
    if not git.ok("rev-parse", "-q", "--verify", f"refs/heads/{branch}"):
        return Gate("in sync with origin", False, _no_branch(ctx, branch), _switch_fix(ctx, branch))
    if not git.ok("rev-parse", "-q", "--verify", f"refs/remotes/origin/{branch}"):
        return Gate(
            "in sync with origin",
            False,
            f"origin has no branch {branch!r} (the registry's [settings] branch)",
            f"push it (`git push -u origin {quote(branch)}`), or set the registry's branch to the one origin releases from",
        )
    ahead_behind = git.run("rev-list", "--left-right", "--count", f"{branch}...origin/{branch}")
    ahead, behind = (int(x) for x in ahead_behind.split())
    group = [ctx.group.name] if ctx.group else []  # a lockstep group's bump: "Bump <group> to X"
    names = "|".join(re.escape(n) for n in (ctx.pkg.name, *(p.name for p in ctx.registry.siblings(ctx.pkg)), *group))
    ours = re.compile(rf"^(Bump ({names}) to |Allow .+ in {re.escape(ctx.pkg.path)}'s requirements)")
    ahead_subjects = git.subjects_since(f"origin/{branch}") if ahead else []
    if not ctx.opts.direct_push and ahead:
        # The PR flow releases what was merged: the release commit is origin's, and no branch is ever pushed.
        return Gate(
            "in sync with origin",
            False,
            f"{branch} is {ahead} ahead of origin/{branch} ({ahead_subjects[0]!r}); the PR flow tags only what was "
            "merged",
            _pr_fix(ctx),
        )
    foreign = [s for s in ahead_subjects if not ours.match(s)]
    return Gate(
        "in sync with origin",
        behind == 0 and not foreign,
        f"{branch} is {behind} behind and {ahead} ahead of origin/{branch}"
        + (f" (unpushed: {foreign[0]!r})" if foreign else ""),
        f"git pull --ff-only origin {quote(branch)}" if behind else f"push or drop the unpushed commits on {branch}",
    )


def tag_is_new(ctx: ReleaseContext) -> Gate:
    """No tag of this version, locally or on origin, other than one at the release commit (HEAD, or below a sibling
    package's later bump) with nothing left to commit."""
    git, tag = ctx.git, ctx.tag
    head, pending_commit = ctx.release_commit(), ctx.needs_commit()
    local_tag = git.run("rev-list", "-n", "1", tag) if git.tag_exists(tag) else None
    remote_tag = ctx.remote()[1].get(tag)
    stale = [
        f"{where} at {sha[:8]}"
        for where, sha in (("locally", local_tag), ("on origin", remote_tag))
        if sha is not None and (sha != head or pending_commit)
    ]
    if not stale and (local_tag or remote_tag):
        # Say what is true: the tag exists, on the release commit, so this release resumes.
        where = " and ".join(w for w, sha in (("locally", local_tag), ("on origin", remote_tag)) if sha)
        return Gate(f"tag {tag} already at the release commit ({where}): it is not made again", True)
    return Gate(
        "tag is new",
        not stale,
        f"tag {tag} already exists {' and '.join(stale)} (the release commit is {head[:8]})",
        f"bump to a new version ({ctx.opts.hints.hint(f'invoke bump --package {ctx.pkg.name} --part patch')}), or delete the stale tag "
        f"(git tag -d {quote(tag)}) if it was never pushed",
    )


def existing_tag_is_annotated(ctx: ReleaseContext) -> Gate:
    """A tag of this version already made locally must be annotated, as the release would have made it."""
    git, tag = ctx.git, ctx.tag
    lightweight = git.tag_exists(tag) and not git.tag_is_annotated(tag)
    remote = ctx.remote()[1] if lightweight else {}
    if tag in remote:  # on origin too: re-making it locally alone would end in fetch's "would clobber existing tag"
        return Gate(
            "tag is annotated",
            False,
            f"tag {tag} is a lightweight tag, on origin too; release tags must be annotated",
            f"delete it on origin and here, then re-run (the release makes the annotated tag): "
            f"`git push origin --delete {quote(f'refs/tags/{tag}')} && git tag -d {quote(tag)}`",
        )
    return Gate(
        "tag is annotated",
        not lightweight,
        f"tag {tag} is a lightweight tag; release tags must be annotated",
        f"git tag -d {quote(tag)} && git tag -a {quote(tag)} -m 'Release {ctx.pkg.name} {ctx.version}'",
    )


def version_not_yet_published(ctx: ReleaseContext) -> Gate:
    """Neither index has this version, unless this release is being resumed (its tag is on origin at the release
    commit). A yanked version counts as there: an index never takes its file names again."""
    name, version = ctx.pkg.name, ctx.version
    taken: list[str] = []
    unreachable: list[str] = []
    if ctx.tag_on_origin_at_head():  # resumed (or released): the steps judge each index; this gate asks nothing
        return Gate(
            "version not yet published",
            True,
            f"{ctx.tag} is on origin at the release commit, so the indexes may hold {version} already; each upload "
            "step checks its index",
            skipped=True,
        )
    for index in ("pypi", "testpypi"):
        try:
            if indexes.has_version(ctx.registry.index(index), name, version):
                taken.append(index)
        except indexes.IndexUnreachable as exc:
            unreachable.append(exc.what)
    if taken:
        return Gate(
            "version not yet published",
            False,
            f"{name} {version} is already on {', '.join(taken)}",
            f"bump to a new version: {ctx.opts.hints.hint(f'invoke bump --package {name} --part patch')}",
        )
    # An index that cannot be asked is not evidence either way: say so, with its own fix.
    if unreachable and not ctx.opts.execute:
        return not_checked("version not yet published", "; ".join(unreachable))
    return Gate(
        "version not yet published",
        not unreachable,
        f"cannot check whether {name} {version} is published: {'; '.join(unreachable)}",
        "check the network or the JUNIPER_PYPI_SIMPLE_URL / JUNIPER_TESTPYPI_SIMPLE_URL overrides, then re-run",
    )


def versions_agree(ctx: ReleaseContext) -> Gate:
    """pyproject's version is normalized and equals the module's ``__version__`` and the tag's version. A version
    from git tags must name a release tag exactly: a build of an untagged commit (``1.6.1.dev3+g...``) is refused."""
    version, mv, project = ctx.version, ctx.module_version, ctx.project
    problems = []
    if project.is_vcs and (version.is_devrelease or version.local):
        problems.append(
            f"the version from git tags ({project.source.tool}) is {version}: HEAD is not on a release tag, and an "
            "untagged commit is never released"
        )
    elif version.local:
        problems.append(
            f"version {version} has a local part (+{version.local}): PyPI and TestPyPI refuse local versions"
        )
    elif str(version) != project.raw_version:
        problems.append(f"pyproject version {project.raw_version!r} is not normalized ({version})")
    if mv.kind is VersionKind.STATIC and mv.value != str(version):
        problems.append(f"__version__ is {mv.value} but {project.source.where} says {version}")
    if mv.kind is VersionKind.MISSING and not project.is_vcs:
        problems.append(f"no __version__ found in {ctx.pkg.imports[0]}")
    if ctx.pkg.version_from_tag(ctx.tag) != version:
        problems.append(f"tag {ctx.tag} does not name version {version}")
    fix = (
        f"tag the release: {ctx.opts.hints.hint(f'invoke bump --package {ctx.pkg.name} --part patch --commit')} "
        "(for a version from git tags the bump's annotated tag is the version)"
        if project.is_vcs
        else f"{ctx.opts.hints.hint(f'invoke bump --package {ctx.pkg.name} --to {version.public} --force')}, or fix the version "
        "by hand"
    )
    return Gate("pyproject == __version__ == tag", not problems, "; ".join(problems), fix)


def requirements_available(ctx: ReleaseContext) -> Gate:
    """Every Juniper requirement is satisfiable on the target index, or by a version this train releases first."""
    names = {canonicalize_name(p.name): p.name for p in ctx.registry.packages}
    missing = []
    for extra, req in sibling_requirements(ctx.project, set(names)):
        if not marker_can_hold(req.marker, extra):
            continue  # a requirement for Pythons this tool never verifies on (python_version < "3.10")
        dep = names[canonicalize_name(req.name)]
        where = f"[{extra}] " if extra else ""
        planned = ctx.planned.get(dep)
        # A version this train releases first satisfies it, where it goes: a pre-release reaches TestPyPI only.
        lands = planned is not None and (ctx.target.name == "testpypi" or not planned.is_prerelease)
        if planned is not None and lands and req.specifier.contains(planned, prereleases=True):
            continue
        try:
            listing = indexes.project_listing(ctx.target, dep)
        except indexes.IndexUnreachable as exc:
            if not ctx.opts.execute:
                return not_checked("Juniper requirements available", exc.what)
            missing.append(f"{where}{req} ({exc.what})")
            continue
        # PEP 592: installers skip a wholly yanked version unless the requirement pins exactly that version.
        found = listing.versions if _pins(req.specifier) else listing.live_versions
        if not any(req.specifier.contains(v, prereleases=ctx.version.is_prerelease) for v in found):
            have = ", ".join(str(v) for v in found[-3:]) or "none"
            missing.append(f"{where}{req} (on {ctx.target.name}: {have})")
    return Gate(
        "Juniper requirements available",
        not missing,
        f"no satisfying version on {ctx.target.name} for {'; '.join(missing)}",
        f"release those packages first ({ctx.opts.hints.hint('invoke release-train')} orders them), or widen the specifier",
    )


def _pins(specifier: SpecifierSet) -> bool:
    """The specifier names one exact version (``==X`` without a wildcard, or ``===X``)."""
    specs = list(specifier)
    return len(specs) == 1 and (
        specs[0].operator == "===" or (specs[0].operator == "==" and "*" not in specs[0].version)
    )


def verified_at_this_commit(ctx: ReleaseContext) -> Gate:
    """`nox -s verify` passed for exactly this content (the verification cache). When it failed, the reason is the
    verification's own failure line (the root cause), not only that it has not passed."""
    ok = is_verified(ctx.registry, ctx.pkg, ctx.workspace)
    failure = None if ok else recorded_failure(ctx.registry, ctx.pkg, ctx.workspace)
    return Gate(
        "verified at this commit",
        ok,
        f"verify({ctx.pkg.name}) failed at commit {ctx.git.head()[:8]}: {failure}"
        if failure
        else f"verify({ctx.pkg.name}) has not passed for commit {ctx.git.head()[:8]}",
        "run `"
        + ctx.opts.hints.hint(f'nox -s "verify({ctx.pkg.name})"')
        + "` (or `"
        + ctx.opts.hints.hint("nox -s verify-all")
        + "`) and re-run",
    )


def bump_covers_api_change(ctx: ReleaseContext) -> Gate:
    """Compared with the previous release, the version is at least the step the public API diff asks for (a removed
    function, console script, entry point or extra is breaking; a new one a feature): else it halts with the
    findings, unless a maintainer passes ``--accept-api-change REASON`` (the reason goes on the GitHub Release)."""
    name = "the bump covers the API change"
    prev = _previous_tag(ctx)
    if prev is None:
        return Gate(name, True)
    found = apireview.verdict(ctx.pkg, ctx.git, prev, ctx.release_commit(), ctx.version)
    if not found.ok and ctx.opts.accept_api_change:
        return Gate(f"{name}: accepted ({ctx.opts.accept_api_change})", True)
    accept = "--accept-api-change REASON if this step is intended (the reason goes on the GitHub Release)"
    fix = (
        f"make the code readable to griffe, or pass {accept}"
        if found.error
        else f"bump to at least a {found.required} release "
        f"({ctx.opts.hints.hint(f'invoke bump --package {ctx.pkg.name} --part {found.required}')}), or pass {accept}"
    )
    return Gate(name, found.ok, found.what(prev), fix)


def _previous_tag(ctx: ReleaseContext) -> str | None:
    """The tag of the release before this one, by the one tag rule (ecosystem/tags.py)."""
    try:
        released = indexes.live_versions(ctx.registry.index("pypi"), ctx.pkg.name)
    except (indexes.IndexUnreachable, Offline):
        released = ()
    return previous_release_tag(ctx.git, ctx.pkg, ctx.version, released).tag


def publish_workflow_present(ctx: ReleaseContext) -> Gate | None:
    """GitHub mode: the package has the workflow a GitHub Release triggers."""
    if ctx.opts.mode != "github":
        return None
    workflow = ctx.workflow
    return Gate(
        "publish workflow present",
        (ctx.pkg.top_of(ctx.root) / workflow).is_file(),
        f"{ctx.pkg.name} has no {workflow}",
        f"add it ({ctx.opts.hints.hint('invoke workflows --write')}), or release with --mode twine",
    )


def ci_passed(ctx: ReleaseContext) -> Gate | None:
    """The branch's CI status at the release commit, read from GitHub, is not failing (a dry run does not ask). In
    twine mode without a GitHub token nothing is asked of GitHub, this included."""
    if ctx.opts.mode != "github" and not ctx.forge.token and not ctx.forge.is_local:
        return None
    name = "CI passed at the release commit"
    if ctx.opts.direct_push:
        return None  # the laptop flow pushes the release commit itself: no CI has run on it yet
    if not ctx.forge.token and not ctx.forge.is_local:
        # the "GitHub token" gate says what is missing
        return not_checked(name, "no GitHub token to read it", "no token") if not ctx.opts.execute else None
    sha = ctx.release_commit()
    try:
        status = _settled_status(ctx, sha)
    except ForgeError as exc:
        return Gate(
            name, False, f"cannot read the CI status of {sha[:8]}: {exc.what}", exc.fix or "re-run once GitHub answers"
        )
    failing = [name for name, state in status.contexts if state in {"failure", "error"}]
    running = [name for name, state in status.contexts if state == "pending"]
    if running and not failing:
        return Gate(
            name,
            False,
            f"CI still running at {sha[:8]} after {ctx.opts.timeout:.0f}s ({', '.join(running)} pending)",
            "wait for CI to finish (or raise --timeout), then re-run; the release tags a commit whose CI passed",
        )
    shown = ", ".join(failing) or status.state
    return Gate(
        name,
        not failing and status.state not in {"failure", "error"},
        f"CI is {status.state} at {sha[:8]} ({shown})",
        "fix the failing check and merge the fix through a pull request; the release tags a commit whose CI passed",
    )


def _settled_status(ctx: ReleaseContext, sha: str) -> CommitStatus:
    """The combined status of ``sha`` once no context is pending, or the last one read when ``--timeout`` runs out
    first (a commit without any status has nothing to wait for)."""
    clock = ctx.forge.clock
    deadline = clock.monotonic() + ctx.opts.timeout
    delay = 0.5
    while True:
        status = ctx.forge.commit_status(ctx.pkg.repo, sha)
        pending = any(state == "pending" for _, state in status.contexts)
        if not pending or clock.monotonic() + delay > deadline:
            return status
        clock.sleep(delay)
        delay = min(delay * 2, 10.0)


def release_at_tag_is_ours(ctx: ReleaseContext) -> Gate | None:
    """GitHub mode: a Release already at the tag is this release's (tag, target commit, published), or nothing runs."""
    if ctx.opts.mode != "github" or (not ctx.forge.token and not ctx.forge.is_local):
        return None
    found = ctx.forge.release_by_tag(ctx.pkg.repo, ctx.tag)
    if found is None:
        return None  # none yet: the step makes it
    wrong = release_problem(ctx, found)
    return Gate(f"GitHub Release at {ctx.tag} is this release's", wrong is None, *(wrong or ("", "")))


def github_token(ctx: ReleaseContext) -> Gate | None:
    """GitHub mode: a token for the real API (the local stand-in needs none), and with a token, one authenticated
    read that it can push to the package's repository (a dry run makes it too when GitHub answers)."""
    if ctx.opts.mode != "github":
        return None
    if not ctx.forge.token and not ctx.forge.is_local:
        if not ctx.opts.execute:
            return not_checked("GitHub token", "no GITHUB_TOKEN or GH_TOKEN (a dry run needs none)", "no token")
        return Gate(
            "GitHub token",
            False,
            "neither GITHUB_TOKEN nor GH_TOKEN is set",
            "export GITHUB_TOKEN with contents:write and actions:read",
        )
    if not ctx.forge.token:
        return Gate("GitHub token", True)  # the local stand-in
    try:
        can = ctx.forge.can_push(ctx.pkg.repo)
    except ForgeError as exc:
        if "cannot reach" in exc.what and not ctx.opts.execute:
            return not_checked("GitHub token can push", exc.what)
        return Gate("GitHub token can push", False, exc.what, exc.fix or "check the token")
    return Gate(
        f"GitHub token can push to {ctx.pkg.repo}",
        can,
        f"the token cannot push to {ctx.pkg.repo}",
        "use a token with contents:write on the repository (or a fine-grained one that includes it)",
    )


def upload_credentials(ctx: ReleaseContext) -> Gate | None:
    """Twine mode: upload credentials for every index of the chain, found before anything is built."""
    if ctx.opts.mode != "twine":
        return None
    from juniper_release.release.publish import PublishError, credentials

    missing = []
    for name in index_chain(ctx.version):
        try:
            credentials(ctx.registry.index(name))
        except PublishError as exc:
            missing.append(f"{exc.what} (fix: {exc.fix})")
    if missing and not ctx.opts.execute:
        return not_checked("upload credentials", "; ".join(missing), "no credentials")
    return Gate(
        "upload credentials",
        not missing,
        "; ".join(missing),
        "export the per-index tokens (JUNIPER_TESTPYPI_TOKEN, JUNIPER_PYPI_TOKEN) or add them to ~/.pypirc",
    )


GATES: tuple[Callable[[ReleaseContext], Gate | None], ...] = (
    on_main,
    in_the_line,
    clean_tree,
    in_sync_with_origin,
    tag_is_new,
    existing_tag_is_annotated,
    version_not_yet_published,
    versions_agree,
    requirements_available,
    verified_at_this_commit,
    bump_covers_api_change,
    publish_workflow_present,
    ci_passed,
    release_at_tag_is_ours,
    github_token,
    upload_credentials,
)


def evaluate(ctx: ReleaseContext) -> list[Gate]:
    """Every gate that applies, in order, each evaluated (a failure does not stop the later ones).

    A gate that needs the network in a dry run (offline) is shown as not checked."""
    gates = []
    for check in GATES:
        name = GATE_NAMES.get(check.__name__, check.__name__.replace("_", " "))
        try:
            gate = check(ctx)
        except Offline as exc:
            gate = not_checked(name, exc.what)
        except (GitError, ForgeError, indexes.IndexUnreachable) as exc:
            if ctx.opts.execute:
                raise
            gate = not_checked(name, exc.what)  # a dry run asks what it can; what does not answer is skipped
        if gate is not None:
            gates.append(gate)
    return gates


GATE_NAMES = {
    "in_sync_with_origin": "in sync with origin",
    "tag_is_new": "tag is new",
    "version_not_yet_published": "version not yet published",
    "requirements_available": "Juniper requirements available",
}
"""The names of the gates that can need the network, for showing them as not checked."""
