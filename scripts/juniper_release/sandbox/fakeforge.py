"""A local GitHub stand-in for tests and ``invoke rehearse``: Releases and publish-workflow runs over HTTP.

It implements the few REST endpoints :mod:`forge` uses. Publishing a Release starts a run of the publish workflow
(``.github/workflows/publish.yml``) for the tag at ``target_commitish``, executed by a ``runner`` callable in a
background thread (the rehearsal's runner builds the tag and uploads to the local indexes). To prove that runs are
selected by workflow, tag and commit, every Release also gets a decoy CI run on the same commit, and a decoy publish
run of another tag is always the newest run.

Its state (``state_file``) is written atomically after every change. A run that a Ctrl-C, SIGTERM or SIGKILL cut
short is still "in progress" there; a stand-in started again on that state runs it again (uploads are resumable),
instead of leaving it to be waited for, or recording the interruption as a failed run.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from juniper_release import interrupts
from juniper_release.errors import JuniperError
from juniper_release.files import read_json, write_json

DECOY_TAG = "v0.0.0-decoy"
"""The tag of the decoy publish run that is always the newest (and never finishes)."""

Runner = Callable[[str, str, str], None]
"""runner(repo, tag, sha): raises to make the run fail."""


@dataclass
class ForgeState:
    releases: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    next_id: int = 100
    requests: list[str] = field(default_factory=list)
    auth_headers: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


class FakeGitHub:
    """``with FakeGitHub(runner) as gh: ...`` serves on ``gh.url`` (127.0.0.1, a free port)."""

    def __init__(
        self,
        runner: Runner | None = None,
        *,
        token: str | None = None,
        workflow: str = "publish.yml",
        state_file: Path | None = None,
    ) -> None:
        self.state = ForgeState()
        self.state_file = state_file
        if state_file is not None and state_file.is_file():
            fix = f"delete {state_file} and start the rehearsal afresh (without --resume)"
            saved = read_json(state_file, fix)
            try:
                self.state.releases, self.state.runs, self.state.next_id = (
                    dict(saved["releases"]),
                    dict(saved["runs"]),
                    int(saved["next_id"]),
                )
            except (KeyError, TypeError, ValueError):
                raise JuniperError(f"{state_file}: the state file is damaged (missing releases/runs)", fix) from None
        self.runner = runner
        self.token = token
        self.workflow = workflow
        self.threads: list[threading.Thread] = []
        self.closing = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        self._rerun_interrupted()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        # Leaving on an exception (Ctrl-C, SIGTERM, a failure) does not wait for runs: they are re-run next time.
        self.close(wait=exc_type is None)

    def close(self, wait: bool = True) -> None:
        if wait:
            for t in self.threads:
                t.join(timeout=600)
        self.closing.set()  # a run still going now was cut short, not failed
        self.server.shutdown()
        self.server.server_close()

    def _rerun_interrupted(self) -> None:
        """Runs an earlier stand-in left unfinished (interrupted, or killed) run again from the start."""
        if self.runner is None:
            return
        for repo, runs in self.state.runs.items():
            for run in runs:
                if run["status"] != "completed" and run["head_branch"] != DECOY_TAG:
                    self._run_in_background(repo, run)

    def save(self) -> None:
        """Persist releases and runs (a rehearsal resumed later sees what GitHub would remember)."""
        if self.state_file is None:
            return
        data = {"releases": self.state.releases, "runs": self.state.runs, "next_id": self.state.next_id}
        write_json(self.state_file, data)

    def add_run(self, repo: str, **fields: Any) -> dict[str, Any]:
        """Record a workflow run (tests use this for decoys)."""
        with self.state.lock:
            run = {
                "id": self.state.new_id(),
                "path": f".github/workflows/{self.workflow}",
                "head_branch": "",
                "head_sha": "",
                "event": "release",
                "status": "completed",
                "conclusion": "success",
                **fields,
            }
            run["html_url"] = f"{self.url}/{repo}/actions/runs/{run['id']}"
            self.state.runs.setdefault(repo, []).append(run)
            self.save()
            return run

    def _start_run(self, repo: str, tag: str, sha: str) -> None:
        self.add_run(repo, path=".github/workflows/ci.yml", head_branch="main", head_sha=sha, event="push")
        run = self.add_run(repo, head_branch=tag, head_sha=sha, status="queued", conclusion=None)
        self.add_run(repo, head_branch=DECOY_TAG, head_sha="0" * 40, status="in_progress", conclusion=None)
        self._run_in_background(repo, run)

    def _run_in_background(self, repo: str, run: dict[str, Any]) -> None:
        def work() -> None:
            run["status"] = "in_progress"
            with self.state.lock:
                self.save()
            try:
                if self.runner is not None:
                    self.runner(repo, run["head_branch"], run["head_sha"])
                run["conclusion"] = "success"
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt) or self.closing.is_set() or interrupts.was_interrupted():
                    return  # interrupted, not failed: left "in progress" for the next stand-in to run again
                run["conclusion"] = "failure"  # the run fails; the watcher reports it
                run["error"] = str(exc)
            run["status"] = "completed"
            with self.state.lock:
                self.save()

        thread = threading.Thread(target=work, daemon=True)
        thread.start()  # before it is listed: close() may join it at any moment
        self.threads.append(thread)

    # ---- HTTP

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(self, code: int, body: Any) -> None:
                raw = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _authorized(self) -> bool:
                header = self.headers.get("Authorization", "")
                fake.state.auth_headers.append(header)
                if fake.token is not None and header != f"Bearer {fake.token}":
                    self._send(401, {"message": "Bad credentials"})
                    return False
                return True

            def do_GET(self) -> None:
                fake.state.requests.append(f"GET {self.path}")
                if not self._authorized():
                    return
                parts = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parts.query))
                if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/releases/tags/(.+)", parts.path):
                    tag = urllib.parse.unquote(m.group(2))
                    found = [r for r in fake.state.releases.get(m.group(1), []) if r["tag_name"] == tag]
                    self._send(200, found[0]) if found else self._send(404, {"message": "Not Found"})
                elif m := re.fullmatch(r"/repos/([^/]+/[^/]+)/actions/workflows/([^/]+)/runs", parts.path):
                    runs = [
                        r
                        for r in fake.state.runs.get(m.group(1), [])
                        if r["path"].endswith("/" + m.group(2))
                        and all(
                            r.get(k) == query[q]
                            for q, k in (("head_sha", "head_sha"), ("event", "event"))
                            if q in query
                        )
                    ]
                    self._send(200, {"total_count": len(runs), "workflow_runs": runs[::-1]})
                elif m := re.fullmatch(r"/repos/([^/]+/[^/]+)/actions/runs/(\d+)", parts.path):
                    found = [r for r in fake.state.runs.get(m.group(1), []) if r["id"] == int(m.group(2))]
                    self._send(200, found[0]) if found else self._send(404, {"message": "Not Found"})
                else:
                    self._send(404, {"message": "Not Found"})

            def do_POST(self) -> None:
                fake.state.requests.append(f"POST {self.path}")
                if not self._authorized():
                    return
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                m = re.fullmatch(r"/repos/([^/]+/[^/]+)/releases", self.path)
                if not m:
                    self._send(404, {"message": "Not Found"})
                    return
                repo = m.group(1)
                with fake.state.lock:
                    existing = [r for r in fake.state.releases.get(repo, []) if r["tag_name"] == body.get("tag_name")]
                    if existing:
                        self._send(422, {"message": "Validation Failed: tag_name already_exists"})
                        return
                    release = {
                        "id": fake.state.new_id(),
                        "tag_name": body["tag_name"],
                        "target_commitish": body.get("target_commitish", "main"),
                        "name": body.get("name", ""),
                        "body": body.get("body", ""),
                        "prerelease": bool(body.get("prerelease")),
                        "draft": bool(body.get("draft")),
                        "html_url": f"{fake.url}/{repo}/releases/tag/{body['tag_name']}",
                    }
                    fake.state.releases.setdefault(repo, []).append(release)
                    fake.save()
                # The run exists before the client hears back, so leaving the `with` block right after a
                # release still waits for its run.
                if not release["draft"]:
                    fake._start_run(repo, release["tag_name"], release["target_commitish"])
                self._send(201, release)

        return Handler
