"""The stand-in's switchable defects: every problem the checks and the verification pipeline must catch.

:data:`DEFECTS` names and describes them, :data:`PRESETS` groups them, :func:`parse_defects` reads a ``--defects``
spec and :func:`apply_defects` changes the six packages' specs (:mod:`juniper_release.sandbox.specs`) accordingly.
"""

from __future__ import annotations

from collections.abc import Iterable

from juniper_release.errors import ConfigError
from juniper_release.sandbox.specs import VERSIONS, PackageSpec

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
    "unpinned-actions": "juniper-cascor-worker's publish workflow references its actions by tag (actions/checkout@v5)",
    "newer-actions": "juniper-data-client's workflows pin newer releases of actions/checkout and the publish action "
    "than the pin table (as the real repositories do)",
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


def apply_defects(specs: dict[str, PackageSpec], defects: frozenset[str]) -> dict[str, set[str]]:
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
    if "unpinned-actions" in defects:
        flags[wk.name].add("unpinned-actions")
    if "newer-actions" in defects:
        flags[dc.name].add("newer-actions")
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
