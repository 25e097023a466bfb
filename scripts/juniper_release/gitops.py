"""git, always checked: every failure is raised with the command and the fix."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from shlex import quote

from juniper_release.commands import last_lines
from juniper_release.errors import GitError
from juniper_release.interrupts import refuse_new_command
from juniper_release.offline import is_offline, require_network
from juniper_release.secrets import redact

_REMOTE_COMMANDS = frozenset({"fetch", "ls-remote", "push", "pull"})

_FOREIGN_REPO_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
)
"""Variables that point git at another repository than the checkout it runs in (set by a hook, an IDE or a user's
shell): every git command here runs with them cleared, so it reads the checkout's own ``.git``."""
"""git commands that talk to a remote (a network call unless the remote is a path on this machine)."""


@dataclass(frozen=True)
class Git:
    """A git working tree."""

    root: Path
    env: Mapping[str, str] | None = None

    def run(self, *args: str, fix: str | None = None, strip: bool = True) -> str:
        """Run ``git args`` in the tree and return stdout (stripped unless ``strip=False``, which output whose
        leading blanks mean something needs, such as ``status --porcelain``); a non-zero exit raises GitError."""
        if args and args[0] in _REMOTE_COMMANDS and is_offline():
            self._require_local_remote(args)
        proc = self._spawn(args)
        if proc.returncode != 0:
            detail = self._rejection(args, proc.stderr) or last_lines(proc.stderr or proc.stdout)
            raise GitError(
                f"{self.root.name}: `git {' '.join(args)}` failed: {redact(detail)}",
                fix or "resolve the git problem shown and re-run",
            )
        return proc.stdout.strip() if strip else proc.stdout

    def _rejection(self, args: Sequence[str], stderr: str) -> str | None:
        """A refused push, said whole: the repository it went to, the remote's own reason (every ``remote:`` line a
        hook printed, such as "Commits must have verified signatures") and the refs it rejected. None for any other
        failure (or a push the remote said nothing about)."""
        if not args or args[0] != "push":
            return None
        lines = stderr.splitlines()
        reasons = [text for line in lines if line.startswith("remote:") and (text := line[len("remote:") :].strip())]
        refused = [line.strip() for line in lines if line.lstrip().startswith("! [")]
        if not reasons and not refused:
            return None
        remote = next((a for a in args[1:] if not a.startswith("-")), "origin")
        url = self.remote_url(remote) or remote
        return f"{url} rejected the push: " + " | ".join([*reasons, *refused])

    def ok(self, *args: str) -> bool:
        """True when ``git args`` exits 0 (for questions such as 'does this ref exist')."""
        return self._spawn(args).returncode == 0

    def _spawn(self, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        """Start ``git args`` in the tree (never once an interruption arrived, in a worker thread); the exit status is
        the caller's to judge."""
        refuse_new_command(f"git {' '.join(args)}")
        proc = subprocess.run(["git", *args], cwd=self.root, env=self._env(), capture_output=True, check=False)
        # File names are bytes to git: a name that is not UTF-8 survives as surrogates (os.fsencode gives it back);
        # a hook's or git's own message in another encoding is shown with replacement characters, never a traceback.
        return subprocess.CompletedProcess(
            proc.args,
            proc.returncode,
            proc.stdout.decode("utf-8", "surrogateescape"),
            proc.stderr.decode("utf-8", "replace"),
        )

    def _require_local_remote(self, args: Sequence[str]) -> None:
        """Offline, a command that talks to a remote may only use a remote on this machine (a path)."""
        remote = next((a for a in args[1:] if not a.startswith("-")), "origin")
        url = self.run("remote", "get-url", remote) if self.ok("remote", "get-url", remote) else remote
        local = url.startswith("file://") or ("://" not in url and ":" not in url.split("/", 1)[0])
        if not local:
            require_network(f"{self.root.name}: `git {args[0]} {remote}` ({redact(url)})")

    def _env(self) -> dict[str, str]:
        """The environment of every git command: this process's, plus ``env``, without the variables that would
        point git at another repository (:data:`_FOREIGN_REPO_ENV`)."""
        merged = {**os.environ, **(self.env or {})}
        return {k: v for k, v in merged.items() if k not in _FOREIGN_REPO_ENV}

    # ---- questions

    def is_repo(self) -> bool:
        return (self.root / ".git").exists() and self.ok("rev-parse", "--git-dir")

    def is_shallow(self) -> bool:
        """True for a shallow clone (``git clone --depth N``): its history, and the tags on it, are cut off."""
        return self.run("rev-parse", "--is-shallow-repository") == "true"

    def unshallow_hint(self) -> str:
        """The fetch that completes a shallow clone's history and tags (empty for a full clone)."""
        if not self.is_shallow():
            return ""
        return (
            f" (this clone is shallow: its history and tags are cut off; "
            f"run `git -C {quote(str(self.root))} fetch --unshallow --tags origin`)"
        )

    def head(self) -> str:
        return self.run("rev-parse", "HEAD")

    def branch(self) -> str:
        return self.run("rev-parse", "--abbrev-ref", "HEAD")

    def status_porcelain(self) -> list[str]:
        """``git status --porcelain -z`` entries as ``XY path`` (unquoted; a rename shows its new path)."""
        out = self.run("status", "--porcelain", "-z", "--untracked-files=normal", strip=False)
        fields = iter(out.split("\0"))
        entries = []
        for field in fields:
            if not field:
                continue
            entries.append(field)
            if field[0] in "RC":  # a rename or copy: the next field is the path it came from
                next(fields, None)
        return entries

    def changed_paths(self) -> list[str]:
        """The paths ``git status`` reports as changed or untracked, relative to the root."""
        return [entry[3:] for entry in self.status_porcelain()]

    def is_clean(self) -> bool:
        return not self.status_porcelain()

    def tags(self, merged: str | None = None) -> list[str]:
        """Every tag, or only those whose commit is an ancestor of ``merged`` (or is it), asked exactly: the commits
        reachable from ``merged`` (a full ``git rev-list``) against each tag's peeled commit. Never ``git tag
        --merged``: its walk stops early on commit dates and misses tags in a clock-skewed history."""
        out = self.run("for-each-ref", "--format=%(refname:strip=2)%00%(objectname)%00%(*objectname)", "refs/tags")
        peeled: dict[str, str] = {}
        for line in out.splitlines():
            name, _, rest = line.partition("\0")
            obj, _, deref = rest.partition("\0")
            if name:
                peeled[name] = deref or obj
        if not merged:
            return sorted(peeled)
        reachable = set(self.run("rev-list", merged, "--").split())
        return sorted(name for name, sha in peeled.items() if sha in reachable)

    def tag_exists(self, tag: str) -> bool:
        return self.ok("rev-parse", "-q", "--verify", f"refs/tags/{tag}")

    def tag_is_annotated(self, tag: str) -> bool:
        """True when ``tag`` is an annotated tag object (a lightweight tag points straight at a commit)."""
        return self.run("cat-file", "-t", f"refs/tags/{tag}") == "tag"

    def commits_since(self, ref: str, paths: Sequence[str] = ()) -> int:
        """Commits since ``ref``; with ``paths`` (pathspecs), only those touching them."""
        return int(self.run("rev-list", "--count", f"{ref}..HEAD", *(("--", *paths) if paths else ())))

    def untracked(self) -> list[str]:
        """Untracked files git does not ignore."""
        out = self.run("ls-files", "-z", "--others", "--exclude-standard")
        return [f for f in out.split("\0") if f]

    def files(self) -> list[str]:
        """The checkout's files as a build sees them, sorted: tracked files that exist plus untracked files git
        does not ignore (symlinks included; deleted files and submodule folders left out)."""
        out = self.run("ls-files", "-z", "--cached", "--others", "--exclude-standard")
        names = sorted({f for f in out.split("\0") if f})
        return [f for f in names if (self.root / f).is_symlink() or (self.root / f).is_file()]

    def package_files(self) -> list[str]:
        """:meth:`files` without nested packages' directories: a sub-directory with its own pyproject.toml is another
        package of a shared repository, not part of this one (see :func:`own_files`)."""
        return own_files(self.files())

    def remote_url(self, remote: str = "origin") -> str | None:
        return self.run("remote", "get-url", remote) if self.ok("remote", "get-url", remote) else None

    def remote_tags(self, remote: str = "origin") -> list[str]:
        out = self.run("ls-remote", "--tags", "--refs", remote)
        return [line.split("refs/tags/", 1)[1] for line in out.splitlines() if "refs/tags/" in line]

    def subjects_since(self, ref: str | None, paths: Sequence[str] = ()) -> list[str]:
        """Commit subjects since ``ref`` (all of them when None); with ``paths`` (pathspecs), only those touching them."""
        rng = f"{ref}..HEAD" if ref else "HEAD"
        out = self.run("log", "--format=%s", rng, *(("--", *paths) if paths else ()))
        return [line for line in out.splitlines() if line]

    # ---- actions

    def add(self, paths: Sequence[str]) -> None:
        self.run("add", "--", *paths)

    def commit(self, message: str) -> str:
        self.run("commit", "-m", message)
        return self.head()

    def tag_annotated(self, tag: str, message: str, rev: str = "HEAD") -> None:
        stale = self.tag_exists(tag)
        fix = f"delete the stale tag with `git tag -d {quote(tag)}` if it is wrong" if stale else None
        self.run("tag", "-a", tag, "-m", message, rev, fix=fix)

    def fetch(self, remote: str = "origin") -> None:
        """``git fetch --tags --prune``; a tag that differs here and on ``remote`` is named with the way out."""
        try:
            self.run("fetch", "--tags", "--prune", remote, fix=f"check that remote {remote!r} is reachable")
        except GitError as exc:
            clobber = re.search(r"(\S+)\s+->\s+\S+\s+\(would clobber existing tag\)", exc.what)
            if clobber is None:
                raise
            tag = clobber.group(1)
            raise GitError(
                f"{self.root.name}: tag {tag} differs here ({self.run('rev-parse', tag)[:8]}) and on {remote}",
                f"keep {remote}'s (`git tag -d {quote(tag)} && git fetch --tags {remote}`), or replace {remote}'s with "
                f"this one (`git push --force {remote} {quote(f'refs/tags/{tag}')}`) if nothing was released from it",
            ) from None


def own_files(files: Sequence[str]) -> list[str]:
    """``files`` (relative to a package's directory) without those below a sub-directory holding its own
    pyproject.toml: another package of a shared repository."""
    nested = tuple(f[: -len("pyproject.toml")] for f in files if f.endswith("/pyproject.toml"))
    return [f for f in files if not f.startswith(nested)] if nested else list(files)
