"""``nox -s clean`` removes the rehearsal directory the tool made (``.juniper/rehearsal``), checked by its marker like
every other part of the cache dir, and keeps a directory of that name the tool did not make."""

from __future__ import annotations

from pathlib import Path

import pytest
from juniper_release.ecosystem.paths import PART_MARKER
from juniper_release.errors import WorkspaceError
from juniper_release.sandbox import rehearse
from juniper_release.verify import cache as verify_cache


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    base = tmp_path / "cache"
    monkeypatch.setenv("JUNIPER_CACHE_DIR", str(base))
    return base


def test_clean_removes_the_rehearsal_directory_the_tool_made(cache: Path) -> None:
    made = rehearse.default_rehearsal_dir()
    assert made == cache / "rehearsal" and (made / PART_MARKER).is_file()
    rehearse._claim(made)  # the cache's marker alone does not make it "not a rehearsal directory"
    (made / "rehearsal.json").write_text("{}\n")
    assert verify_cache.clean_cache() == [made]
    assert not made.exists()


def test_clean_removes_a_rehearsal_made_before_the_cache_marker(cache: Path) -> None:
    older = cache / "rehearsal"
    older.mkdir(parents=True)
    (older / rehearse.MARKER).touch()
    (older / "rehearsal.json").write_text("{}\n")
    assert rehearse.default_rehearsal_dir() == older  # adopted: it holds the rehearsal's own marker
    assert verify_cache.clean_cache() == [older]


def test_clean_keeps_a_rehearsal_directory_the_tool_did_not_make(cache: Path) -> None:
    mine = cache / "rehearsal"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("the user's own file\n")
    said: list[str] = []
    assert verify_cache.clean_cache(say=said.append) == []
    assert (mine / "notes.txt").read_text() == "the user's own file\n"
    assert said == [f"kept {mine}: not made by juniper-release (no {PART_MARKER} in it)"]
    with pytest.raises(WorkspaceError, match=r"rehearsal exists and was not made by juniper-release"):
        rehearse.default_rehearsal_dir()  # nor is a rehearsal run in it
    assert (mine / "notes.txt").is_file()
