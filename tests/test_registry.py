"""The repos.toml loader: every problem is one line naming the file, the key or package, and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tomlkit
from conftest import PACKAGE_NAMES
from juniper_release.ecosystem.registry import (
    DEFAULT_REGISTRY,
    ENV_INDEX_URLS,
    ENV_TORCH_SOURCE,
    ENV_WORKSPACE,
    ROOT,
    load_registry,
    parse_registry,
    require_checkout,
    resolve_workspace,
)
from juniper_release.errors import ConfigError, WorkspaceError

PATH = Path("/somewhere/repos.toml")
TEXT = DEFAULT_REGISTRY.read_text(encoding="utf-8")


def _doc() -> Any:
    return tomlkit.parse(TEXT)


def _error(doc: Any, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        parse_registry(tomlkit.dumps(doc), PATH, env or {})
    message = str(info.value)
    assert "\n" not in message
    assert "repos.toml" in message or any(var in message for var in ENV_INDEX_URLS.values())
    assert "Fix:" in message
    return message


def test_the_real_registry_parses() -> None:
    reg = parse_registry(TEXT, PATH, {})
    assert reg.names == PACKAGE_NAMES
    assert reg.get("juniper-ml").is_meta and reg.get("Juniper_Data").name == "juniper-data"
    assert reg.tag_for("0.3.1") == "v0.3.1"
    assert not reg.overrides


def test_invalid_toml() -> None:
    with pytest.raises(ConfigError, match=r"repos.toml: not valid TOML .*Fix:"):
        parse_registry("[settings\n", PATH, {})


def test_non_utf8_registry_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "repos.toml"
    bad.write_bytes(TEXT.encode("utf-8") + b"\n# caf\xe9\n")
    with pytest.raises(ConfigError) as exc:
        load_registry(bad, {})
    assert "is not valid UTF-8 (byte 0xe9)" in str(exc.value) and "Fix: save the file as UTF-8" in str(exc.value)
    assert f"line {TEXT.count(chr(10)) + 2}" in str(exc.value) and "\n" not in str(exc.value)


def test_unknown_top_level_key() -> None:
    doc = _doc()
    doc["extras"] = {"x": 1}
    assert "unknown key 'extras'" in _error(doc)


def test_unknown_settings_key() -> None:
    doc = _doc()
    doc["settings"]["ownr"] = "x"
    assert "unknown key settings.ownr" in _error(doc)


def test_unknown_package_key_names_the_package() -> None:
    doc = _doc()
    doc["package"][3]["layr"] = 1
    assert "unknown key package juniper-data.layr" in _error(doc)


def test_missing_section() -> None:
    doc = _doc()
    del doc["torch"]
    assert "missing section [torch]" in _error(doc)


def test_missing_settings_field() -> None:
    doc = _doc()
    del doc["settings"]["tag_format"]
    assert "missing field settings.tag_format" in _error(doc)


def test_missing_package_field_names_the_package() -> None:
    doc = _doc()
    del doc["package"][2]["torch"]
    assert "missing field package juniper-cascor-worker.torch" in _error(doc)


def test_missing_package_name_uses_its_position() -> None:
    doc = _doc()
    del doc["package"][1]["name"]
    assert "missing field package #2.name" in _error(doc)


def test_wrong_type() -> None:
    doc = _doc()
    doc["package"][0]["torch"] = "yes"
    assert "package juniper-data-client.torch must be true or false" in _error(doc)


def test_wrong_list_item_type() -> None:
    doc = _doc()
    doc["package"][0]["extras"] = ["ok", 3]
    assert "package juniper-data-client.extras must be a list of strings" in _error(doc)


@pytest.mark.parametrize(
    ("value", "shown"), [(True, "bool True"), ("1", "str '1'"), (1.0, "float 1.0")], ids=["true", "string", "float"]
)
def test_layer_must_be_an_integer(value: object, shown: str) -> None:
    doc = _doc()
    doc["package"][4]["layer"] = value
    message = _error(doc)
    assert f"package juniper-cascor.layer must be an integer, got {shown}" in message


def test_negative_layer() -> None:
    doc = _doc()
    doc["package"][0]["layer"] = -1
    assert "layer must be >= 0" in _error(doc)


@pytest.mark.parametrize("key", ["name", "path", "repo"])
def test_duplicate_package(key: str) -> None:
    doc = _doc()
    clone = tomlkit.parse(tomlkit.dumps(doc))["package"][0]
    clone["name"], clone["path"], clone["repo"] = "juniper-other", "juniper-other", "pcalnon/juniper-other"
    clone[key] = {"name": "Juniper_Data", "path": "juniper-data", "repo": "PCALNON/juniper-data"}[key]
    doc["package"].append(clone)
    message = _error(doc)
    assert f"duplicate package {key}" in message and "juniper-data" in message


@pytest.mark.parametrize(
    ("index", "key", "value"),
    [("pypi", "simple_url", "pypi.org/simple/"), ("testpypi", "upload_url", "ftp://test.pypi.org/legacy/")],
)
def test_bad_url(index: str, key: str, value: str) -> None:
    doc = _doc()
    doc["indexes"][index][key] = value
    assert f"indexes.{index}.{key} is not a valid http(s) URL" in _error(doc)


def test_bad_repo_and_python() -> None:
    doc = _doc()
    doc["package"][0]["repo"] = "juniper-data-client"
    assert "repo 'juniper-data-client' is not a GitHub owner/name" in _error(doc)
    doc = _doc()
    doc["package"][0]["python"] = "3.12"
    err = _error(doc)
    assert "juniper-data-client.python must be a list" in err and "'3.12'" in err
    assert "write python = ['3.12', '3.13'] (a list), or drop it" in err
    for bad in (["3"], ["3.9"], [3.12], [], ["3.12", "3.12"]):
        doc["package"][0]["python"] = bad
        assert "juniper-data-client.python" in _error(doc)


def test_python_is_optional_and_a_list() -> None:
    doc = _doc()
    assert all("python" not in p for p in doc["package"]), "repos.toml pins no Python: each package's floor is used"
    doc["package"][0]["python"] = ["3.13", "3.12"]
    reg = parse_registry(tomlkit.dumps(doc), Path("repos.toml"), env={})
    assert reg.packages[0].python == ("3.12", "3.13")
    assert reg.packages[1].python == ()


def test_tag_format_needs_a_version_placeholder() -> None:
    doc = _doc()
    doc["settings"]["tag_format"] = "release"
    assert "has no {version}" in _error(doc)


def test_env_overrides_all_four_index_urls_and_the_torch_source() -> None:
    env = {var: f"http://127.0.0.1:9/{index}/{key}/" for (index, key), var in ENV_INDEX_URLS.items()}
    env[ENV_TORCH_SOURCE] = "/opt/wheels"
    reg = parse_registry(TEXT, PATH, env)
    for (index, key), var in ENV_INDEX_URLS.items():
        assert getattr(reg.index(index), key) == env[var]
    assert reg.torch.source == "/opt/wheels" and not reg.torch.is_index
    assert dict(reg.overrides) == env


def test_bad_env_override_url_names_the_variable() -> None:
    env = {"JUNIPER_PYPI_SIMPLE_URL": "localhost:8080"}
    message = _error(_doc(), env)
    assert "JUNIPER_PYPI_SIMPLE_URL" in message and "not a valid http(s) URL" in message


def test_torch_source_override_is_a_url_or_an_anchored_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    reg = parse_registry(TEXT, PATH, {ENV_TORCH_SOURCE: "wheels"})
    assert reg.torch.source == str(tmp_path / "wheels") and not reg.torch.is_index
    with pytest.raises(ConfigError) as info:
        parse_registry(TEXT, PATH, {ENV_TORCH_SOURCE: "ftp://mirror/whl/cpu"})
    message = str(info.value)
    assert message.startswith("JUNIPER_TORCH_SOURCE: 'ftp://mirror/whl/cpu' is neither") and "Fix:" in message


def test_unknown_package_via_get() -> None:
    reg = parse_registry(TEXT, PATH, {})
    with pytest.raises(ConfigError) as info:
        reg.get("juniper-nope")
    message = str(info.value)
    assert (
        message.startswith("repos.toml: unknown package 'juniper-nope'") and "Fix: use one of: juniper-data" in message
    )


def test_resolve_workspace_order(tmp_path: Path) -> None:
    option, from_env = tmp_path / "option", tmp_path / "env"
    option.mkdir()
    from_env.mkdir()
    env = {ENV_WORKSPACE: str(from_env)}
    assert resolve_workspace(option, env) == option.resolve()
    assert resolve_workspace(None, env) == from_env.resolve()
    assert resolve_workspace(None, {}) == ROOT.parent


def test_resolve_workspace_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError) as info:
        resolve_workspace(None, {ENV_WORKSPACE: str(tmp_path / "nope")})
    message = str(info.value)
    assert "nope" in message and f"${ENV_WORKSPACE}" in message and "Fix:" in message


def test_missing_checkout_names_the_path_and_invoke_clone(tmp_path: Path) -> None:
    reg = parse_registry(TEXT, PATH, {})
    with pytest.raises(WorkspaceError) as info:
        require_checkout(reg.get("juniper-data"), tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert str(tmp_path / "juniper-data") in message
    assert "Fix: run `invoke clone" in message and "pcalnon/juniper-data" in message


# ----------------------------------------------------------------------------------------------- sub-packages

GROWN_TEXT = (ROOT / "registries" / "grown.toml").read_text(encoding="utf-8")
GROWN_PATH = Path("/somewhere/grown.toml")


def _grown_error(mutate: Any) -> str:
    doc = tomlkit.parse(GROWN_TEXT)
    mutate(doc)
    with pytest.raises(ConfigError) as info:
        parse_registry(tomlkit.dumps(doc), GROWN_PATH, {})
    message = str(info.value)
    assert "\n" not in message and "grown.toml" in message and "Fix:" in message
    return message


def _grown_pkg(doc: Any, name: str) -> Any:
    return next(p for p in doc["package"] if p["name"] == name)


def test_the_grown_registry_parses_with_sub_packages() -> None:
    reg = parse_registry(GROWN_TEXT, GROWN_PATH, {})
    assert len(reg.packages) == 18 and len(reg.repos()) == 8
    tools, ml = reg.get("juniper-ci-tools"), reg.get("juniper-ml")
    assert tools.tag_for("0.8.0") == "juniper-ci-tools-v0.8.0" and ml.tag_for("0.7.1") == "v0.7.1"
    assert tools.checkout(Path("/ws")) == Path("/ws/juniper-ml/juniper-ci-tools")
    assert tools.repo_dir(Path("/ws")) == Path("/ws/juniper-ml")
    assert reg.pathspec(tools) == (":(top)juniper-ci-tools",)
    assert ":(top,exclude)juniper-ci-tools" in reg.pathspec(ml) and reg.pathspec(reg.get("juniper-data")) == ()
    assert reg.workflow_for(tools) == ".github/workflows/publish-ci-tools.yml"
    assert reg.workflow_for(reg.get("juniper-cascor-model")) == ".github/workflows/publish-juniper-cascor-model.yml"


def test_two_packages_in_one_directory() -> None:
    message = _grown_error(lambda d: _grown_pkg(d, "juniper-doc-tools").__setitem__("subdir", "juniper-ci-tools"))
    assert "duplicate package path 'juniper-ml/juniper-ci-tools'" in message


def test_unknown_repo_for_a_shared_checkout() -> None:
    message = _grown_error(lambda d: _grown_pkg(d, "juniper-doc-tools").__setitem__("repo", "pcalnon/juniper-docs"))
    assert "unknown repo 'pcalnon/juniper-docs' for checkout 'juniper-ml'" in message


def test_one_repo_in_two_checkouts() -> None:
    message = _grown_error(lambda d: _grown_pkg(d, "juniper-doc-tools").__setitem__("path", "juniper-docs"))
    assert "duplicate package repo 'pcalnon/juniper-ml' in two checkouts" in message


@pytest.mark.parametrize("fmt", ["juniper-doc-tools", "{name}-{version}-{build}"])
def test_package_tag_format_needs_exactly_a_version_placeholder(fmt: str) -> None:
    message = _grown_error(lambda d: _grown_pkg(d, "juniper-doc-tools").__setitem__("tag_format", fmt))
    assert "package juniper-doc-tools: tag_format" in message and "{version}" in message


def test_colliding_tag_formats_in_one_repo() -> None:
    message = _grown_error(lambda d: _grown_pkg(d, "juniper-doc-tools").__setitem__("tag_format", "v{version}"))
    assert "juniper-doc-tools and juniper-ml share repo" in message and "read each other's tags" in message


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("subdir", "../elsewhere", "subdir '../elsewhere' must be a relative path"),
        ("subdir", "/abs", "subdir '/abs' must be a relative path"),
        ("version_file", "juniper_doc_tools/VERSION", "is not a Python file"),
        ("publish_workflow", "/x.yml", "publish_workflow '/x.yml' must be a relative path"),
    ],
)
def test_bad_sub_package_paths(key: str, value: str, expected: str) -> None:
    assert expected in _grown_error(lambda d: _grown_pkg(d, "juniper-doc-tools").__setitem__(key, value))


def test_registry_path_from_option_env_or_default(tmp_path: Path) -> None:
    from juniper_release.ecosystem.registry import ENV_REGISTRY, load_registry, registry_path

    assert registry_path(None, {}) == DEFAULT_REGISTRY
    grown = ROOT / "registries" / "grown.toml"
    assert registry_path(None, {ENV_REGISTRY: "registries/grown.toml"}).resolve() == grown
    assert registry_path("registries/grown.toml", {ENV_REGISTRY: "nope.toml"}).resolve() == grown
    assert len(load_registry(None, {ENV_REGISTRY: "registries/grown.toml"}).packages) == 18
    with pytest.raises(ConfigError, match=r"registry not found.*--registry"):
        load_registry(None, {ENV_REGISTRY: str(tmp_path / "missing.toml")})
