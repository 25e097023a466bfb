"""Publishing helpers: where upload credentials come from, the upload command that never carries them, and real
twine uploads to a local pypiserver (resumable, refusing a half-present version, never printing a token)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from conftest import IndexServer
from juniper_release.commands import display
from juniper_release.ecosystem.registry import Index
from juniper_release.release.publish import PublishError, credentials, upload, upload_command, uploaded
from juniper_release.secrets import redact

TOKEN = "pypi-" + "AgEIcHlwaS5vcmcCJGFiY2RlZi0xMjM0LTU2NzgtOTBhYi1jZGVmMDEyMzQ1Njc"
TESTPYPI = Index("testpypi", "https://test.pypi.org/legacy/", "https://test.pypi.org/simple/")
LOCAL = Index("pypi", "http://127.0.0.1:8080/", "http://127.0.0.1:8080/simple/")


def test_a_per_index_token_wins_and_is_redacted_from_then_on():
    env = {"JUNIPER_TESTPYPI_TOKEN": TOKEN + "x", "TWINE_PASSWORD": "other-password"}
    creds = credentials(TESTPYPI, env, pypirc=Path("/nonexistent"))
    assert (creds.username, creds.password, creds.source) == ("__token__", TOKEN + "x", "$JUNIPER_TESTPYPI_TOKEN")
    assert redact(f"password is {TOKEN}x") == "password is ***"


def test_twine_variables_come_next(tmp_path):
    env = {"TWINE_USERNAME": "maintainer", "TWINE_PASSWORD": "twine-secret-1"}
    creds = credentials(TESTPYPI, env, pypirc=tmp_path / "none")
    assert (creds.username, creds.password, creds.source) == ("maintainer", "twine-secret-1", "$TWINE_PASSWORD")
    assert credentials(TESTPYPI, {"TWINE_PASSWORD": "twine-secret-2"}, pypirc=tmp_path / "none").username == (
        "__token__"
    )


def test_pypirc_section_of_the_index(tmp_path):
    (tmp_path / ".pypirc").write_text(
        "[distutils]\nindex-servers = testpypi\n\n[testpypi]\nusername = __token__\npassword = pypirc-secret-%s\n",
        encoding="utf-8",
    )
    creds = credentials(TESTPYPI, {"HOME": str(tmp_path)})
    assert (creds.password, creds.source) == ("pypirc-secret-%s", f"{tmp_path / '.pypirc'} [testpypi]")
    assert "pypirc-secret" not in redact("it was pypirc-secret-%s")


def test_no_credentials_is_an_error_except_for_a_local_index(tmp_path):
    with pytest.raises(PublishError, match=r"no upload credentials for testpypi\. Fix: export JUNIPER_TESTPYPI_TOKEN"):
        credentials(TESTPYPI, {"HOME": str(tmp_path)})
    assert credentials(LOCAL, {"HOME": str(tmp_path)}).source == "anonymous (local index)"


def test_the_upload_command_never_carries_credentials(tmp_path):
    env = {"JUNIPER_TESTPYPI_TOKEN": TOKEN}
    creds = credentials(TESTPYPI, env, pypirc=tmp_path / "none")
    cmd = upload_command(TESTPYPI, [tmp_path / "a-1.0.tar.gz"])
    assert cmd[-3:] == ["--repository-url", TESTPYPI.upload_url, str(tmp_path / "a-1.0.tar.gz")]
    assert creds.password not in " ".join(cmd) and creds.password not in display(cmd)
    assert not any(arg in {"-p", "--password", "-u", "--username"} for arg in cmd)


def _wheel(directory: Path, name: str, version: str, tag: str = "py3-none-any") -> Path:
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    path = directory / f"{dist}-{version}-{tag}.whl"
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as whl:
        whl.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        whl.writestr(f"{info}/WHEEL", f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: {tag}\n")
        whl.writestr(f"{info}/RECORD", "")
    return path


@pytest.fixture
def local(index_servers: dict[str, IndexServer]) -> Index:
    return index_servers["pypi"].index


def test_upload_is_resumable_and_refuses_a_file_with_other_content(local, tmp_path):
    wheel = _wheel(tmp_path, "juniper-data", "0.6.1")
    assert upload(local, "juniper-data", [wheel]).startswith("uploaded 1 files (anonymous")
    assert uploaded(local, "juniper-data", [wheel])
    assert upload(local, "juniper-data", [wheel]) == "already on the index (identical files)"
    extra = _wheel(tmp_path, "juniper-data", "0.6.1", tag="py2-none-any")
    assert upload(local, "juniper-data", [wheel, extra]).endswith("; 1 identical already there")
    assert uploaded(local, "juniper-data", [wheel, extra])
    other = _wheel(tmp_path / "other", "juniper-data", "0.6.1")
    other.write_bytes(other.read_bytes() + b"\0")
    with pytest.raises(
        PublishError,
        match=r"pypi already holds juniper_data-0\.6\.1-py3-none-any\.whl of juniper-data "
        r"with other content \(sha256 differs\)\. Fix: files on an index cannot be replaced",
    ):
        upload(local, "juniper-data", [other])


def test_a_failed_upload_never_shows_the_token(tmp_path, monkeypatch):
    monkeypatch.setenv("JUNIPER_PYPI_TOKEN", TOKEN)
    closed = Index("pypi", "http://127.0.0.1:9/legacy/", "http://127.0.0.1:9/simple/")
    wheel = _wheel(tmp_path, "juniper-ml", "0.6.1")
    with pytest.raises(PublishError) as info:
        upload(closed, "juniper-ml", [wheel])
    assert "upload of juniper-ml to pypi failed" in str(info.value) and TOKEN not in str(info.value)
