"""The stand-in's file writers: a :class:`~juniper_release.sandbox.specs.PackageSpec` turned into a package
directory (setuptools pyproject, README, LICENSE, CHANGELOG, the upstream-style publish workflow, the module files).
"""

from __future__ import annotations

from pathlib import Path

import tomlkit

from juniper_release.github.pins import pinned_uses
from juniper_release.sandbox.specs import PackageSpec

AUTHOR = {"name": "Paul Calnon"}


def pyproject_text(spec: PackageSpec, repo: str) -> str:
    """The setuptools ``pyproject.toml`` of ``spec`` (static version), its URLs naming ``repo``."""
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


def readme_text(spec: PackageSpec, repo: str, broken: bool) -> str:
    """The README: Markdown that renders on PyPI, or (``broken``) reStructuredText that does not."""
    if broken:
        return f"{spec.name}\n=====\n\nBroken `link <https://example.invalid\n\n.. unknown-directive::\n\n   nope\n\n* list\n  * unbalanced\n"
    badge = f"[![CI](https://github.com/{repo}/actions/workflows/ci.yml/badge.svg)](https://github.com/{repo}/actions)"
    install = f"pip install {spec.name}"
    body = f"# {spec.name}\n\n{badge}\n\n{spec.description}\n\n## Install\n\n```bash\n{install}\n```\n\n"
    if spec.import_name:
        body += f"```python\nimport {spec.import_name}\nprint({spec.import_name}.__version__)\n```\n\n"
    body += f"Source and issues: <https://github.com/{repo}>.\n"
    return body


LICENSE_TEXT = """MIT License

Copyright (c) 2026 Paul Calnon

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, including without limitation the
rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit
persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of the
Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED.
"""


def upstream_publish_workflow(
    name: str, import_name: str | None, torch: bool, double_trigger: bool = False, unpinned: bool = False
) -> str:
    """The upstream-style publish workflow the real repos carry (one job per index, on a published release).

    Its actions are pinned from juniper-release's pin table; ``unpinned`` references them by a moving tag instead.
    """

    def uses(action: str, tag: str) -> str:
        return f"{action}@{tag}" if unpinned else pinned_uses(action, "the stand-in")

    checkout = uses("actions/checkout", "v5")
    setup = uses("actions/setup-python", "v6")
    publish = uses("pypa/gh-action-pypi-publish", "release/v1")
    on = "on:\n  release:\n    types: [published]\n"
    if double_trigger:
        on = "on:\n  push:\n    tags: ['v*']\n  release:\n    types: [published]\n"
    torch_step = "      - run: pip install torch --index-url https://download.pytorch.org/whl/cpu\n" if torch else ""
    check_import = f"python -c 'import {import_name}; print({import_name}.__version__)'" if import_name else "true"
    return (
        f"name: Publish {name}\n\n{on}\npermissions:\n  id-token: write\n\njobs:\n"
        "  testpypi:\n    runs-on: ubuntu-latest\n    environment: testpypi\n    steps:\n"
        f"      - uses: {checkout}\n      - uses: {setup}\n        with:\n"
        "          python-version: '3.11'\n      - run: pip install build twine\n      - run: python -m build\n"
        f"      - run: twine check dist/*\n      - uses: {publish}\n        with:\n"
        "          repository-url: https://test.pypi.org/legacy/\n"
        f"{torch_step}"
        "      - run: sleep 30\n"
        f"      - run: pip install --index-url https://test.pypi.org/simple/ --extra-index-url https://pypi.org/simple/ {name}\n"
        f"      - run: {check_import}\n"
        "  pypi:\n    needs: testpypi\n    runs-on: ubuntu-latest\n    environment: pypi\n    steps:\n"
        f"      - uses: {checkout}\n      - uses: {setup}\n        with:\n"
        "          python-version: '3.11'\n      - run: pip install build twine\n      - run: python -m build\n"
        f"      - run: twine check dist/*\n      - uses: {publish}\n"
    )


def changelog_text(spec: PackageSpec) -> str:
    """A Keep-a-Changelog CHANGELOG with an empty Unreleased section and the release of ``spec.version``."""
    return (
        "# Changelog\n\nAll notable changes to this project are documented here.\n\n## [Unreleased]\n\n"
        f"## [{spec.version}] - 2026-01-01\n\n### Features\n\n- Initial release of {spec.name}.\n"
    )


def write_package(root: Path, spec: PackageSpec, repo: str, torch: bool, flags: set[str]) -> None:
    """Write the package directory ``root``; ``flags`` (from the defects) leave files out or break them."""
    root.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {
        "pyproject.toml": pyproject_text(spec, repo),
        spec.readme: readme_text(spec, repo, "broken-readme" in flags),
        "CHANGELOG.md": changelog_text(spec),
        ".gitignore": "__pycache__/\n*.egg-info/\nbuild/\ndist/\n.venv/\n",
        "AGENTS.md": f"# Notes for agents\n\nThe canonical repository is https://github.com/{repo}.\n",
    }
    if "no-license" not in flags:
        files["LICENSE"] = LICENSE_TEXT
    if "no-workflow" not in flags:
        files[".github/workflows/publish.yml"] = upstream_publish_workflow(
            spec.name, spec.import_name, torch, "double-trigger" in flags, "unpinned-actions" in flags
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
