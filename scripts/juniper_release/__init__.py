"""juniper-release: release automation for the Juniper ecosystem.

The engine is grouped by stage, in the order a release goes through them:

- ``ecosystem/``  what the packages declare and where they stand: registry, project, graph, tags, indexes,
  checks (``invoke check``) and status (``invoke status``)
- ``verify/``     what would be uploaded installs and works: envs, build, precheck, install, smoke, cache and the
  dependency-ordered scheduler (``nox -s verify-all``)
- ``release/``    versioning (bumps), options, journal, context, gates, steps, publish, package and train
- ``github/``     the GitHub adapter (forge) and the rendered workflows (templates)
- ``transfer/``   the organization transfer: codemod and live checklist
- ``sandbox/``    the generated stand-in ecosystem, a fake GitHub, local indexes and the rehearsal; only the front
  doors and the tests import it

and the plumbing every stage shares: ``errors`` (one-line errors with a fix), ``secrets`` (the one secrets policy
and redaction), ``commands`` (checked subprocesses), ``gitops`` (git), ``files`` (atomic writes, diffs), ``output``
(tables, JSON), ``frontdoor`` (what noxfile.py and tasks.py share).
"""

from __future__ import annotations

__version__ = "0.1.0"
