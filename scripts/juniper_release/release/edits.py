"""A bump's file edits: each file's full old and new text, shown as a diff and written all-or-nothing."""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from juniper_release.errors import JuniperError
from juniper_release.files import newline_of, unified_diff


@dataclass(frozen=True)
class FileEdit:
    """One file's full old and new text (``old`` None for a new file)."""

    path: Path
    old: str | None
    new: str

    def diff(self, base: Path | None = None) -> str:
        name = str(self.path.relative_to(base)) if base and self.path.is_relative_to(base) else str(self.path)
        return unified_diff(self.old, self.new, name)


def apply_edits(edits: Sequence[FileEdit]) -> None:
    """Write every edit or none: temp files first, then renames; on any failure the originals are restored."""
    temps: list[tuple[FileEdit, Path]] = []
    try:
        for edit in edits:
            # A read-only file would still be replaced by the rename below: refuse it like a failed write.
            if edit.path.exists() and not os.access(edit.path, os.W_OK):
                raise PermissionError(errno.EACCES, "Permission denied", str(edit.path))
            tmp = edit.path.with_name(f".{edit.path.name}.juniper-tmp")
            tmp.write_text(edit.new, encoding="utf-8", newline=newline_of(edit.path))  # a CRLF file stays CRLF
            if edit.path.exists():
                os.chmod(tmp, edit.path.stat().st_mode & 0o7777)
            temps.append((edit, tmp))
    except OSError as exc:
        for _, tmp in temps:
            tmp.unlink(missing_ok=True)
        raise JuniperError(
            f"could not write {exc.filename}: {exc.strerror}", "check permissions; nothing was changed"
        ) from None
    done: list[FileEdit] = []
    try:
        for edit, tmp in temps:
            os.replace(tmp, edit.path)
            done.append(edit)
    except OSError as exc:
        for edit in done:
            if edit.old is None:
                edit.path.unlink(missing_ok=True)
            else:
                edit.path.write_text(edit.old, encoding="utf-8", newline=newline_of(edit.path))
        for _, tmp in temps:
            tmp.unlink(missing_ok=True)
        raise JuniperError(
            f"could not replace {exc.filename}: {exc.strerror}", "check permissions; every file was restored"
        ) from None
