"""juniper-release: release automation for the Juniper ecosystem.

The engine is grouped by stage. A module imports only from its own stage and the stages below it; the order is the
layers contract in ``pyproject.toml`` (``[tool.importlinter]``), which ``nox -s lint`` checks. From the bottom:

- the ground floor every stage shares: ``errors`` (one-line errors with a fix), ``secrets`` (the one secrets policy
  and redaction), ``commands`` (checked subprocesses), ``gitops`` (git), ``files`` (atomic writes, diffs), ``output``
  (tables, JSON), ``conventions`` (commit subjects, the CHANGELOG), ``netio``, ``offline``, ``interrupts``,
  ``progress`` and ``summary``
- ``ecosystem/``  what the packages declare and where they stand: registry, versions, tags, project, graph, indexes,
  changes, detect, the package checks and status (``invoke status``)
- ``verify/``     what would be uploaded installs and works: envs, build, precheck, install, smoke, cache and the
  dependency-ordered scheduler (``nox -s verify-all``)
- ``github/``     the GitHub adapter (forge), the rendered workflows (templates), the pin table and the workflow
  checks with the driver of ``invoke check``
- ``release/``    versioning (bumps), options, journal, context, gates, steps, publish, package and train;
  ``transfer/`` (the organization transfer: codemod and live checklist) sits beside it, independent of it
- ``sandbox/``    the generated stand-in ecosystem, a fake GitHub, local indexes and the rehearsal; only the front
  doors and the tests import it
- the front doors: ``cli/`` (the ``juniper-release`` console script) and ``frontdoor`` (what it, ``noxfile.py`` and
  ``tasks.py`` share)
"""

from __future__ import annotations

__version__ = "0.1.0"
