"""The release checkpoint: ``<workspace>/.juniper-release/journal.json``, written atomically.

It records every completed step per release (``name==version``) and the current release train, so a re-run resumes
at the first incomplete step. Whether a step is done is still judged from reality first; the journal covers the
steps reality cannot answer (a verification that already passed).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from juniper_release.errors import JuniperError
from juniper_release.files import disk_error, locked, write_json

STATE_DIR = ".juniper-release"
JOURNAL = "journal.json"
LOCK = "journal.lock"
FINAL_STEP = "re-check"
"""The name of every release's last step: a release is finished only once it is recorded."""


def journal_path(workspace: Path) -> Path:
    return workspace / STATE_DIR / JOURNAL


class Journal:
    """The checkpoint: completed steps per release (``name==version``) and the current train, written atomically."""

    def __init__(self, workspace: Path) -> None:
        self.path = journal_path(workspace)
        self.data: dict[str, Any] = {"releases": {}, "train": None}
        if self.path.is_file():
            try:
                self.data = json.loads(self.path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise JuniperError(f"{self.path}: the journal is not valid JSON", _INSPECT) from None
            except OSError as exc:
                raise disk_error(exc, self.path, "read") from None
            wrong = _shape_error(self.data)
            if wrong:
                raise JuniperError(f"{self.path}: the journal is valid JSON of the wrong shape ({wrong})", _INSPECT)

    def locked(self, say: Callable[[str], None] | None = None) -> AbstractContextManager[None]:
        """One executed release or train at a time on this workspace (the journal's lock)."""
        return locked(self.path.with_name(LOCK), f"the release journal {self.path}", say=say)

    def _save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise disk_error(exc, self.path, "write the journal") from None
        write_json(self.path, self.data, sort_keys=True)

    def steps(self, key: str) -> dict[str, Any]:
        return dict(self.data.setdefault("releases", {}).get(key, {}).get("steps", {}))

    def done(self, key: str, step: str) -> bool:
        return step in self.steps(key)

    def finished(self, key: str) -> bool:
        """The release ran to its end: its last step, the re-check, is recorded."""
        return self.done(key, FINAL_STEP)

    def record(self, key: str, step: str, detail: str) -> None:
        entry = self.data.setdefault("releases", {}).setdefault(key, {"steps": {}})
        entry["steps"][step] = {"at": _now(), "detail": detail}
        self._save()

    @property
    def train(self) -> dict[str, Any] | None:
        train = self.data.get("train")
        return dict(train) if isinstance(train, dict) else None

    def start_train(self, packages: Mapping[str, str]) -> None:
        current = self.train
        if current and not current.get("finished"):
            merged = {**current["packages"], **packages}
            self.data["train"] = {**current, "packages": merged}
        else:
            self.data["train"] = {"packages": dict(packages), "started": _now(), "finished": None}
        self._save()

    def finish_train(self) -> None:
        if self.data.get("train"):
            self.data["train"]["finished"] = _now()
            self._save()


_INSPECT = "inspect it; delete it only after checking tags on origin and versions on the indexes"


def _shape_error(data: Any) -> str | None:
    """What is wrong with a journal's structure (``{"releases": {key: {"steps": {step: {...}}}}, "train": ...}``), or
    None when a run can read it."""
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}, not an object"
    releases = data.get("releases", {})
    if not isinstance(releases, dict):
        return "'releases' is not an object"
    for key, entry in releases.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("steps"), dict):
            return f"release {key!r} has no 'steps' object"
        if not all(isinstance(step, dict) for step in entry["steps"].values()):
            return f"a step of release {key!r} is not an object"
    train = data.get("train")
    if train is not None and not (isinstance(train, dict) and isinstance(train.get("packages"), dict)):
        return "'train' is neither null nor an object with 'packages'"
    return None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
