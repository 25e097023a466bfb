"""What a ``tag_format`` means: the tag it gives a version, and the version a tag names (None for a foreign tag).

The format holds ``{version}`` once (``v{version}``, ``{name}-v{version}``). The rule for which tag is a package's
release is :mod:`juniper_release.ecosystem.tags`.
"""

from __future__ import annotations

from packaging.version import InvalidVersion, Version


def tag_for(tag_format: str, version: Version | str) -> str:
    """The tag ``tag_format`` gives ``version``."""
    return tag_format.format(version=str(version))


def tag_version(tag_format: str, tag: str) -> Version | None:
    """The version a tag names under ``tag_format``, or None when the tag is foreign."""
    prefix, _, suffix = tag_format.partition("{version}")
    if not (tag.startswith(prefix) and tag.endswith(suffix)) or len(tag) <= len(prefix) + len(suffix):
        return None
    raw = tag[len(prefix) : len(tag) - len(suffix)]
    if raw != raw.strip() or raw[:1] in {"v", "V"}:
        return None  # packaging would accept "vv1.0" or "v 1.0" as 1.0
    try:
        return Version(raw)
    except InvalidVersion:
        return None
