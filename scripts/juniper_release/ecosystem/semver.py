"""The next version: strict ``X.Y.Z`` parsing and the bump parts (major, minor, patch, pre, release).

Every stage that names a version to come (detect's proposal, the bump, the train) computes it here, with
``packaging``'s :class:`~packaging.version.Version`.
"""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from juniper_release.errors import JuniperError

PARTS = ("major", "minor", "patch", "pre", "release")
PRE_LABELS = ("a", "b", "rc")


class VersionError(JuniperError):
    """A version is invalid, not normalized, or not an increase."""


def parse_strict(text: str, where: str = "version") -> Version:
    """A PEP 440 version that is already normalized and has X.Y.Z (so "1.0", "v1.2.3", "01.2.3" are errors)."""
    try:
        version = Version(text)
    except InvalidVersion:
        raise VersionError(
            f"{where} {text!r} is not a valid PEP 440 version", "write it like 1.2.3 or 1.2.3rc1"
        ) from None
    if str(version) != text or len(version.release) != 3 or version.local or version.epoch:
        raise VersionError(
            f"{where} {text!r} is not a normalized X.Y.Z version",
            f"write {_normalized_hint(version)} (no 'v' prefix, leading zeros, epoch or local part)",
        )
    return version


def _normalized_hint(version: Version) -> str:
    release = (*version.release, 0, 0)[:3]
    base = ".".join(str(p) for p in release)
    if version.pre:
        base += f"{version.pre[0]}{version.pre[1]}"
    return base


def next_version(current: Version, part: str, pre: str | None = None) -> Version:
    """The version after ``current`` for ``part``; ``pre`` (a/b/rc) makes major/minor/patch a pre-release."""
    if part not in PARTS:
        raise VersionError(f"unknown bump part {part!r}", f"use one of: {', '.join(PARTS)}")
    if pre is not None and pre not in PRE_LABELS:
        raise VersionError(f"unknown pre-release label {pre!r}", f"use one of: {', '.join(PRE_LABELS)}")
    major, minor, patch = (*current.release, 0, 0)[:3]
    if part == "release":
        if not current.is_prerelease:
            raise VersionError(f"{current} is not a pre-release", "use --part major|minor|patch for a final version")
        return Version(f"{major}.{minor}.{patch}")
    if part == "pre":
        if current.pre is None:
            return Version(f"{major}.{minor}.{patch + 1}{pre or 'rc'}1")
        label, num = current.pre
        want = pre or label
        if PRE_LABELS.index(want) < PRE_LABELS.index(label):
            raise VersionError(
                f"cannot go from {current} back to a {want!r} pre-release", f"use --pre {label} or a later label"
            )
        return Version(f"{major}.{minor}.{patch}{want}{num + 1 if want == label else 1}")
    if part == "major":
        base = f"{major + 1}.0.0"
    elif part == "minor":
        base = f"{major}.{minor + 1}.0"
    else:
        base = f"{major}.{minor}.{patch if current.is_prerelease and pre is None else patch + 1}"
    return Version(f"{base}{pre}1" if pre else base)
