"""Index look-ups (the simple API) against a real local pypiserver and a tiny local HTTP server, polling with
backoff, and the local index servers themselves (sandbox/localindex.py)."""

from __future__ import annotations

import base64
import http.server
import json
import socket
import threading
from collections.abc import Iterator

import pytest
from conftest import IndexServer, publish_wheel
from juniper_release.ecosystem import indexes
from juniper_release.ecosystem.indexes import (
    IndexUnreachable,
    has_version,
    listings_many,
    live_versions,
    project_listing,
    versions,
)
from juniper_release.ecosystem.registry import ENV_INDEX_URLS, Index
from juniper_release.errors import JuniperError
from juniper_release.sandbox.localindex import LocalIndex, free_port, index_env
from packaging.version import Version


@pytest.fixture
def pypi(index_servers: dict[str, IndexServer]) -> IndexServer:
    return index_servers["pypi"]


def test_versions_on_a_real_pypiserver(pypi):
    for version in ("0.3.1", "0.4.0rc1", "0.3.0"):
        publish_wheel(pypi, "juniper-data-client", version)
    publish_wheel(pypi, "juniper-data", "0.6.0")
    index = pypi.index
    assert versions(index, "Juniper_Data_Client") == (Version("0.3.0"), Version("0.3.1"), Version("0.4.0rc1"))
    assert has_version(index, "juniper-data", Version("0.6.0"))
    assert not has_version(index, "juniper-data", Version("0.6.1"))
    assert project_listing(index, "juniper-data").files == ("juniper_data-0.6.0-py3-none-any.whl",)
    assert versions(index, "juniper-nope") == ()  # a 404 is an empty listing


def test_listings_many_reports_each_failure_without_raising(pypi):
    publish_wheel(pypi, "juniper-ml", "0.6.0")
    found = listings_many(pypi.index, ["juniper-ml", "juniper-cascor"])
    assert {name: listing.versions for name, listing in found.items()} == {
        "juniper-ml": (Version("0.6.0"),),
        "juniper-cascor": (),
    }
    closed = Index("pypi", "http://127.0.0.1:9/", f"http://127.0.0.1:{free_port()}/simple/")
    down = listings_many(closed, ["juniper-ml", "juniper-cascor"], timeout=1)
    assert all(isinstance(r, IndexUnreachable) for r in down.values())


def test_an_unreachable_index_is_one_line_without_the_credentials():
    url = f"http://uploader:s3cr3t-passw0rd@127.0.0.1:{free_port()}/simple/"
    with pytest.raises(IndexUnreachable) as info:
        versions(Index("testpypi", url, url), "juniper-ml", timeout=1)
    message = str(info.value)
    assert message.startswith("testpypi: cannot reach http://uploader:***@127.0.0.1:")
    assert "s3cr3t-passw0rd" not in message and "Fix: check the network" in message


_AUTH = "Basic " + base64.b64encode(b"maintainer:s3cr3t-passw0rd").decode()


_JSON = "application/vnd.pypi.simple.v1+json"


def _json_page(name: str, files: list[dict[str, object]]) -> bytes:
    return json.dumps({"meta": {"api-version": "1.0"}, "name": name, "files": files}).encode()


_STATIC = {
    # PEP 592 in HTML: data-yanked present (with a reason, empty, or without a value) means yanked.
    "/simple/yanked-html/": (
        "text/html",
        b"<html><body>"
        b'<a href="/f/yanked_html-1.0.tar.gz" data-yanked="broken &amp; withdrawn">s</a>'
        b'<a href="/f/yanked_html-1.0-py3-none-any.whl" data-yanked>w</a>'
        b'<a href="/f/yanked_html-1.1-py3-none-any.whl" data-yanked="">w</a>'
        b'<a href="/f/yanked_html-1.1.tar.gz">s</a>'
        b'<a href="/f/yanked_html-1.2.tar.gz">s</a>'
        b"</body></html>",
    ),
    # PEP 592 in PEP 691 JSON: "yanked" is false, true or the reason.
    "/simple/yanked-json/": (
        _JSON,
        _json_page(
            "yanked-json",
            [
                {"filename": "yanked_json-1.9.tar.gz", "url": "x", "hashes": {}},
                {"filename": "yanked_json-2.0.tar.gz", "url": "x", "hashes": {}, "yanked": True},
                {"filename": "yanked_json-2.0-py3-none-any.whl", "url": "x", "hashes": {}, "yanked": "use 2.1"},
                {"filename": "yanked_json-2.1.tar.gz", "url": "x", "hashes": {}, "yanked": False},
                {"filename": "yanked_json-2.1-py3-none-any.whl", "url": "x", "hashes": {}, "yanked": "bad tag"},
            ],
        ),
    ),
}


class _Pages(http.server.BaseHTTPRequestHandler):
    """/simple/html-project/ is a PEP 503 HTML page; /simple/private/ a PEP 691 JSON page behind basic auth
    (HTTP 401 without it); the pages in _STATIC as they are; anything else answers HTTP 500."""

    def do_GET(self) -> None:
        if self.path in _STATIC:
            ctype, body = _STATIC[self.path]
            self.send_response(200)
            self.send_header("Content-Type", ctype)
        elif self.path == "/simple/private/":
            if self.headers.get("Authorization") != _AUTH:
                body = b"unauthorized"
                self.send_response(401)
            else:
                files = [{"filename": "private-1.0.tar.gz", "url": "x", "hashes": {}}]
                body = json.dumps({"meta": {"api-version": "1.0"}, "name": "private", "files": files}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
        elif self.path == "/simple/html-project/":
            body = (
                b'<html><body><a href="../../files/html_project-1.0.tar.gz#sha256=00">html_project-1.0.tar.gz</a>'
                b'<a href="/files/html_project-1.1-py3-none-any.whl">w</a>'
                b'<a href="/files/other-9.0.tar.gz">o</a><a href="/files/README.txt">r</a></body></html>'
            )
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
        else:
            body = b"boom"
            self.send_response(500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def pages() -> Iterator[Index]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/simple/"
    try:
        yield Index("testpypi", url, url)
    finally:
        server.shutdown()
        server.server_close()


def test_an_html_simple_page_counts_only_the_projects_own_files(pages):
    assert versions(pages, "html-project") == (Version("1.0"), Version("1.1"))


def test_credentials_in_the_simple_url_are_sent_as_basic_auth_and_never_shown(pages):
    url = pages.simple_url.replace("http://", "http://maintainer:s3cr3t-passw0rd@")
    assert versions(Index("testpypi", url, url), "private") == (Version("1.0"),)
    wrong = pages.simple_url.replace("http://", "http://maintainer:wr0ng-passw0rd@")
    with pytest.raises(IndexUnreachable) as info:
        versions(Index("testpypi", wrong, wrong), "private")
    assert "answered HTTP 401" in str(info.value) and "wr0ng-passw0rd" not in str(info.value)
    assert "maintainer:***@" in str(info.value)
    with pytest.raises(IndexUnreachable, match="HTTP 401"):
        versions(pages, "private")  # no credentials: refused


def test_yanked_files_in_an_html_page_are_burnt_but_not_released(pages):
    listing = project_listing(pages, "yanked-html")
    assert listing.versions == (Version("1.0"), Version("1.1"), Version("1.2"))  # every one is taken for uploads
    assert listing.live_versions == (Version("1.1"), Version("1.2"))  # 1.1 is only partly yanked: still released
    assert listing.yanked_versions == (Version("1.0"),)
    assert listing.yanked == {
        "yanked_html-1.0.tar.gz": "broken & withdrawn",
        "yanked_html-1.0-py3-none-any.whl": "",
        "yanked_html-1.1-py3-none-any.whl": "",
    }
    assert has_version(pages, "yanked-html", Version("1.0"))
    assert live_versions(pages, "yanked-html") == (Version("1.1"), Version("1.2"))


def test_yanked_files_in_a_json_page_are_burnt_but_not_released(pages):
    listing = project_listing(pages, "yanked-json")
    assert listing.versions == (Version("1.9"), Version("2.0"), Version("2.1"))
    assert listing.live_versions == (Version("1.9"), Version("2.1"))
    assert listing.yanked == {
        "yanked_json-2.0.tar.gz": "",
        "yanked_json-2.0-py3-none-any.whl": "use 2.1",
        "yanked_json-2.1-py3-none-any.whl": "bad tag",
    }
    assert has_version(pages, "yanked-json", Version("2.0")) and versions(pages, "yanked-json") == listing.versions
    assert live_versions(pages, "yanked-json") == (Version("1.9"), Version("2.1"))


def test_an_http_error_is_unreachable_not_empty(pages):
    with pytest.raises(IndexUnreachable, match=r"testpypi: .*/simple/broken/ answered HTTP 500"):
        versions(pages, "broken")


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_for_polls_at_once_then_backs_off_and_tolerates_an_unreachable_index():
    clock = _Clock()
    answers = iter([IndexUnreachable("down"), False, False, False, True])

    def check() -> bool:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    waited = indexes.wait_for(
        check, timeout=60, what="x", first_delay=1, max_delay=3, sleep=clock.sleep, clock=lambda: clock.now
    )
    assert clock.sleeps == [1, 2, 3, 3] and waited == 9
    assert indexes.wait_for(lambda: True, timeout=0, what="x", sleep=clock.sleep, clock=lambda: clock.now) == 0


def test_wait_for_gives_up_after_the_timeout_and_names_what_it_waited_for():
    clock = _Clock()
    with pytest.raises(JuniperError, match=r"timed out after 10s waiting for juniper-ml 0\.6\.0 on pypi\. Fix: re-run"):
        indexes.wait_for(
            lambda: False, timeout=10, what="juniper-ml 0.6.0 on pypi", sleep=clock.sleep, clock=lambda: clock.now
        )
    assert sum(clock.sleeps) == 10  # the last sleep is cut to the deadline


# ----------------------------------------------------------------------------------------------- local index servers


def test_local_index_serves_uploads_and_stops(tmp_path):
    server = LocalIndex("testpypi", tmp_path / "packages", free_port())
    server.start()
    try:
        assert server.index == Index("testpypi", server.url, f"{server.url}simple/")
        publish_wheel(server, "juniper-data", "0.6.0")
        assert versions(server.index, "juniper-data") == (Version("0.6.0"),)
    finally:
        server.stop()
    assert server.process is not None and server.process.poll() is not None
    with pytest.raises(IndexUnreachable):
        versions(server.index, "juniper-data", timeout=1)
    server.stop()  # stopping twice is harmless


def test_a_local_index_that_cannot_start_is_reported(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = LocalIndex("pypi", tmp_path / "packages", taken.getsockname()[1])
        with pytest.raises(JuniperError, match=r"local index pypi did not start on port \d+\. Fix: check that pypi"):
            server.start()
    assert server.process is not None and server.process.poll() is not None


def test_index_env_points_both_urls_of_each_index_at_its_server(tmp_path):
    servers = {name: LocalIndex(name, tmp_path, port) for name, port in (("testpypi", 1111), ("pypi", 2222))}
    assert index_env(servers) == {
        ENV_INDEX_URLS[("testpypi", "upload_url")]: "http://127.0.0.1:1111/",
        ENV_INDEX_URLS[("testpypi", "simple_url")]: "http://127.0.0.1:1111/simple/",
        ENV_INDEX_URLS[("pypi", "upload_url")]: "http://127.0.0.1:2222/",
        ENV_INDEX_URLS[("pypi", "simple_url")]: "http://127.0.0.1:2222/simple/",
    }
