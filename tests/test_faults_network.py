"""Issue 19's network rules, in the fault suite: every wait bounded (the whole request, not each read), every answer
size capped, credentials never following a redirect to another origin, and a page that is not an index never taken
for "never released". Local servers on 127.0.0.1 only; every loop bounded."""

from __future__ import annotations

import http.server
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from juniper_release import netio
from juniper_release.ecosystem import indexes
from juniper_release.ecosystem.registry import Index
from juniper_release.github.forge import ForgeError, GitHub

Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


@contextmanager
def serve(handle: Handler) -> Iterator[str]:
    """A local HTTP server whose GETs ``handle`` answers; its base URL."""

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            handle(self)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _index(url: str) -> Index:
    return Index("pypi", f"{url}/legacy/", f"{url}/simple/")


def test_a_drip_fed_answer_ends_at_the_timeout_not_per_read():
    def drip(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.end_headers()
        for _ in range(30):  # a byte every 0.3 s: each read is quick, the whole would take 9 s
            try:
                h.wfile.write(b"<")
                h.wfile.flush()
            except OSError:
                return
            time.sleep(0.3)

    with serve(drip) as url:
        start = time.monotonic()
        with pytest.raises(indexes.IndexUnreachable, match=r"no complete answer within 2s") as exc:
            indexes.project_listing(_index(url), "demo", timeout=2)
        assert time.monotonic() - start < 4
        assert "\n" not in str(exc.value)


def test_an_oversized_answer_is_refused(monkeypatch):
    monkeypatch.setattr(netio, "MAX_BYTES", 10_000)

    def big(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.end_headers()
        h.wfile.write(b"<a href='x-1.0.tar.gz'>x</a>" * 2000)

    with serve(big) as url, pytest.raises(indexes.IndexUnreachable, match=r"larger than"):
        indexes.project_listing(_index(url), "demo", timeout=5)


@pytest.mark.parametrize(
    "page",
    [
        b"<html><body><h1>Welcome to nginx!</h1><a href='http://nginx.org/'>nginx.org</a></body></html>",
        b"<html><body>Down for maintenance</body></html>",
        b"",
    ],
)
def test_a_page_that_is_not_a_simple_index_is_no_fact(page):
    def answer(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.end_headers()
        h.wfile.write(page)

    with serve(answer) as url, pytest.raises(indexes.IndexUnreachable, match=r"not a simple index"):
        indexes.project_listing(_index(url), "demo", timeout=5)


def test_a_real_simple_page_is_still_read():
    def answer(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.end_headers()
        h.wfile.write(b'<html><body><a href="/p/demo-1.2.0.tar.gz#sha256=ab">demo-1.2.0.tar.gz</a></body></html>')

    with serve(answer) as url:
        assert [str(v) for v in indexes.project_listing(_index(url), "demo", timeout=5).versions] == ["1.2.0"]


def test_credentials_never_follow_a_redirect_to_another_origin():
    seen: dict[str, str | None] = {}

    def elsewhere(h: http.server.BaseHTTPRequestHandler) -> None:
        seen["elsewhere"] = h.headers.get("Authorization")
        h.send_response(404)
        h.end_headers()

    with serve(elsewhere) as other:

        def redirecting(h: http.server.BaseHTTPRequestHandler) -> None:
            if h.path.startswith("/simple/"):
                seen["index"] = h.headers.get("Authorization")
                h.send_response(302)
                target = f"{other}{h.path}" if "away" not in seen else h.path.replace("/simple/", "/same/")
                h.send_header("Location", target)
                h.end_headers()
            else:  # a redirect within the origin keeps them
                seen["same"] = h.headers.get("Authorization")
                h.send_response(404)
                h.end_headers()

        with serve(redirecting) as url:
            secret = url.replace("http://", "http://user:s3cret-pw@")
            indexes.project_listing(_index(secret), "demo", timeout=5)
            assert seen["index"] and seen["index"].startswith("Basic ")
            assert seen["elsewhere"] is None  # the other origin got no Authorization
            seen["away"] = "done"
            indexes.project_listing(_index(secret), "demo", timeout=5)
            assert seen["same"] and seen["same"].startswith("Basic ")


def test_the_github_token_never_follows_a_redirect_and_garbage_is_one_line():
    seen: dict[str, str | None] = {}

    def elsewhere(h: http.server.BaseHTTPRequestHandler) -> None:
        seen["elsewhere"] = h.headers.get("Authorization")
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.end_headers()
        h.wfile.write(b"\xff\xfe not json")

    with serve(elsewhere) as other:

        def api(h: http.server.BaseHTTPRequestHandler) -> None:
            h.send_response(302)
            h.send_header("Location", f"{other}{h.path}")
            h.end_headers()

        with serve(api) as url:
            gh = GitHub(url, token="ghp_redirectsecret123")
            with pytest.raises(ForgeError, match=r"not JSON") as exc:
                gh.request("GET", "/repos/o/r")
    assert seen["elsewhere"] is None
    assert "\n" not in str(exc.value) and "ghp_redirectsecret123" not in str(exc.value)


@contextmanager
def _watch_cmdlines(secret: str) -> Iterator[list[str]]:
    """Scan every process's command line (``/proc/*/cmdline``, what ``ps`` shows) while the block runs."""
    import pathlib

    found: list[str] = []
    stop = threading.Event()

    def scan() -> None:
        for _ in range(2000):  # bounded: at most ~100 s
            if stop.is_set():
                return
            for cmdline in pathlib.Path("/proc").glob("[0-9]*/cmdline"):
                if cmdline.parent.name == str(os.getpid()):
                    continue  # this test's own process holds the secret in memory, not on a command line
                try:
                    text = cmdline.read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
                except OSError:
                    continue
                if secret in text:
                    found.append(text)
            time.sleep(0.02)

    thread = threading.Thread(target=scan, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        stop.set()
        thread.join(timeout=5)


def _slow_404(h: http.server.BaseHTTPRequestHandler) -> None:
    time.sleep(0.5)  # long enough for the scan to see the child
    h.send_response(404)
    h.end_headers()


def test_index_credentials_never_reach_an_installer_command_line(tmp_path):
    from juniper_release.errors import JuniperError
    from juniper_release.verify.envs import create_env

    env = create_env(tmp_path / "env", "3.11")
    with serve(_slow_404) as url, _watch_cmdlines("pw-s3cret-on-cmdline") as found:
        secret_url = url.replace("http://", "http://user:pw-s3cret-on-cmdline@") + "/simple/"
        with pytest.raises(JuniperError):
            env.install(["demo-nothing==1.0", "--index-url", secret_url])
    assert not found, found


def test_upload_credentials_never_reach_twines_command_line(tmp_path):
    from juniper_release.errors import JuniperError
    from juniper_release.release import publish

    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel")
    with serve(_slow_404) as url, _watch_cmdlines("pw-twine-s3cret") as found:
        index = Index("testpypi", url.replace("http://", "http://user:pw-twine-s3cret@") + "/legacy/", f"{url}/simple/")
        with pytest.raises(JuniperError) as exc:
            publish.upload(index, "demo", [wheel])
    assert not found, found
    assert "pw-twine-s3cret" not in str(exc.value)


_SEAL = """
import os, socket
_LOG = os.environ["JUNIPER_SEAL_LOG"]
_connect = socket.socket.connect

def _sealed(self, address):
    host = address[0] if isinstance(address, tuple) else str(address)
    if self.family in (socket.AF_INET, socket.AF_INET6) and not (
        str(host).startswith("127.") or host in ("::1", "localhost")
    ):
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(f"{host}\\n")
        raise OSError(101, "outbound connections are sealed off in this test")
    return _connect(self, address)

socket.socket.connect = _sealed
"""


def test_every_task_in_sandbox_mode_stays_on_this_machine(tmp_path):
    """Rule 7: with --sandbox no task reaches for a real index or GitHub; an outbound connection to any address that
    is not loopback is impossible in these runs, and none is attempted (the log stays empty)."""
    from conftest import run_task

    (tmp_path / "sitecustomize.py").write_text(_SEAL, encoding="utf-8")
    log = tmp_path / "attempts.log"
    env = {
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "JUNIPER_SEAL_LOG": str(log),
        "GITHUB_TOKEN": "",
    }
    runs = [
        ("status", "--sandbox"),
        ("check", "--sandbox"),
        ("graph", "--sandbox"),
        ("detect", "--sandbox"),
        ("bump", "--sandbox", "--package", "juniper-data", "--part", "patch", "--dry-run"),
        ("release", "--sandbox", "--package", "juniper-data-client"),
        ("release-train", "--sandbox"),
        ("propose", "--sandbox", "--package", "juniper-data-client", "--part", "patch", "--draft-notes"),
        ("workflows", "--check", "--sandbox"),
    ]
    for args in runs:
        proc = run_task(*args, env=env)
        assert "Traceback" not in proc.stderr, (args, proc.stderr)
        assert not log.exists(), (args, log.read_text(encoding="utf-8"))
    refused = run_task("release", "--sandbox", "--package", "juniper-data-client", "--execute", "--yes", env=env)
    assert refused.returncode == 2 and "would send the stand-in to the real indexes" in refused.stderr
    assert not log.exists()


def test_a_user_name_token_in_a_url_and_a_broken_pypirc_never_show_the_secret(tmp_path):
    from juniper_release.errors import JuniperError
    from juniper_release.release import publish
    from juniper_release.secrets import redact

    assert "tok-abc123secret" not in redact("warning: https://tok-abc123secret@index.example/simple/ is slow")
    assert "tok-abc123secret" not in redact("https://user:tok-abc123secret@index.example/simple/")
    pypirc = tmp_path / ".pypirc"
    pypirc.write_text("password = pypi-tok-in-a-broken-pypirc\n[testpypi]\n", encoding="utf-8")
    index = Index("testpypi", "https://test.pypi.invalid/legacy/", "https://test.pypi.invalid/simple/")
    with pytest.raises(JuniperError) as exc:
        publish.credentials(index, env={}, pypirc=pypirc)
    text = str(exc.value)
    assert "not a valid .pypirc (line 1)" in text and "pypi-tok-in-a-broken-pypirc" not in text and "\n" not in text


def test_a_json_answer_without_a_files_list_is_no_project_page():
    def answer(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
        h.end_headers()
        h.wfile.write(b'{"message": "Service Unavailable"}')

    with serve(answer) as url, pytest.raises(indexes.IndexUnreachable, match=r"did not answer with a simple-API"):
        indexes.project_listing(_index(url), "demo", timeout=5)
