"""juniper-release: release automation for the Juniper ecosystem.

Modules, in the order a release uses them:

- ``errors``     one-line, fix-naming errors and exit codes
- ``registry``   repos.toml -> frozen dataclasses; workspace and environment overrides
- ``project``    what one checkout declares: pyproject metadata and where ``__version__`` lives
- ``graph``      the dependency graph between registry packages, layers and release order
- ``checks``     the static ecosystem consistency checker (``invoke check``)
- ``status``     the live version matrix (``invoke status``)
- ``indexes``    read-only look-ups on PyPI-compatible simple/JSON indexes
- ``build``      sdist/wheel builds, ``twine check``, wheel inspection, manifests
- ``envs``       fresh virtual environments (uv or virtualenv+pip) and the CPU-torch guard
- ``verify``     install-and-smoke verification, ``verify-all`` and its incremental cache
- ``versioning`` version bumps, ``__version__`` edits and the changelog
- ``gitops``     git, always with failures raised
- ``forge``      the GitHub adapter (REST API)
- ``publish``    uploads to TestPyPI/PyPI, credentials and redaction
- ``release``    the ordered, resumable release of one package and the release train
- ``workflows``  rendered GitHub Actions workflows for the package repos
- ``transfer``   the organization transfer codemod
- ``report``     tables, JSON and Markdown output
- ``standin``    a generated stand-in Juniper ecosystem for tests, demos and rehearsals
"""

from __future__ import annotations

__version__ = "0.1.0"
