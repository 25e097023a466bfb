"""What ``verify-all`` reports: one :class:`PackageResult` per package, gathered in a :class:`VerifyReport`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from juniper_release.output import table, to_json

PHASES = ("build", "env", "install", "smoke")
STATUSES = ("passed", "failed", "skipped", "cached")


@dataclass
class PackageResult:
    """The outcome of one package: status, backend, seconds per phase and, on failure, the phase and message."""

    package: str
    version: str = ""
    python: str = ""
    status: str = "pending"  # passed / failed / skipped / cached
    backend: str = "-"
    phases: dict[str, float] = field(default_factory=dict)
    phase: str | None = None  # the failing phase
    error: str | None = None
    reason: str | None = None  # why it was skipped, or (passed with keep_going) which dependency had failed
    detail: str = ""
    built: bool = False

    @property
    def seconds(self) -> float:
        return sum(self.phases.values())

    @property
    def result(self) -> str:
        if self.status == "failed":
            return f"failed ({self.phase})"
        if self.status in {"skipped", "passed"} and self.reason:
            return f"{self.status}: {self.reason}"
        return self.status

    def row(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "package": self.package,
            "version": self.version,
            "python": self.python or "-",
            "result": self.result,
            "backend": self.backend,
        }
        for phase in PHASES:
            row[phase] = self.phases.get(phase)
        row["total"] = self.seconds if self.phases else None
        return row


@dataclass
class VerifyReport:
    """Per-package results in release order, the number of builds made and the wall time."""

    results: list[PackageResult]
    seconds: float = 0.0
    builds: int = 0
    wheelhouse: Path | None = None
    title: str = "verify-all"
    """The run's name in its verdict line (``verify(juniper-data)`` for one package's session)."""

    @property
    def ok(self) -> bool:
        return all(r.status in {"passed", "cached"} for r in self.results)

    def get(self, name: str) -> PackageResult:
        return next(r for r in self.results if r.package == name)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for r in self.results if r.status == s) for s in STATUSES}

    def summary(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items() if n)
        return f"{counts}; {self.builds} build(s) in {self.seconds:.1f}s; wheelhouse {self.wheelhouse}"

    def render(self) -> str:
        # Least important first, to fit the terminal: the phase timings, then the backend (--json has them all).
        drop = ("env", "smoke", "install", "build", "backend")
        lines = [table([r.row() for r in self.results], painted="result", expendable=drop)]
        failures = [r for r in self.results if r.status == "failed"]
        if failures:
            lines.append("")
            for r in failures:
                lines.append(f"{r.package} [{r.phase}]: {r.error}")
                if r.detail:
                    lines.extend(f"    {line}" for line in r.detail.splitlines())
        lines.append("")
        lines.append(f"{self.title} {'passed' if self.ok else 'FAILED'}: " + self.summary())
        return "\n".join(lines)

    def to_markdown(self, mermaid: str | None = None) -> str:
        """The summary table as Markdown (a GitHub step summary), with the dependency graph when given."""
        from juniper_release import summary

        verdict = ("verify-all passed: " if self.ok else "verify-all **FAILED**: ") + self.summary()
        return summary.render("verify-all", [r.row() for r in self.results], verdict, mermaid)

    def to_json(self) -> str:
        return to_json(
            {
                "ok": self.ok,
                "seconds": round(self.seconds, 2),
                "builds": self.builds,
                "wheelhouse": str(self.wheelhouse),
                "results": [asdict(r) for r in self.results],
            }
        )
