"""The one way this tool reads a URL: bounded in time and size, and credentials never follow a redirect elsewhere.

- ``timeout`` bounds the whole request, not each read: the body is read in pieces against a deadline, so a server
  that sends a byte every two seconds ends the request at the deadline (:class:`TooSlow`).
- A body larger than ``max_bytes`` is refused (:class:`TooLarge`) before it fills the memory.
- A redirect to another origin (scheme, host or port) drops ``Authorization`` and every other credential header,
  as pip and requests do; a redirect within the origin keeps them. With ``follow_redirects=False`` (every write: a
  301/302 would turn a POST into a GET) no redirect is followed: the 3xx is raised as an ``HTTPError``.
- An answer that is not HTTP (a broken status line, over-long or too many headers, a broken chunked body) raises
  :class:`BrokenAnswer`, never ``http.client``'s own exceptions.
Callers (the index look-ups, the GitHub adapter) turn these into their own one-line errors.
"""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message
from http.client import HTTPMessage
from typing import IO, Any

CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
MAX_BYTES = 64 * 1024 * 1024
"""The largest body read (the largest simple-API pages on PyPI are a few MB)."""


class TooSlow(TimeoutError):
    """The whole request took longer than its timeout."""


class TooLarge(ValueError):
    """The body is larger than the cap."""


class BrokenAnswer(ConnectionError):
    """The server's answer is not well-formed HTTP."""


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


class _SameOriginCredentials(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but send credentials only to the origin they were meant for."""

    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: HTTPMessage, newurl: str
    ) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(newurl) != _origin(req.full_url):
            for store in (new.headers, new.unredirected_hdrs):
                for key in [k for k in store if k.lower() in CREDENTIAL_HEADERS]:
                    del store[key]
        return new


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Follow no redirect: urllib then raises the 3xx as an ``HTTPError``."""

    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: HTTPMessage, newurl: str
    ) -> urllib.request.Request | None:
        return None


_OPENER = urllib.request.build_opener(_SameOriginCredentials)
_NO_REDIRECT_OPENER = urllib.request.build_opener(_NoRedirects)


@dataclass(frozen=True)
class Answer:
    """What a URL answered: the final status, headers and body."""

    status: int
    headers: Message
    body: bytes


def read(
    request: urllib.request.Request, timeout: float, max_bytes: int | None = None, *, follow_redirects: bool = True
) -> Answer:
    """Open ``request`` and read its body within ``timeout`` seconds in all and ``max_bytes`` at most. HTTP errors
    raise ``urllib.error.HTTPError`` as urlopen does; the deadline raises :class:`TooSlow`, the cap :class:`TooLarge`,
    a malformed answer :class:`BrokenAnswer`."""
    deadline = time.monotonic() + timeout
    opener = _OPENER if follow_redirects else _NO_REDIRECT_OPENER
    try:
        with opener.open(request, timeout=timeout) as resp:
            return Answer(int(resp.status), resp.headers, _body(resp, deadline, timeout, max_bytes or MAX_BYTES))
    except (TooSlow, TooLarge, urllib.error.HTTPError):
        raise
    except (http.client.HTTPException, ValueError) as exc:  # RemoteDisconnected is an OSError: a URLError below
        if isinstance(exc, ConnectionError):
            raise
        raise BrokenAnswer(_broken(exc)) from None


def error_body(exc: urllib.error.HTTPError, max_bytes: int = 65536) -> bytes:
    """The body of an HTTP error answer, at most ``max_bytes`` of it (b"" when it cannot be read)."""
    try:
        return exc.read(max_bytes) or b""
    except (http.client.HTTPException, OSError, ValueError):
        return b""


def _broken(exc: BaseException) -> str:
    """What is wrong with a malformed answer, in one line."""
    if isinstance(exc, http.client.LineTooLong):
        return "an over-long header or status line"
    if isinstance(exc, http.client.IncompleteRead):
        return "a body cut short or a broken chunked encoding"
    if isinstance(exc, http.client.BadStatusLine):
        return f"a broken status line ({str(exc)[:60]!r})"
    text = " ".join(str(exc).split())[:120]
    if "headers" in text:
        return f"too many headers ({text})"
    return (
        f"something malformed ({type(exc).__name__}: {text})" if text else f"something malformed ({type(exc).__name__})"
    )


def _body(resp: Any, deadline: float, timeout: float, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise TooSlow(f"no complete answer within {timeout:.0f}s")
        chunk = resp.read1(65536) if hasattr(resp, "read1") else resp.read(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge(f"the answer is larger than {max_bytes // (1024 * 1024)} MB")
        chunks.append(chunk)
