"""The ordered steps of one release: commit the bump, tag, push, publish, then re-check.

Publishing is a GitHub Release watched to completion (``--mode github``), or twine uploads to TestPyPI and then PyPI
(``--mode twine``); either way each index is verified in a fresh environment. Every step has a name, the exact
command a dry run prints, a ``done`` judged from reality (the tag on origin, the files on the index; the journal only
where reality cannot say), and an action returning the outcome the step prints.
"""

from __future__ import annotations

import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from shlex import quote

from juniper_release.commands import display
from juniper_release.ecosystem import indexes
from juniper_release.errors import JuniperError
from juniper_release.files import disk_error
from juniper_release.release import publish
from juniper_release.release.apireview import accepted_note
from juniper_release.release.context import ReleaseContext, index_chain
from juniper_release.release.existing import check_release
from juniper_release.release.journal import FINAL_STEP
from juniper_release.release.notes import (
    FORWARD_PORT_STEP,
    file_forward_port,
    forward_port_command,
    forward_port_filed,
    release_body,
    release_notes_source,
)
from juniper_release.release.options import confirm
from juniper_release.verify import cache as verify
from juniper_release.verify.build import MANIFEST_NAME, build_tree, load_build, write_manifest


@dataclass(frozen=True)
class Step:
    name: str
    command: Callable[[ReleaseContext], str]
    done: Callable[[ReleaseContext], bool]
    action: Callable[[ReleaseContext], str]


# --------------------------------------------------------------------------------------------------- git


def _bump_message(ctx: ReleaseContext) -> str:
    return f"Bump {ctx.group.name if ctx.group else ctx.pkg.name} to {ctx.version}"


def commit_bump_command(ctx: ReleaseContext) -> str:
    files = " ".join(quote(f) for f in sorted(ctx.bump_files))
    return f"git -C {quote(str(ctx.root))} commit -m {quote(_bump_message(ctx))} -- {files}"


def bump_committed(ctx: ReleaseContext) -> bool:
    return not ctx.needs_commit()


def commit_bump(ctx: ReleaseContext) -> str:
    ctx.git.run("commit", "-m", _bump_message(ctx), "--", *sorted(ctx.bump_files))
    return f"committed {ctx.git.head()[:8]}"


def _subject(ctx: ReleaseContext) -> str:
    """What the release is of: the package, or its lockstep group (one tag for every member)."""
    return f"group {ctx.group.name}" if ctx.group else ctx.pkg.name


def _tag_target(ctx: ReleaseContext) -> str:
    """The commit the tag names, as a command shows it: HEAD, or the release commit below a sibling's later bump."""
    release = ctx.release_commit()
    return "" if release == ctx.git.head() else f" {release[:12]}"


def tag_command(ctx: ReleaseContext) -> str:
    message = quote(f"Release {_subject(ctx)} {ctx.version}")
    return f"git -C {quote(str(ctx.root))} tag -a {quote(ctx.tag)} -m {message}{_tag_target(ctx)}"


def tagged_at_head(ctx: ReleaseContext) -> bool:
    """The tag exists at the release commit (HEAD unless a sibling package's bump was committed after this one's)."""
    git = ctx.git
    return git.tag_exists(ctx.tag) and git.run("rev-list", "-n", "1", ctx.tag) == ctx.release_commit()


def tag(ctx: ReleaseContext) -> str:
    release = ctx.release_commit()
    ctx.git.tag_annotated(ctx.tag, f"Release {_subject(ctx)} {ctx.version}", rev=release)
    return f"tagged {release[:8]}"


def _push_refs(ctx: ReleaseContext, branch_head: str | None) -> list[str]:
    """What the push sends, given origin's branch commit: the branch up to the release commit only (in a shared
    repository the packages of one train push in layer order, each a fast-forward of the one before; a sibling's
    later bump commit goes with its own tag) and the tag; only the tag when origin's branch already holds the release
    commit (a sibling bumped later was released first and pushed it)."""
    release, branch = ctx.release_commit(), ctx.branch
    holds = branch_head is not None and ctx.git.ok("merge-base", "--is-ancestor", release, branch_head)
    if holds and not ctx.needs_commit():
        return [ctx.tag]
    return [branch if release == ctx.git.head() else f"{release}:refs/heads/{branch}", ctx.tag]


def push_command(ctx: ReleaseContext) -> str:
    # origin's branch as last fetched (the "in sync with origin" gate fetches): a dry run asks no remote.
    tracking = f"refs/remotes/origin/{ctx.branch}"
    known = ctx.git.run("rev-parse", tracking) if ctx.git.ok("rev-parse", "-q", "--verify", tracking) else None
    return f"git -C {quote(str(ctx.root))} push --atomic origin {' '.join(quote(r) for r in _push_refs(ctx, known))}"


def pushed(ctx: ReleaseContext) -> bool:
    """origin has the tag at the release commit and its branch holds that commit (at it, or at a later release of
    a sibling package built on it)."""
    release = ctx.release_commit()
    branch_head, tags = ctx.remote(refresh=True)
    if tags.get(ctx.tag) != release or branch_head is None:
        return False
    return branch_head == release or ctx.git.ok("merge-base", "--is-ancestor", release, branch_head)


def push(ctx: ReleaseContext) -> str:
    """Push atomically what :func:`_push_refs` says, judged from origin as it is now. In the PR flow only the tag is
    ever pushed: a branch push is refused here too, whatever the gates said."""
    branch = ctx.branch
    refs = _push_refs(ctx, ctx.remote(refresh=True)[0])
    if not ctx.opts.direct_push and refs != [ctx.tag]:
        raise JuniperError(
            f"{ctx.pkg.name}: origin/{branch} does not hold the release commit {ctx.release_commit()[:8]}; the PR "
            "flow pushes only the tag",
            "merge the bump through a pull request first, or pass --direct-push for an unprotected repository",
        )
    ctx.git.run(
        "push",
        "--atomic",
        "origin",
        *refs,
        fix="origin rejected the push (nothing was pushed, --atomic): fix the cause (hook, permissions, "
        f"protected branch, or {branch} moved on origin: `git pull --rebase origin {quote(branch)}`), then re-run to resume",
    )
    if not pushed(ctx):
        raise JuniperError(
            f"{ctx.pkg.name}: after the push origin does not have {ctx.tag} at the release commit",
            "check origin, then re-run",
        )
    if refs == [ctx.tag]:
        return f"pushed {ctx.tag} ({branch} on origin already holds {ctx.release_commit()[:8]})"
    return f"pushed {branch} and {ctx.tag}"


# --------------------------------------------------------------------------------------------------- github mode


def github_release_command(ctx: ReleaseContext) -> str:
    prerelease = str(ctx.version.is_prerelease).lower()
    latest = " make_latest=false" if ctx.maintenance else ""
    return (
        f"POST {ctx.forge.base_url}/repos/{ctx.pkg.repo}/releases tag_name={ctx.tag} prerelease={prerelease}{latest}"
        f" (notes: {release_notes_source(ctx)})"
    )


def github_release_exists(ctx: ReleaseContext) -> bool:
    """A Release at the tag is this release's, checked, not trusted: its tag, its target commit and that it is
    published (a draft triggers no publish run; a squatted one names another commit). Anything else stops here."""
    found = ctx.forge.release_by_tag(ctx.pkg.repo, ctx.tag)
    return found is not None and bool(check_release(ctx, found))


def create_github_release(ctx: ReleaseContext) -> str:
    prerelease = ctx.version.is_prerelease
    rel = ctx.forge.create_release(
        ctx.pkg.repo,
        ctx.tag,
        sha=ctx.release_commit(),
        title=ctx.tag,
        body=release_body(ctx) + accepted_note(ctx.opts.accept_api_change),
        prerelease=prerelease,
        make_latest=False if ctx.maintenance else None,
    )
    check_release(ctx, rel)
    kind = " (prerelease)" if prerelease else " (not latest: a maintenance line)" if ctx.maintenance else ""
    return f"created {rel['html_url']}{kind}"


def watch_command(ctx: ReleaseContext) -> str:
    workflow = ctx.workflow.rsplit("/", 1)[-1]
    return (
        f"GET {ctx.forge.base_url}/repos/{ctx.pkg.repo}/actions/workflows/{workflow}/runs"
        f"?event=release&head_sha={ctx.release_commit()}&branch={ctx.tag}"
    )


def publish_run_done(ctx: ReleaseContext) -> bool:
    return ctx.journal.done(ctx.key, WATCH_PUBLISH_RUN.name) or ctx.on_index(ctx.target.name)


def watch_publish_run(ctx: ReleaseContext) -> str:
    run = ctx.forge.watch(
        ctx.pkg.repo,
        ctx.workflow,
        tag=ctx.tag,
        sha=ctx.release_commit(),
        timeout=ctx.opts.timeout,
        on_change=ctx.note,
    )
    return f"run {run.id} succeeded"


# --------------------------------------------------------------------------------------------------- twine mode


def build_command(ctx: ReleaseContext) -> str:
    return (
        f"copy the verified wheelhouse artifacts to {ctx.dist_dir} (if none match this content: build "
        f"<git archive {ctx.tag}> into {ctx.dist_dir}, then twine check --strict and the wheel inspection)"
    )


def built(ctx: ReleaseContext) -> bool:
    """The dist dir holds a complete build: its manifest, written last, lists files whose sha256 all match (a copy
    cut short by a full disk or a kill is not "done": the step rebuilds it)."""
    return load_build(ctx.pkg, ctx.dist_dir) is not None


def build(ctx: ReleaseContext) -> str:
    """Stage the very files verify installed for upload; with no verified build of this content, build the tag.

    The dist dir's manifest (with every file's sha256) is written only once all its files are in place."""
    verified = verify.verified_artifacts(ctx.registry, ctx.pkg, ctx.workspace)
    _empty(ctx.dist_dir)
    if verified is not None:
        try:
            for artifact in verified.artifacts:
                shutil.copy2(artifact, ctx.dist_dir / artifact.name)
        except OSError as exc:
            raise disk_error(exc, ctx.dist_dir / artifact.name, "copy the verified artifact to") from None
        write_manifest(ctx.dist_dir / MANIFEST_NAME, verified.manifest)
        names = ", ".join(a.name for a in verified.artifacts)
        return f"reusing the verified artifacts (the files verify installed): {names}"
    try:
        result = build_tree(ctx.pkg, _export_tag(ctx), ctx.dist_dir, ctx.version)
    except OSError as exc:
        raise disk_error(exc, ctx.dist_dir, "build into") from None
    return "built " + ", ".join(f.name for f in sorted(result.artifacts))


def _empty(directory: Path) -> None:
    """An empty ``directory`` under the workspace's ``.juniper-release/`` (the release's own state dir)."""
    try:
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
    except OSError as exc:
        raise disk_error(exc, directory, "create") from None


def _export_tag(ctx: ReleaseContext) -> Path:
    """The tag's tree (``git archive``), extracted into a fresh folder under the work dir."""
    src = ctx.work_dir / f"src-{ctx.pkg.name}-{ctx.version}"
    _empty(src)
    archive = ctx.work_dir / f"{ctx.pkg.name}-{ctx.version}.tar"
    ctx.git.run("archive", "--format=tar", f"--output={archive}", ctx.tag)
    with tarfile.open(archive) as tar:
        tar.extractall(src, filter="data")
    archive.unlink()
    return src


def upload_command(ctx: ReleaseContext, index: str) -> str:
    command = publish.upload_command(ctx.registry.index(index), [ctx.dist_dir / "*"])
    return display(command) + "  (credentials from env/.pypirc)"


def uploaded(ctx: ReleaseContext, index: str) -> bool:
    return ctx.on_index(index)


def upload(ctx: ReleaseContext, index: str) -> str:
    """Upload the built files; PyPI, which cannot be undone, is confirmed on a terminal unless --yes."""
    opts = ctx.opts
    if index == "pypi" and opts.is_tty and not opts.yes:
        confirm(opts, f"Upload {ctx.pkg.name} {ctx.version} to PyPI? This cannot be undone")
    return publish.upload(ctx.registry.index(index), ctx.pkg.name, ctx.dists())


def upload_step(index: str) -> Step:
    return Step(
        f"upload {index}",
        partial(upload_command, index=index),
        partial(uploaded, index=index),
        partial(upload, index=index),
    )


# --------------------------------------------------------------------------------------------------- both modes


def verify_command(ctx: ReleaseContext, index: str) -> str:
    url = ctx.registry.index(index).simple_url
    return (
        f"poll {url}{ctx.pkg.name}/ ; fresh env: deps from {publish.THIRD_PARTY_INDEX}, then "
        f"pip install --no-deps --index-url {url} {ctx.pkg.name}=={ctx.version}"
    )


def verified_on(ctx: ReleaseContext, index: str) -> bool:
    return ctx.journal.done(ctx.key, f"verify {index}")


def verify_on(ctx: ReleaseContext, index: str) -> str:
    """Wait until the index lists the version, then install it alone in a fresh environment and import it."""
    where = ctx.registry.index(index)
    waited = publish.wait_installable(where, ctx.pkg.name, ctx.version, ctx.opts.timeout)
    if not ctx.opts.verify_installs:
        return f"listed on {index} after {waited:.1f}s"
    summary = publish.verify_install(ctx.registry, ctx.pkg, ctx.version, where, ctx.root, ctx.work_dir, log=ctx.note)
    return f"{summary} (listed after {waited:.1f}s)"


def verify_step(index: str) -> Step:
    return Step(
        f"verify {index}",
        partial(verify_command, index=index),
        partial(verified_on, index=index),
        partial(verify_on, index=index),
    )


def recheck_command(ctx: ReleaseContext) -> str:
    return "git ls-remote origin; index look-ups"


def never_done(ctx: ReleaseContext) -> bool:
    """The re-check always runs: it is the check after acting."""
    return False


def recheck(ctx: ReleaseContext) -> str:
    """After acting, check reality again: the tag on origin at the release commit, the version on every index it went
    to."""
    _head, tags = ctx.remote(refresh=True)
    problems = []
    if tags.get(ctx.tag) != ctx.release_commit():
        problems.append(f"{ctx.tag} is not on origin at the release commit")
    chain = [ctx.target.name] if ctx.opts.mode == "github" else index_chain(ctx.version)
    for index in chain:
        if not indexes.has_version(ctx.registry.index(index), ctx.pkg.name, ctx.version):
            problems.append(f"{ctx.version} is not on {index}")
    if problems:
        raise JuniperError(f"{ctx.pkg.name}: after the release {'; '.join(problems)}", "investigate, then re-run")
    return f"{ctx.tag} on origin; {ctx.version} on {', '.join(chain)}"


# --------------------------------------------------------------------------------------------------- the procedure

COMMIT_BUMP = Step("commit bump", commit_bump_command, bump_committed, commit_bump)
TAG = Step("tag", tag_command, tagged_at_head, tag)
PUSH = Step("push", push_command, pushed, push)
GITHUB_RELEASE = Step("GitHub Release", github_release_command, github_release_exists, create_github_release)
WATCH_PUBLISH_RUN = Step("watch publish run", watch_command, publish_run_done, watch_publish_run)
BUILD = Step("build", build_command, built, build)
RECHECK = Step(FINAL_STEP, recheck_command, never_done, recheck)


def github_steps(ctx: ReleaseContext) -> list[Step]:
    """A GitHub Release; its publish workflow uploads; watch that run, then verify the target index."""
    return [GITHUB_RELEASE, WATCH_PUBLISH_RUN, verify_step(ctx.target.name)]


def twine_steps(ctx: ReleaseContext) -> list[Step]:
    """Build (or reuse the verified files) once, then upload and verify index by index: TestPyPI, then PyPI."""
    per_index = [step for index in index_chain(ctx.version) for step in (upload_step(index), verify_step(index))]
    return [BUILD, *per_index]


def steps(ctx: ReleaseContext) -> list[Step]:
    """The release, in order: the git half, the mode's publishing half, then the re-check."""
    publishing = github_steps(ctx) if ctx.opts.mode == "github" else twine_steps(ctx)
    reminder = (
        [Step(FORWARD_PORT_STEP, forward_port_command, forward_port_filed, file_forward_port)]
        if ctx.maintenance
        else []
    )
    return [COMMIT_BUMP, TAG, PUSH, *publishing, *reminder, RECHECK]
