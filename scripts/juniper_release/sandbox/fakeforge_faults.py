"""Misbehaviour on demand for the local GitHub stand-in, so tests can prove that only what GitHub confirmed counts:
a scripted answer (any status, JSON body and headers, such as a 404 to ``POST /releases``, a 302 turning a write into
a read, a 403 rate limit, a 5xx) or raw bytes that are not HTTP at all (a broken status line, too many or over-long
headers, a broken chunked body), for the next ``times`` requests matching a method and a path; mixed into
:class:`juniper_release.sandbox.fakeforge.FakeGitHub`."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from juniper_release.sandbox.fakeforge_issues import ForgeParts


@dataclass
class Fault:
    """One scripted answer: for ``times`` requests of ``method`` whose path (with its query) matches ``path``."""

    method: str
    path: re.Pattern[str]
    status: int = 500
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    """Written to the socket as-is instead of an HTTP answer."""
    times: int = 1
    hits: int = 0


class Misbehaviour(ForgeParts):
    """``fake.misbehave("POST", r"/repos/o/r/releases", 404)``: the next such request gets that answer."""

    faults: list[Fault]

    def misbehave(
        self,
        method: str,
        path: str,
        status: int = 500,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        raw: bytes | None = None,
        times: int = 1,
    ) -> Fault:
        """Answer the next ``times`` requests of ``method`` whose path matches the regex ``path`` (from its start)
        with ``status``, the JSON ``body`` (``{"message": ...}`` by default) and ``headers``; or with ``raw`` bytes."""
        fault = Fault(method.upper(), re.compile(path), status, body, dict(headers or {}), raw, times)
        with self.state.lock:
            self.faults.append(fault)
        return fault

    def _fault_for(self, method: str, target: str) -> Fault | None:
        with self.state.lock:
            for fault in self.faults:
                if fault.method == method and fault.hits < fault.times and fault.path.match(target):
                    fault.hits += 1
                    self.state.requests.append(f"{method} {target}")
                    return fault
        return None

    def _answer_fault(self, handler: BaseHTTPRequestHandler, fault: Fault) -> None:
        if fault.raw is not None:
            handler.wfile.write(fault.raw)
            handler.wfile.flush()
            handler.close_connection = True
            return
        body = fault.body if fault.body is not None else {"message": f"scripted HTTP {fault.status}"}
        data = json.dumps(body).encode()
        handler.send_response(fault.status)
        handler.send_header("Content-Type", "application/json")
        for key, value in fault.headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
