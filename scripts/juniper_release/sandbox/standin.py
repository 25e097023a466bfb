"""A stand-in Juniper ecosystem, generated from code for tests, the demo and release rehearsals.

Six small packages with the real names, import names, layers, Juniper dependency edges, version locations,
README, LICENSE, CHANGELOG and publish workflow. Third-party dependencies are real (numpy, requests, urllib3,
websockets, pydantic, torch). Each package is a git repository with a real bare ``origin``, a few commits and a
release tag. Switchable defects reproduce every problem the checks and the verification pipeline must catch.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit

from juniper_release.ecosystem.registry import Registry, cache_dir
from juniper_release.errors import ConfigError
from juniper_release.gitops import Git

GENERATOR_VERSION = "1"
"""Bump when the generated content changes, so cached sandboxes are regenerated."""

AUTHOR = {"name": "Paul Calnon"}
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Juniper Stand-in",
    "GIT_AUTHOR_EMAIL": "standin@juniper.invalid",
    "GIT_COMMITTER_NAME": "Juniper Stand-in",
    "GIT_COMMITTER_EMAIL": "standin@juniper.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T12:00:00+00:00",
    "GIT_COMMITTER_DATE": "2026-01-01T12:00:00+00:00",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}

# A sops-encrypted dotenv file as sops writes it (the values are made up, not a real ciphertext).
SOPS_ENV = (
    "PYPI_API_TOKEN=ENC[AES256_GCM,data:q2Vx0m1hZWtlLXRva2Vu,iv:aXYtbm90LXJlYWw=,tag:dGFnLW5vdC1yZWFs,type:str]\n"
    "sops_age__list_0__map_recipient=age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq\n"
    "sops_lastmodified=2026-01-01T12:00:00Z\n"
    "sops_mac=ENC[AES256_GCM,data:bWFjLW5vdC1yZWFs,iv:aXYtbm90LXJlYWw=,tag:dGFnLW5vdC1yZWFs,type:str]\n"
    "sops_version=3.9.4\n"
)

# A token-shaped string for the secret defect; it is not a real credential.
FAKE_PYPI_TOKEN = "pypi-AgEIcHlwaS5vcmcCJDAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMAACKlszLCJmYWtlIl0"

DEFECTS: dict[str, str] = {
    # static checks (invoke check)
    "version-mismatch": "juniper-data-client's __version__ lags its pyproject version (0.3.0 vs 0.3.1)",
    "missing-license": "juniper-cascor-client has no LICENSE file",
    "broken-readme": "juniper-data's README.rst does not render",
    "secret-env": "juniper-cascor commits a .env holding a PyPI token",
    "cycle": "juniper-data-client gains an extra on juniper-ml (cycle through the meta-package)",
    "escaped-ceiling": "juniper-data's [api] pins juniper-data-client<0.3, escaping its current 0.3.1",
    "wrong-layer": "juniper-cascor-client gains a hard dependency on juniper-data-client (layer 1, declared 0)",
    "missing-workflow": "juniper-data and juniper-cascor have no publish workflow",
    "double-trigger": "juniper-cascor-client's publish workflow runs on tag pushes and on Releases",
    "mixed-floors": "juniper-ml requires Python >=3.12 while the others require >=3.11",
    "no-services": "juniper-ml has no [services] extra",
    # build and verify (nox -s verify-all)
    "stray-tests": "juniper-cascor-client ships a top-level tests/ package in its wheel",
    "incomplete-sdist": "juniper-data's sdist leaves out a module the wheel has",
    "missing-py-typed": "juniper-data-client declares Typing :: Typed without a py.typed",
    "broken-import": "juniper-cascor-worker fails on import",
    "bad-console-script": "juniper-cascor-worker's console script exits 1 on --help",
    "cuda-torch": "juniper-cascor-worker requires a torch newer than the CPU build (would pull CUDA)",
    # tags and secrets as the real repositories carry them (invoke status, invoke check)
    "stale-tag": "juniper-data carries a pre-reset v0.25.0-alpha tag on an older commit, sorting above 0.6.0",
    "foreign-tag": "juniper-cascor carries a cascor-pre-migration-v0.5.0 tag (not following tag_format)",
    "mismatched-tag": "juniper-data-client carries a v0.3.0 tag on a commit whose pyproject says 0.2.9",
    "sops-env": "juniper-cascor commits a sops-encrypted .env.enc (safe: every value is encrypted)",
    # real-world quirks of the Juniper repositories
    "py312-floor": "every package but juniper-cascor-client requires Python >=3.12 (torch for 3.12 too)",
    "extra-edge": "juniper-cascor requires juniper-data through its [juniper-data] extra (computed layers change)",
    "stray-packages": "juniper-cascor's wheel ships a stray top-level utils package",
    "license-table": "juniper-data declares project.license as a TOML table (setuptools deprecation warnings)",
}

PRESETS: dict[str, frozenset[str]] = {
    "clean": frozenset(),
    # The real ecosystem's known problems when this tool was started (each one described in DEFECTS above).
    "seed": frozenset({"version-mismatch", "missing-workflow", "no-services", "mixed-floors"}),
}

VERSIONS = {
    "juniper-data-client": "0.3.1",
    "juniper-cascor-client": "0.4.0",
    "juniper-cascor-worker": "0.4.0",
    "juniper-data": "0.6.0",
    "juniper-cascor": "0.5.0",
    "juniper-ml": "0.6.0",
}


def parse_defects(spec: str | Iterable[str] | None) -> frozenset[str]:
    """Defect names from a comma list or iterable; preset names expand. Unknown names are an error."""
    if spec is None:
        return frozenset()
    items = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else [s.strip() for s in spec]
    out: set[str] = set()
    for item in filter(None, items):
        if item in PRESETS:
            out |= PRESETS[item]
        elif item in DEFECTS:
            out.add(item)
        else:
            raise ConfigError(
                f"unknown stand-in defect {item!r}",
                f"use a preset ({', '.join(PRESETS)}) or one of: {', '.join(DEFECTS)}",
            )
    return frozenset(out)


# --------------------------------------------------------------------------------------------------- specs


@dataclass
class PackageSpec:
    """Everything one generated package is made of, before it is written."""

    name: str
    import_name: str | None
    version: str
    layout: str  # "src" or "flat"
    description: str
    requires_python: str = ">=3.11"
    dependencies: list[str] = field(default_factory=list)
    optional: dict[str, list[str]] = field(default_factory=dict)
    scripts: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # relative path -> text
    typed: bool = True
    readme: str = "README.md"
    package_find: dict[str, Any] | None = None
    extra_setuptools: dict[str, Any] = field(default_factory=dict)
    license_table: bool = False

    @property
    def module_root(self) -> str:
        assert self.import_name
        return f"src/{self.import_name}" if self.layout == "src" else self.import_name


def _init_static(spec: PackageSpec, body: str) -> str:
    return f'"""{spec.description}"""\n\n__version__ = "{spec.version}"\n\n{body}'


def _specs(repo_owner: str) -> dict[str, PackageSpec]:
    dc = PackageSpec(
        "juniper-data-client",
        "juniper_data_client",
        VERSIONS["juniper-data-client"],
        "src",
        "HTTP client for the Juniper data service.",
        dependencies=["numpy>=1.24", "requests>=2.31", "urllib3>=2"],
    )
    dc.files[f"{dc.module_root}/__init__.py"] = _init_static(
        dc,
        "import numpy as np\nimport requests\n\n\n"
        "class DataClient:\n"
        '    """Fetch datasets from a juniper-data service."""\n\n'
        "    def __init__(self, base_url: str) -> None:\n"
        '        self.base_url = base_url.rstrip("/")\n'
        "        self.session = requests.Session()\n\n"
        "    def to_array(self, rows: list[list[float]]) -> np.ndarray:\n"
        "        return np.asarray(rows, dtype=float)\n",
    )

    cc = PackageSpec(
        "juniper-cascor-client",
        "juniper_cascor_client",
        VERSIONS["juniper-cascor-client"],
        "src",
        "REST and WebSocket client for the Juniper cascor service.",
        dependencies=["requests>=2.31", "urllib3>=2", "websockets>=12"],
    )
    cc.files[f"{cc.module_root}/_version.py"] = f'__version__ = "{cc.version}"\n'
    cc.files[f"{cc.module_root}/__init__.py"] = (
        f'"""{cc.description}"""\n\nimport requests\nimport websockets\n\nfrom ._version import __version__\n\n'
        '__all__ = ["CascorClient", "__version__"]\n\n\n'
        "class CascorClient:\n"
        "    def __init__(self, url: str) -> None:\n"
        "        self.url = url\n"
        "        self.session = requests.Session()\n"
        "        self.ws_version = websockets.__version__\n"
    )

    wk = PackageSpec(
        "juniper-cascor-worker",
        "juniper_cascor_worker",
        VERSIONS["juniper-cascor-worker"],
        "src",
        "Distributed training worker for cascade-correlation networks.",
        dependencies=["numpy>=1.24", "torch>=2.0"],
        scripts={"juniper-cascor-worker": "juniper_cascor_worker.cli:main"},
    )
    wk.files[f"{wk.module_root}/__init__.py"] = (
        f'"""{wk.description}"""\n\nfrom importlib.metadata import version\n\n'
        '__version__ = version("juniper-cascor-worker")\n'
    )
    wk.files[f"{wk.module_root}/worker.py"] = (
        "import numpy as np\nimport torch\n\n\n"
        "def train_step(weights: np.ndarray) -> float:\n"
        "    return float(torch.as_tensor(weights).sum())\n"
    )
    wk.files[f"{wk.module_root}/cli.py"] = (
        "import argparse\n\nfrom . import __version__\n\n\n"
        "def main(argv: list[str] | None = None) -> int:\n"
        '    parser = argparse.ArgumentParser(prog="juniper-cascor-worker", description="Run a cascor worker.")\n'
        '    parser.add_argument("--server", default="ws://127.0.0.1:8200")\n'
        '    parser.add_argument("--version", action="version", version=__version__)\n'
        "    parser.parse_args(argv)\n"
        "    return 0\n\n\n"
        'if __name__ == "__main__":\n'
        "    raise SystemExit(main())\n"
    )

    dt = PackageSpec(
        "juniper-data",
        "juniper_data",
        VERSIONS["juniper-data"],
        "flat",
        "Dataset service for the Juniper platform.",
        dependencies=["numpy>=1.24", "pydantic>=2"],
        optional={"api": ["juniper-data-client>=0.3.1,<0.4"], "all": ["juniper-data[api]"]},
        package_find={"include": ["juniper_data*"]},
    )
    dt.files[f"{dt.module_root}/__init__.py"] = _init_static(
        dt,
        "import numpy as np\nfrom pydantic import BaseModel\n\n\n"
        "class Dataset(BaseModel):\n"
        "    name: str\n"
        "    rows: int = 0\n\n\n"
        "def spiral(n: int) -> np.ndarray:\n"
        "    return np.linspace(0.0, 1.0, n)\n",
    )
    dt.files[f"{dt.module_root}/api.py"] = (
        '"""Optional API glue: needs the [api] extra."""\n\nfrom juniper_data_client import DataClient\n\n'
        "def client(url: str) -> DataClient:\n    return DataClient(url)\n"
    )

    cs = PackageSpec(
        "juniper-cascor",
        "juniper_cascor",
        VERSIONS["juniper-cascor"],
        "flat",
        "Cascade-correlation training service.",
        dependencies=["numpy>=1.24", "pydantic>=2"],
        optional={
            "ml": ["torch>=2.0"],
            "data": ["juniper-data-client>=0.3.1,<0.4"],
            "all": ["juniper-cascor[ml,data]"],
        },
        package_find={"include": ["juniper_cascor*"]},
    )
    cs.files[f"{cs.module_root}/__init__.py"] = _init_static(
        cs,
        "from pydantic import BaseModel\n\n\nclass NetworkConfig(BaseModel):\n    hidden_units: int = 0\n",
    )
    cs.files[f"{cs.module_root}/ml.py"] = (
        '"""Needs the [ml] extra."""\n\nimport torch\n\nDEVICE = torch.device("cpu")\n'
    )

    ml = PackageSpec(
        "juniper-ml",
        None,
        VERSIONS["juniper-ml"],
        "meta",
        "Juniper: cascade-correlation neural network research platform (meta-package).",
        optional={
            "clients": ["juniper-data-client>=0.3.1,<0.4", "juniper-cascor-client>=0.4.0,<0.5"],
            "worker": ["juniper-cascor-worker>=0.4.0,<0.5"],
            "services": ["juniper-data>=0.6.0,<0.7", "juniper-cascor>=0.5.0,<0.6"],
            "all": ["juniper-ml[clients,worker,services]"],
        },
        typed=False,
        extra_setuptools={"packages": []},
    )
    return {s.name: s for s in (dc, cc, wk, dt, cs, ml)}


def _apply_defects(specs: dict[str, PackageSpec], defects: frozenset[str]) -> dict[str, set[str]]:
    """Change the specs in place; return per-package flags for the file writers."""
    flags: dict[str, set[str]] = {name: set() for name in specs}
    dc, cc, wk = specs["juniper-data-client"], specs["juniper-cascor-client"], specs["juniper-cascor-worker"]
    dt, cs, ml = specs["juniper-data"], specs["juniper-cascor"], specs["juniper-ml"]
    if "version-mismatch" in defects:
        init = f"{dc.module_root}/__init__.py"
        dc.files[init] = dc.files[init].replace(f'__version__ = "{dc.version}"', '__version__ = "0.3.0"')
    if "missing-license" in defects:
        flags[cc.name].add("no-license")
    if "broken-readme" in defects:
        dt.readme = "README.rst"
        flags[dt.name].add("broken-readme")
    if "secret-env" in defects:
        cs.files[".env"] = f"PYPI_API_TOKEN={FAKE_PYPI_TOKEN}\n"
    if "cycle" in defects:
        dc.optional["meta"] = ["juniper-ml[clients]>=0.6"]
    if "escaped-ceiling" in defects:
        dt.optional["api"] = ["juniper-data-client>=0.2,<0.3"]
    if "wrong-layer" in defects:
        cc.dependencies.append("juniper-data-client>=0.3.1,<0.4")
    if "missing-workflow" in defects:
        flags[dt.name].add("no-workflow")
        flags[cs.name].add("no-workflow")
    if "double-trigger" in defects:
        flags[cc.name].add("double-trigger")
    if "mixed-floors" in defects:
        ml.requires_python = ">=3.12"
    if "no-services" in defects:
        del ml.optional["services"]
        ml.optional["all"] = ["juniper-ml[clients,worker]"]
    if "stray-tests" in defects:
        cc.package_find = {"where": ["src", "."], "include": ["juniper_cascor_client*", "tests*"]}
        cc.files["tests/__init__.py"] = ""
    if "incomplete-sdist" in defects:
        dt.files[f"{dt.module_root}/schema.py"] = 'SCHEMA = {"type": "object"}\n'
        dt.files["MANIFEST.in"] = f"exclude {dt.module_root}/schema.py\n"
    if "missing-py-typed" in defects:
        flags[dc.name].add("no-py-typed")
    if "broken-import" in defects:
        init = f"{wk.module_root}/__init__.py"
        wk.files[init] += "\nimport juniper_missing_module  # noqa: F401\n"
    if "bad-console-script" in defects:
        cli = f"{wk.module_root}/cli.py"
        wk.files[cli] = wk.files[cli].replace(
            "    parser.parse_args(argv)\n    return 0\n", "    raise SystemExit(1)\n"
        )
    if "cuda-torch" in defects:
        wk.dependencies = [d if not d.startswith("torch") else "torch>=2.99" for d in wk.dependencies]
    if "stale-tag" in defects:
        flags[dt.name].add("stale-tag")
    if "foreign-tag" in defects:
        flags[cs.name].add("foreign-tag")
    if "mismatched-tag" in defects:
        flags[dc.name].add("mismatched-tag")
    if "sops-env" in defects:
        cs.files[".env.enc"] = SOPS_ENV
    if "py312-floor" in defects:
        for spec in (dc, wk, dt, cs, ml):
            spec.requires_python = ">=3.12"
    if "extra-edge" in defects:
        cs.optional["juniper-data"] = [f"juniper-data>={VERSIONS['juniper-data']},<0.7"]
    if "stray-packages" in defects:
        cs.package_find = {"include": ["juniper_cascor*", "utils*"]}
        cs.files["utils/__init__.py"] = '"""Helpers that belong inside juniper_cascor."""\n'
    if "license-table" in defects:
        dt.license_table = True
    return flags


# --------------------------------------------------------------------------------------------------- writers


def _pyproject(spec: PackageSpec, repo: str) -> str:
    doc = tomlkit.document()
    build = tomlkit.table()
    build["requires"] = ["setuptools>=77"]
    build["build-backend"] = "setuptools.build_meta"
    doc["build-system"] = build
    proj = tomlkit.table()
    proj["name"] = spec.name
    proj["version"] = spec.version
    proj["description"] = spec.description
    proj["readme"] = spec.readme
    proj["requires-python"] = spec.requires_python
    if spec.license_table:
        license_table = tomlkit.inline_table()
        license_table["text"] = "MIT"
        proj["license"] = license_table
    else:
        proj["license"] = "MIT"
    authors = tomlkit.array()
    authors.append(tomlkit.inline_table())
    authors[0].update(AUTHOR)
    proj["authors"] = authors
    classifiers = ["Programming Language :: Python :: 3", "Intended Audience :: Science/Research"]
    if spec.typed:
        classifiers.append("Typing :: Typed")
    proj["classifiers"] = classifiers
    deps = tomlkit.array()
    deps.extend(spec.dependencies)
    proj["dependencies"] = deps.multiline(len(spec.dependencies) > 1)
    if spec.optional:
        opt = tomlkit.table()
        for extra, reqs in spec.optional.items():
            arr = tomlkit.array()
            arr.extend(reqs)
            opt[extra] = arr
        proj["optional-dependencies"] = opt
    if spec.scripts:
        proj["scripts"] = dict(spec.scripts)
    urls = tomlkit.table()
    urls["Homepage"] = f"https://github.com/{repo}"
    urls["Repository"] = f"https://github.com/{repo}"
    urls["Issues"] = f"https://github.com/{repo}/issues"
    proj["urls"] = urls
    doc["project"] = proj
    tool = tomlkit.table(is_super_table=True)
    st = tomlkit.table()
    if spec.extra_setuptools:
        st.update(spec.extra_setuptools)
    elif spec.layout == "src" and spec.package_find is None:
        st["packages"] = {"find": {"where": ["src"]}}
    elif spec.package_find is not None:
        st["packages"] = {"find": spec.package_find}
    if spec.import_name and spec.typed:
        st["package-data"] = {spec.import_name: ["py.typed"]}
    tool["setuptools"] = st
    doc["tool"] = tool
    return tomlkit.dumps(doc)


def _readme(spec: PackageSpec, repo: str, broken: bool) -> str:
    if broken:
        return f"{spec.name}\n=====\n\nBroken `link <https://example.invalid\n\n.. unknown-directive::\n\n   nope\n\n* list\n  * unbalanced\n"
    badge = f"[![CI](https://github.com/{repo}/actions/workflows/ci.yml/badge.svg)](https://github.com/{repo}/actions)"
    install = f"pip install {spec.name}"
    body = f"# {spec.name}\n\n{badge}\n\n{spec.description}\n\n## Install\n\n```bash\n{install}\n```\n\n"
    if spec.import_name:
        body += f"```python\nimport {spec.import_name}\nprint({spec.import_name}.__version__)\n```\n\n"
    body += f"Source and issues: <https://github.com/{repo}>.\n"
    return body


_LICENSE = """MIT License

Copyright (c) 2026 Paul Calnon

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, including without limitation the
rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit
persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of the
Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED.
"""


def upstream_publish_workflow(name: str, import_name: str | None, torch: bool, double_trigger: bool = False) -> str:
    """The upstream-style publish workflow the real repos carry (one job per index, on a published release)."""
    on = "on:\n  release:\n    types: [published]\n"
    if double_trigger:
        on = "on:\n  push:\n    tags: ['v*']\n  release:\n    types: [published]\n"
    torch_step = "      - run: pip install torch --index-url https://download.pytorch.org/whl/cpu\n" if torch else ""
    check_import = f"python -c 'import {import_name}; print({import_name}.__version__)'" if import_name else "true"
    return (
        f"name: Publish {name}\n\n{on}\npermissions:\n  id-token: write\n\njobs:\n"
        "  testpypi:\n    runs-on: ubuntu-latest\n    environment: testpypi\n    steps:\n"
        "      - uses: actions/checkout@v5\n      - uses: actions/setup-python@v6\n        with:\n"
        "          python-version: '3.11'\n      - run: pip install build twine\n      - run: python -m build\n"
        "      - run: twine check dist/*\n      - uses: pypa/gh-action-pypi-publish@release/v1\n        with:\n"
        "          repository-url: https://test.pypi.org/legacy/\n"
        f"{torch_step}"
        "      - run: sleep 30\n"
        f"      - run: pip install --index-url https://test.pypi.org/simple/ --extra-index-url https://pypi.org/simple/ {name}\n"
        f"      - run: {check_import}\n"
        "  pypi:\n    needs: testpypi\n    runs-on: ubuntu-latest\n    environment: pypi\n    steps:\n"
        "      - uses: actions/checkout@v5\n      - uses: actions/setup-python@v6\n        with:\n"
        "          python-version: '3.11'\n      - run: pip install build twine\n      - run: python -m build\n"
        "      - run: twine check dist/*\n      - uses: pypa/gh-action-pypi-publish@release/v1\n"
    )


def _changelog(spec: PackageSpec) -> str:
    return (
        "# Changelog\n\nAll notable changes to this project are documented here.\n\n## [Unreleased]\n\n"
        f"## [{spec.version}] - 2026-01-01\n\n### Features\n\n- Initial release of {spec.name}.\n"
    )


def _write_package(root: Path, spec: PackageSpec, repo: str, torch: bool, flags: set[str]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {
        "pyproject.toml": _pyproject(spec, repo),
        spec.readme: _readme(spec, repo, "broken-readme" in flags),
        "CHANGELOG.md": _changelog(spec),
        ".gitignore": "__pycache__/\n*.egg-info/\nbuild/\ndist/\n.venv/\n",
        "AGENTS.md": f"# Notes for agents\n\nThe canonical repository is https://github.com/{repo}.\n",
    }
    if "no-license" not in flags:
        files["LICENSE"] = _LICENSE
    if "no-workflow" not in flags:
        files[".github/workflows/publish.yml"] = upstream_publish_workflow(
            spec.name, spec.import_name, torch, "double-trigger" in flags
        )
    if spec.import_name:
        if spec.typed and "no-py-typed" not in flags:
            files[f"{spec.module_root}/py.typed"] = ""
        files["tests/test_import.py"] = (
            f"import {spec.import_name}\n\n\ndef test_version() -> None:\n    assert {spec.import_name}.__version__\n"
        )
    files.update(spec.files)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


UNRELEASED_MODULE = "_datasets.py"
"""The module an ``unreleased`` package gains after its release tag (a code change that ships)."""


def unreleased_change(root: Path, spec: PackageSpec) -> str:
    """Write the change an ``unreleased`` package gets after its tag and return its path (relative to ``root``): a
    new module in its import package, which ships (a meta-package ships no module, so it gets a post-release note,
    which does not)."""
    if not spec.import_name:
        (root / "NOTES.md").write_text("Post-release notes.\n", encoding="utf-8")
        return "NOTES.md"
    rel = f"{spec.module_root}/{UNRELEASED_MODULE}"
    body = '"""Datasets."""\n\n\ndef handle_empty(rows: list[object]) -> list[object]:\n    return rows or []\n'
    (root / rel).write_text(body, encoding="utf-8")
    return rel


def _git(root: Path) -> Git:
    return Git(root, env=GIT_ENV)


def _older_history(git: Git, root: Path, flags: set[str]) -> None:
    """Commits before the release commit, tagged as the real repositories' older histories are: a pre-reset
    ``v0.25.0-alpha`` (stale-tag) and a ``v0.3.0`` on a commit declaring 0.2.9 (mismatched-tag). The release
    commit's files are written already; they are set aside while the older commit is made."""
    older = [f for f in ("stale-tag", "mismatched-tag") if f in flags]
    if not older:
        return
    pyproject = root / "pyproject.toml"
    current = pyproject.read_text(encoding="utf-8")
    for flag in older:
        version, tag = ("0.2.1", "v0.25.0-alpha") if flag == "stale-tag" else ("0.2.9", "v0.3.0")
        pyproject.write_text(f'[project]\nname = "{root.name}"\nversion = "{version}"\n', encoding="utf-8")
        git.run("add", "pyproject.toml")
        git.run("commit", "-q", "-m", f"chore: history before the release ({version})")
        git.run("tag", tag)
    pyproject.write_text(current, encoding="utf-8")


@dataclass(frozen=True)
class Ecosystem:
    """A generated workspace: checkouts under ``workspace``, bare remotes under ``remotes``."""

    workspace: Path
    remotes: Path
    defects: frozenset[str]

    def checkout(self, name: str) -> Path:
        return self.workspace / name

    def remote(self, repo: str) -> Path:
        return self.remotes / f"{repo}.git"


def create_ecosystem(
    workspace: Path,
    registry: Registry,
    defects: str | Iterable[str] | None = None,
    *,
    remotes: Path | None = None,
    unreleased: Iterable[str] = (),
    extra_files: Mapping[str, Mapping[str, str]] | None = None,
) -> Ecosystem:
    """Write the six packages into ``workspace``, each a git repo pushed to a bare ``origin``.

    Every package gets an initial commit tagged with its version (annotated, ``tag_format``). Packages named in
    ``unreleased`` get one more ``fix:`` commit after the tag, adding a module (:func:`unreleased_change`).
    ``extra_files`` adds files per package.
    """
    chosen = parse_defects(defects)
    workspace.mkdir(parents=True, exist_ok=True)
    remotes = remotes or workspace / ".remotes"
    specs = _specs(registry.owner)
    flags = _apply_defects(specs, chosen)
    pending = set(unreleased)
    for pkg in registry.packages:
        spec = specs.get(pkg.name)
        if spec is None:
            raise ConfigError(f"stand-in ecosystem has no package {pkg.name!r}", "use the Juniper repos.toml")
        root = pkg.checkout(workspace)
        if root.exists():
            shutil.rmtree(root)
        _write_package(root, spec, pkg.repo, pkg.torch, flags[pkg.name])
        for rel, text in (extra_files or {}).get(pkg.name, {}).items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text, encoding="utf-8")
        bare = remotes / f"{pkg.repo}.git"
        if bare.exists():
            shutil.rmtree(bare)
        bare.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "init", "-q", "--bare", "-b", registry.branch, str(bare)], check=True, env={**os.environ, **GIT_ENV}
        )
        git = _git(root)
        git.run("init", "-q", "-b", registry.branch)
        _older_history(git, root, flags[pkg.name])
        git.run("add", "-A")
        git.run("commit", "-q", "-m", f"feat: initial import of {pkg.name}")
        git.tag_annotated(registry.tag_for(spec.version), f"Release {spec.version}")
        if "foreign-tag" in flags[pkg.name]:
            git.run("tag", f"{pkg.name.removeprefix('juniper-')}-pre-migration-{registry.tag_for(spec.version)}")
        if pkg.name in pending:
            git.run("add", unreleased_change(root, spec))
            git.run("commit", "-q", "-m", "fix: handle empty datasets")
        git.run("remote", "add", "origin", str(bare))
        git.run("push", "-q", "--follow-tags", "origin", registry.branch)
    return Ecosystem(workspace=workspace, remotes=remotes, defects=chosen)


def sandbox_workspace(
    registry: Registry, defects: str | Iterable[str] | None = None, base: Path | None = None, layout: str = "six"
) -> Path:
    """The cached stand-in workspace under ``.juniper/sandbox/<key>``, generated on first use.

    ``layout`` is ``six`` (this module) or ``grown`` (:mod:`juniper_release.sandbox.grown`). It is keyed on the
    generator version, the layout, the defects and the registry file, so a changed generator or registry
    yields a fresh sandbox while an unchanged one is reused (and its verification cache stays warm).
    """
    chosen = parse_defects(defects)
    key_src = json.dumps(
        {
            "gen": GENERATOR_VERSION,
            "defects": sorted(chosen),
            "registry": registry.path.read_text(encoding="utf-8"),
            **({"layout": layout} if layout != "six" else {}),
        },
        sort_keys=True,
    )
    key = hashlib.sha256(key_src.encode()).hexdigest()[:12]
    base = base or cache_dir() / "sandbox"
    target = base / f"{'grown-' if layout == 'grown' else ''}{'-'.join(sorted(chosen)) or 'clean'}-{key}"
    marker = target / ".complete"
    if not marker.is_file():
        if target.exists():
            shutil.rmtree(target)
        if layout == "grown":
            from juniper_release.sandbox.grown import create_grown

            create_grown(target / "workspace", registry, chosen, remotes=target / "remotes")
        else:
            create_ecosystem(target / "workspace", registry, chosen, remotes=target / "remotes")
        marker.write_text("ok\n", encoding="utf-8")
    return target / "workspace"
