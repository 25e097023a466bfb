"""How the GitHub adapter talks to GitHub: only what GitHub confirmed counts as done.

- Only a 2xx whose JSON has the expected shape (an object, or a list) is a success; anything else is a one-line
  :class:`ForgeError`, never a traceback: a list where an object is expected, a broken status line, over-long or too
  many headers, a broken chunked body.
- A write never follows a redirect (a 301/302 would turn a POST into a GET whose answer looks like success); a 404
  is "not found" (None) only for a read, and a failure for a write.
- Rate limits (a 403 with ``X-RateLimit-Remaining: 0``, a 429 or 403 with ``Retry-After``) wait and retry within the
  call's time budget; else the error says "rate limited until HH:MM". A 5xx on a read is retried with backoff, a
  bounded number of times. A write (answered 5xx, rate limited, or not answered at all) is retried only when a read
  (``confirm``) first shows that it did not happen.
- GitHub's own reason reaches the user: its ``message`` and every ``errors[].message`` of a 422.
- Bodies of pull requests, issues and comments are kept under GitHub's limit (:func:`fit_body`).
"""

from __future__ import annotations

import email.utils
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from juniper_release import netio
from juniper_release.errors import JuniperError
from juniper_release.secrets import redact

READS = frozenset({"GET", "HEAD"})
BODY_LIMIT = 65536
"""GitHub's limit on the body of a pull request, an issue or a comment (characters)."""
READ_RETRIES = 3
"""How many times a read answered 5xx is tried again (with backoff) before the error is reported."""


class ForgeError(JuniperError):
    """GitHub answered with an error, could not be reached, a run failed, or a repository is not in the registry."""

    status: int | None = None
    """The HTTP status GitHub answered, when the error is one."""


def fit_body(text: str, limit: int = BODY_LIMIT) -> str:
    """``text`` cut to GitHub's body limit, with a note saying so (unchanged when it fits)."""
    if len(text) <= limit:
        return text
    note = f"\n\n---\n*Truncated by juniper-release: the full text was {len(text)} characters; GitHub keeps {limit}.*\n"
    return text[: limit - len(note)] + note


def github_reason(raw: bytes) -> str:
    """GitHub's own reason for an error answer: its ``message`` and each ``errors[].message`` (or code and field)."""
    text = raw.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        return " ".join(text.split())[:300]
    if not isinstance(data, dict):
        return " ".join(text.split())[:300]
    parts = [str(data.get("message") or "").strip()]
    for item in data.get("errors") or []:
        if isinstance(item, Mapping):
            said = item.get("message") or " ".join(str(item[k]) for k in ("resource", "field", "code") if item.get(k))
            parts.append(str(said))
        elif isinstance(item, str):
            parts.append(item)
    return ": ".join(p for p in parts if p)[:500]


def rate_limit_wait(status: int, headers: Message, now: float) -> float | None:
    """Seconds until GitHub lifts the rate limit this answer reports, or None when it reports none (``now``: the
    wall clock, as ``X-RateLimit-Reset`` is an epoch time)."""
    retry_after = headers.get("Retry-After")
    limited = status == 429 or (status == 403 and (headers.get("X-RateLimit-Remaining") == "0" or retry_after))
    if not limited:
        return None
    if retry_after:
        if retry_after.strip().isdigit():
            return float(retry_after.strip())
        when = email.utils.parsedate_to_datetime(retry_after) if _is_date(retry_after) else None
        if when is not None:
            return max(0.0, when.timestamp() - now)
    reset = headers.get("X-RateLimit-Reset")
    if reset and reset.strip().isdigit():
        return max(0.0, float(reset) - now)
    return 60.0


def _is_date(text: str) -> bool:
    try:
        email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return False
    return True


@dataclass
class Clock:
    """Time as the transport sees it (tests replace it: no test sleeps)."""

    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time


@dataclass(frozen=True)
class Call:
    """One API call: what is asked, and what counts as its answer."""

    method: str
    path: str
    url: str
    headers: Mapping[str, str]
    body: Mapping[str, Any] | None = None
    expect: type = dict
    """The JSON shape a success has: ``dict`` (an object) or ``list``."""
    fixes: Mapping[int, str] = field(default_factory=dict)
    confirm: Callable[[], Any] | None = None
    """For a write: a read that returns the result when the write did happen after all (None when it did not)."""

    @property
    def is_read(self) -> bool:
        return self.method in READS

    @property
    def label(self) -> str:
        return f"GitHub {self.method} {self.path}"


class _Retry(Exception):
    def __init__(self, wait: float, why: str, rate_limited: bool = False) -> None:
        super().__init__(why)
        self.wait = wait
        self.why = why
        self.rate_limited = rate_limited


def perform(call: Call, *, timeout: float, budget: float, clock: Clock, base_url: str, env_var: str) -> Any:
    """Make ``call`` until GitHub confirms it, within ``budget`` seconds in all; the checked JSON answer (None for a
    read answered 404). Every failure is a redacted one-line :class:`ForgeError`."""
    deadline = clock.monotonic() + budget
    attempt = 0
    while True:
        try:
            return _once(call, timeout, clock, base_url, env_var, attempt)
        except _Retry as retry:
            attempt += 1
            if clock.monotonic() + retry.wait > deadline:
                raise _gave_up(call, retry, clock) from None
            clock.sleep(retry.wait)
            if not call.is_read and call.confirm is not None:
                done = call.confirm()
                if done is not None:  # it happened after all: never make it twice
                    return done


def _gave_up(call: Call, retry: _Retry, clock: Clock) -> ForgeError:
    if retry.rate_limited:
        until = time.strftime("%H:%M", time.localtime(clock.wall() + retry.wait))
        return ForgeError(
            redact(f"{call.label}: rate limited until {until} ({retry.why})"),
            f"wait until {until} (or use a token with a higher rate limit), then re-run to resume",
        )
    return ForgeError(redact(f"{call.label}: {retry.why}"), "retry later or check the GitHub status page")


def _once(call: Call, timeout: float, clock: Clock, base_url: str, env_var: str, attempt: int) -> Any:
    data = json.dumps(call.body).encode() if call.body is not None else None
    req = urllib.request.Request(call.url, data=data, headers=dict(call.headers), method=call.method)
    try:
        answer = netio.read(req, timeout, follow_redirects=call.is_read)
    except (netio.TooSlow, netio.TooLarge) as exc:
        raise ForgeError(redact(f"{call.label}: {exc}"), "retry later or raise --timeout") from None
    except netio.BrokenAnswer as exc:
        raise ForgeError(
            redact(f"{call.label}: GitHub answered {exc}"), f"check ${env_var} (it must be the GitHub API), then re-run"
        ) from None
    except urllib.error.HTTPError as exc:
        return _failed(call, exc.code, exc.headers, netio.error_body(exc), clock, attempt)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if not call.is_read and call.confirm is not None and attempt < READ_RETRIES:
            raise _Retry(min(0.5 * 2**attempt, 8.0), f"no answer ({reason})") from None  # made? a read tells
        raise ForgeError(
            redact(f"cannot reach GitHub at {base_url} ({reason})"),
            f"check the network or ${env_var}; re-run to resume",
        ) from None
    if not 200 <= answer.status < 300:
        return _failed(call, answer.status, answer.headers, answer.body, clock, attempt)
    return _shaped(call, answer.body, env_var)


def _failed(call: Call, status: int, headers: Message, raw: bytes, clock: Clock, attempt: int) -> Any:
    """An answer that is not a 2xx: None for a read's 404, a retry when one is safe, else the error."""
    if status == 404 and call.is_read:
        return None
    reason = github_reason(raw)
    wait = rate_limit_wait(status, headers, clock.wall())
    if wait is not None and (call.is_read or call.confirm is not None):
        raise _Retry(wait, f"HTTP {status}{': ' + reason if reason else ''}", rate_limited=True)
    if wait is not None:
        until = time.strftime("%H:%M", time.localtime(clock.wall() + wait))
        raise ForgeError(
            redact(f"{call.label}: rate limited until {until} (HTTP {status})"),
            f"wait until {until}, check on GitHub whether it was done, then re-run to resume",
        )
    if status >= 500 and attempt < READ_RETRIES and (call.is_read or call.confirm is not None):
        raise _Retry(min(0.5 * 2**attempt, 8.0), f"answered HTTP {status} {attempt + 1} times: {reason}")
    if 300 <= status < 400:
        where = headers.get("Location") or "elsewhere"
        raise ForgeError(
            redact(f"{call.label} answered a redirect (HTTP {status} to {where}): a write is never redirected"),
            "check the repository's name (renamed or transferred?) and the API URL, then re-run",
        )
    fix = call.fixes.get(status, "retry later or check the GitHub status page")
    error = ForgeError(redact(f"{call.label} answered HTTP {status}: {reason or 'no reason given'}"), fix)
    error.status = status
    raise error


def _shaped(call: Call, raw: bytes, env_var: str) -> Any:
    """The answer's JSON, when it has the shape a success has."""
    try:
        data = json.loads(raw.decode("utf-8")) if raw.strip() else None
    except (UnicodeDecodeError, ValueError):
        data = ValueError
    if data is ValueError:
        raise ForgeError(
            f"{call.label} answered with something that is not JSON",
            f"check ${env_var} (it must be the GitHub API), then re-run",
        )
    if not isinstance(data, call.expect):
        shape: dict[type, str] = {dict: "an object", list: "a list"}
        got = shape.get(type(data), "nothing" if data is None else type(data).__name__)
        raise ForgeError(
            f"{call.label} answered {got} where {shape.get(call.expect, call.expect.__name__)} was expected",
            f"check ${env_var} (it must be the GitHub API), then re-run; nothing is counted as done",
        )
    return data


def parsed(label: str, make: Callable[[Any], Any], data: Any) -> Any:
    """``make(data)`` (a ``from_api``), or a one-line error when GitHub's object lacks what it needs."""
    try:
        return make(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ForgeError(
            f"{label}: GitHub's answer lacks what it should hold ({type(exc).__name__}: {exc})",
            "check the API URL (it must be the GitHub API), then re-run; nothing is counted as done",
        ) from None
