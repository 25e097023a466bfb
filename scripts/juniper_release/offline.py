"""Offline mode: a dry run makes no network call. Every network look-up (the simple indexes, the GitHub API, a git
remote that is not on this machine) first asks :func:`require_network`, which raises :class:`Offline` inside
:func:`offline`; the caller shows what it could not check as "not checked (offline)"."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from juniper_release.errors import JuniperError

_OFFLINE: ContextVar[bool] = ContextVar("juniper_release_offline", default=False)

NOT_CHECKED = "not checked (offline)"


class Offline(JuniperError):
    """A look-up needed the network while offline (a dry run)."""


def is_offline() -> bool:
    return _OFFLINE.get()


@contextmanager
def offline(active: bool = True) -> Iterator[None]:
    """Within the block, every network look-up raises :class:`Offline` (when ``active``)."""
    token = _OFFLINE.set(active or _OFFLINE.get())
    try:
        yield
    finally:
        _OFFLINE.reset(token)


def require_network(what: str) -> None:
    """Raise :class:`Offline` naming ``what`` when offline."""
    if _OFFLINE.get():
        raise Offline(f"{what}: {NOT_CHECKED}", "a dry run makes no network call; --execute checks it")
