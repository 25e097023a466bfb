"""What a stand-in package is made of (:class:`PackageSpec`), and the specs of the six packages of the plan.

Each of the six is built by its own function; :func:`six_specs` collects them. The defects
(:mod:`juniper_release.sandbox.defects`) change these specs before the writers
(:mod:`juniper_release.sandbox.writers`) turn them into files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VERSIONS = {
    "juniper-data-client": "0.3.1",
    "juniper-cascor-client": "0.4.0",
    "juniper-cascor-worker": "0.4.0",
    "juniper-data": "0.6.0",
    "juniper-cascor": "0.5.0",
    "juniper-ml": "0.6.0",
}


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


def init_static(spec: PackageSpec, body: str) -> str:
    """An ``__init__.py`` with the spec's docstring and a literal ``__version__``, then ``body``."""
    return f'"""{spec.description}"""\n\n__version__ = "{spec.version}"\n\n{body}'


def _data_client() -> PackageSpec:
    dc = PackageSpec(
        "juniper-data-client",
        "juniper_data_client",
        VERSIONS["juniper-data-client"],
        "src",
        "HTTP client for the Juniper data service.",
        dependencies=["numpy>=1.24", "requests>=2.31", "urllib3>=2"],
    )
    dc.files[f"{dc.module_root}/__init__.py"] = init_static(
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
    return dc


def _cascor_client() -> PackageSpec:
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
    return cc


def _worker() -> PackageSpec:
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
    return wk


def _data() -> PackageSpec:
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
    dt.files[f"{dt.module_root}/__init__.py"] = init_static(
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
    return dt


def _cascor() -> PackageSpec:
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
    cs.files[f"{cs.module_root}/__init__.py"] = init_static(
        cs,
        "from pydantic import BaseModel\n\n\nclass NetworkConfig(BaseModel):\n    hidden_units: int = 0\n",
    )
    cs.files[f"{cs.module_root}/ml.py"] = (
        '"""Needs the [ml] extra."""\n\nimport torch\n\nDEVICE = torch.device("cpu")\n'
    )
    return cs


def _meta() -> PackageSpec:
    return PackageSpec(
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


def six_specs(repo_owner: str) -> dict[str, PackageSpec]:
    """The specs of the six packages of the plan, by name (fresh objects: the caller may change them). Their
    content does not depend on ``repo_owner``: the writers get each package's repository."""
    return {s.name: s for s in (_data_client(), _cascor_client(), _worker(), _data(), _cascor(), _meta())}
