"""Which tag is the release: one rule for the status matrix, the bump's release notes and the release procedure.

- A tag *matches* when it follows ``settings.tag_format`` (``v{version}``) and the part in the version's place is a
  valid PEP 440 version written without a ``v`` or spaces of its own. Any other tag is *foreign*
  (``cascor-pre-migration-v0.3.17``).
- The *released* version is the index's newest final release (its newest pre-release only when it has no final
  one), whatever the checkout declares: a checkout declaring less is behind the index.
- Only tags reachable from HEAD count (``git tag --merged HEAD``): a checkout of an older commit carries the tags
  of later releases, which are not its history.
- The *release tag* (the diff base) is the tag of the released version when it exists, else the highest matching
  tag at or below the declared version. Tags are never picked by sorting alone: a stale ``v0.25.0-alpha`` above a
  package declaring 0.4.x is not its release.
- Tags above the declared version, foreign tags, and tags (the release tag among them) whose commit declares another
  version are reported as warnings; they never stop anything here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.version import Version

from juniper_release.ecosystem.tagformat import tag_for as tag_for
from juniper_release.ecosystem.tagformat import tag_version as tag_version
from juniper_release.ecosystem.versions import declared_at

if TYPE_CHECKING:
    from juniper_release.ecosystem.model import Package
    from juniper_release.gitops import Git


@dataclass(frozen=True)
class TagChoice:
    """The release tag (None when there is none), the version it names, and what looked wrong on the way.

    ``mismatch`` repeats the warning about the chosen tag's commit declaring another version, for callers that
    treat it as more than a warning.
    """

    tag: str | None
    version: Version | None
    warnings: tuple[str, ...] = ()
    mismatch: str | None = None


def matching_tags(tag_format: str, tags: Iterable[str]) -> dict[Version, str]:
    """The matching tags by the version they name. When several name one version (``v1.0``, ``v1.0.0``), the one
    ``tag_format`` writes wins, else the first by name."""
    found: dict[Version, str] = {}
    for tag in sorted(tags):
        version = tag_version(tag_format, tag)
        if version is not None and (version not in found or tag == tag_for(tag_format, version)):
            found[version] = tag
    return found


def newest_release(on_index: Iterable[Version]) -> Version | None:
    """The newest final release, else the newest pre-release, else None (what PyPI shows as latest)."""
    versions = list(on_index)
    finals = [v for v in versions if not v.is_prerelease]
    return max(finals or versions, default=None)


def released_version(on_index: Iterable[Version]) -> Version | None:
    """The released version: :func:`newest_release` of the index, whatever a checkout declares. An outstanding
    ``0.4.0rc1`` beside a final 0.3.2 is therefore not the release."""
    return newest_release(on_index)


def behind(declared: Version, released: Version | None) -> bool:
    """Whether a checkout declaring ``declared`` is behind the released version (it declares less)."""
    return released is not None and declared < released


def version_at(pkg: Package, git: Git, rev: str) -> Version | None:
    """The version ``pkg`` declares at ``rev`` (:func:`juniper_release.ecosystem.versions.declared_at`): None when
    there is none, it is not valid, or it comes from git tags (the tag is the version)."""
    return declared_at(pkg, git, rev)[0]


def release_tag(
    git: Git, pkg: Package, declared: Version, released: Version | None, siblings: Sequence[str] = ()
) -> TagChoice:
    """The release tag of ``pkg``'s checkout declaring ``declared`` whose released version is ``released`` (None
    when unknown or never released). Tags following a ``siblings`` format (other packages of a shared repository)
    are theirs, neither chosen nor warned about."""
    return _choose(git, pkg, released, declared, inclusive=True, siblings=siblings)


def previous_release_tag(git: Git, pkg: Package, version: Version, on_index: Sequence[Version]) -> TagChoice:
    """The release tag before ``version`` (the one being released): the same rule over the versions below it."""
    earlier = newest_release(v for v in on_index if v < version)
    return _choose(git, pkg, earlier, version, inclusive=False)


def _choose(
    git: Git, pkg: Package, released: Version | None, ceiling: Version, *, inclusive: bool, siblings: Sequence[str] = ()
) -> TagChoice:
    tag_format = pkg.tag_format
    names = [t for t in git.tags(merged="HEAD") if not any(tag_version(fmt, t) is not None for fmt in siblings)]
    tags = matching_tags(tag_format, names)
    below = [v for v in tags if v < ceiling or (inclusive and v == ceiling)]
    version = released if released is not None and released in tags else max(below, default=None)
    tag = tags[version] if version is not None else None
    warnings = _ignored_warnings(tag_format, names, tags, ceiling, tag)
    others = [(tags[v], v) for v in sorted(below) if tags[v] != tag]
    wrong = [(t, at) for t, v in others if (at := declared_at(pkg, git, t))[0] is not None and at[0] != v]
    if wrong:
        files = sorted({source for _, (_, source) in wrong})
        shown = ", ".join(f"{t} ({at})" for t, (at, _) in wrong)
        warnings.append(f"tags on commits whose {', '.join(files)} says another version: {shown}")
    mismatch = _mismatch(git, pkg, tag, version)
    return TagChoice(tag, version, (*warnings, *([mismatch] if mismatch else [])), mismatch)


def _ignored_warnings(
    tag_format: str, names: Sequence[str], tags: dict[Version, str], ceiling: Version, chosen: str | None
) -> list[str]:
    foreign = sorted(t for t in names if tag_version(tag_format, t) is None)
    above = [tags[v] for v in sorted(tags) if v > ceiling and tags[v] != chosen]
    warnings = []
    if above:
        warnings.append(
            f"ignored tags above {ceiling}: {', '.join(above)} (if stale, delete them: `git tag -d TAG` and "
            "`git push origin :refs/tags/TAG`)"
        )
    if foreign:
        warnings.append(f"ignored tags not following tag_format {tag_format!r}: {', '.join(foreign)}")
    return warnings


def _mismatch(git: Git, pkg: Package, tag: str | None, version: Version | None) -> str | None:
    at_tag, source = declared_at(pkg, git, tag) if tag is not None else (None, "")
    if at_tag is None or at_tag == version:
        return None
    return f"tag {tag} is on a commit whose {source} says {at_tag}"
