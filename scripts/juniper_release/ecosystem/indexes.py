"""Read-only look-ups on PyPI-compatible indexes (PyPI, TestPyPI, pypiserver, devpi) via the simple API.

Both forms of a project page are understood: PEP 691 JSON (asked for first) and PEP 503 HTML, with PEP 592 yanked
files in either (``"yanked": true | "reason"``, the ``data-yanked`` attribute). Two views of a project's versions
follow from that:

- :attr:`Listing.versions` (:func:`versions`, :func:`has_version`): every version with any file, yanked or not. An
  index never takes a file name twice, so these versions are burnt: the upload gates refuse them.
- :attr:`Listing.live_versions` (:func:`live_versions`): the versions with at least one file that is not yanked.
  A version whose every file is yanked is not released: ``status`` and the requirement gate look at these.
"""

from __future__ import annotations

import base64
import html.parser
import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from juniper_release import netio
from juniper_release.ecosystem.registry import Index
from juniper_release.errors import JuniperError
from juniper_release.offline import require_network
from juniper_release.secrets import redact, register_secret

DEFAULT_TIMEOUT = 5.0
_ACCEPT = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"


class IndexUnreachable(JuniperError):
    """The index could not be reached or answered with an error (credentials in its URL are redacted)."""

    def __init__(self, what: str, fix: str | None = None) -> None:
        super().__init__(redact(what), fix)


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self.sha256: dict[str, str] = {}
        self.yanked: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            values = dict(attrs)
            url, _, fragment = (values.get("href") or "").partition("#")
            name = url.rstrip("/").rsplit("/", 1)[-1]
            self.names.append(name)
            if fragment.startswith("sha256="):
                self.sha256[name] = fragment[len("sha256=") :].lower()
            if "data-yanked" in values:  # PEP 592: present (even empty) means yanked; its value is the reason
                self.yanked[name] = values["data-yanked"] or ""


def _split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without its ``user:password@`` part, and the Authorization header carrying it (urllib does not
    send credentials written in a URL). The password is registered for redaction."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, {}
    user = urllib.parse.unquote(parts.username or "")
    password = urllib.parse.unquote(parts.password or "")
    register_secret(password)
    netloc = parts.hostname or ""
    if ":" in netloc:  # an IPv6 address
        netloc = f"[{netloc}]"
    if parts.port is not None:
        netloc += f":{parts.port}"
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    register_secret(token)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc)), {"Authorization": f"Basic {token}"}


def _version_of(filename: str, project: str) -> Version | None:
    want = canonicalize_name(project)
    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
        elif filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
        else:
            return None
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return version if name == want else None


@dataclass(frozen=True)
class Listing:
    """What an index serves for a project: its file names and the versions they carry."""

    files: tuple[str, ...]
    versions: tuple[Version, ...]
    """Every version with a file, yanked or not: none of them can be uploaded again."""
    sha256: Mapping[str, str] = field(default_factory=dict)
    """File name -> sha256 digest, where the index gives one (``#sha256=`` fragments, JSON ``hashes``)."""
    yanked: Mapping[str, str] = field(default_factory=dict)
    """File name -> why it was yanked ('' when the index gives no reason), for the yanked files (PEP 592)."""
    live_versions: tuple[Version, ...] = ()
    """The versions with at least one file that is not yanked: the released ones. A partly yanked version counts."""

    @property
    def yanked_versions(self) -> tuple[Version, ...]:
        """The versions whose every file is yanked: burnt, but not released."""
        return tuple(v for v in self.versions if v not in self.live_versions)

    @classmethod
    def of(cls, project: str, files: Iterable[str], sha256: Mapping[str, str], yanked: Mapping[str, str]) -> Listing:
        """The listing of ``project`` from its page's files (another project's files carry no version of it)."""
        names = tuple(files)
        carried = {f: v for f in names if (v := _version_of(f, project)) is not None}
        live = {v for f, v in carried.items() if f not in yanked}
        return cls(names, tuple(sorted(set(carried.values()))), dict(sha256), dict(yanked), tuple(sorted(live)))


def project_listing(index: Index, project: str, timeout: float = DEFAULT_TIMEOUT) -> Listing:
    """Files and versions of ``project`` on ``index``. A 404 is an empty listing; other failures raise."""
    shown = f"{index.simple_url.rstrip('/')}/{canonicalize_name(project)}/"  # redacted by IndexUnreachable
    require_network(f"{index.name}: {project}")
    url, auth = _split_credentials(shown)
    headers = {"Accept": _ACCEPT, "User-Agent": "juniper-release", **auth}
    request = urllib.request.Request(url, headers=headers)
    try:
        answer = netio.read(request, timeout)  # the whole request bounded, the size capped, no credential leaves
        body = answer.body.decode("utf-8", "replace")
        ctype = answer.headers.get("Content-Type", "")
    except netio.TooLarge as exc:
        raise IndexUnreachable(
            f"{index.name}: {shown}: {exc}", "check that the URL is the index's /simple/ URL"
        ) from None
    except netio.TooSlow as exc:
        raise IndexUnreachable(
            f"{index.name}: {shown}: {exc}", "retry later, raise --timeout, or check the index"
        ) from None
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return Listing((), ())
        fix = "check the user and password in the index URL" if exc.code in (401, 403) else "check the index URL"
        raise IndexUnreachable(f"{index.name}: {shown} answered HTTP {exc.code}", fix) from None
    except (urllib.error.URLError, TimeoutError, OSError, http.client.HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise IndexUnreachable(
            f"{index.name}: cannot reach {index.simple_url} ({reason})",
            "check the network or the JUNIPER_*_SIMPLE_URL override",
        ) from None
    if "json" in ctype:
        try:
            data = json.loads(body)
            if not isinstance(data.get("files"), list):  # {"message": ...} from a proxy is no project page
                raise ValueError("no files list")
            files = [str(f.get("filename", "")) for f in data.get("files", [])]
            sha256 = {
                str(f.get("filename", "")): str(f["hashes"]["sha256"]).lower()
                for f in data.get("files", [])
                if isinstance(f.get("hashes"), dict) and f["hashes"].get("sha256")
            }
            # PEP 691: "yanked" is false, true, or the reason (a string).
            yanked = {
                str(f.get("filename", "")): f["yanked"] if isinstance(f["yanked"], str) else ""
                for f in data.get("files", [])
                if f.get("yanked") not in (None, False)
            }
        except (ValueError, AttributeError, TypeError):
            raise IndexUnreachable(
                f"{index.name}: {shown} did not answer with a simple-API JSON page",
                "point the JUNIPER_*_SIMPLE_URL override (or repos.toml) at the index's /simple/ URL",
            ) from None
    else:
        parser = _Links()
        parser.feed(body)
        files, sha256, yanked = parser.names, parser.sha256, parser.yanked
        if not _is_simple_page(body, files):
            # A 200 that is no index (a welcome or maintenance page) is no evidence of "never released".
            raise IndexUnreachable(
                f"{index.name}: {shown} answered with a page that is not a simple index",
                "point the JUNIPER_*_SIMPLE_URL override (or repos.toml) at the index's /simple/ URL, or retry "
                "when its maintenance is over",
            )
    return Listing.of(project, files, sha256, yanked)


_DIST_SUFFIXES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".egg")


def _is_simple_page(body: str, files: list[str]) -> bool:
    """A PEP 503 project page: it says so (``pypi:repository-version``), or its links are distribution files."""
    if "pypi:repository-version" in body:
        return True
    return bool(files) and any(name.lower().endswith(_DIST_SUFFIXES) for name in files)


def versions(index: Index, project: str, timeout: float = DEFAULT_TIMEOUT) -> tuple[Version, ...]:
    """Every version of ``project`` with a file on ``index``, yanked or not (see :attr:`Listing.versions`)."""
    return project_listing(index, project, timeout).versions


def live_versions(index: Index, project: str, timeout: float = DEFAULT_TIMEOUT) -> tuple[Version, ...]:
    """The released versions of ``project`` on ``index``: those not wholly yanked (see :attr:`Listing.live_versions`)."""
    return project_listing(index, project, timeout).live_versions


def has_version(index: Index, project: str, version: Version, timeout: float = DEFAULT_TIMEOUT) -> bool:
    """``version`` has a file on ``index``, yanked or not: it was uploaded, and can never be uploaded again."""
    return version in versions(index, project, timeout)


def listings_many(
    index: Index, projects: Iterable[str], timeout: float = DEFAULT_TIMEOUT
) -> dict[str, Listing | IndexUnreachable]:
    """Look several projects up concurrently; a failure is returned per project, never raised."""
    names = list(projects)

    def one(name: str) -> Listing | IndexUnreachable:
        try:
            return project_listing(index, name, timeout)
        except IndexUnreachable as exc:
            return exc

    with ThreadPoolExecutor(max_workers=max(1, min(8, len(names)))) as pool:
        return dict(zip(names, pool.map(one, names), strict=True))


def wait_for(
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    first_delay: float = 0.5,
    max_delay: float = 15.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> float:
    """Poll ``check`` with exponential backoff until it is true; returns the seconds waited.

    Never a fixed sleep: the first poll is immediate. Raises a JuniperError naming ``what`` after ``timeout``.
    """
    start = clock()
    delay = first_delay
    while True:
        try:
            if check():
                return clock() - start
        except IndexUnreachable:
            pass
        elapsed = clock() - start
        if elapsed >= timeout:
            raise JuniperError(
                f"timed out after {elapsed:.0f}s waiting for {what}",
                "re-run to resume, or raise --timeout if the index is slow to propagate",
            )
        sleep(min(delay, max(0.0, timeout - elapsed)))
        delay = min(delay * 2, max_delay)
