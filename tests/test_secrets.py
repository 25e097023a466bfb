"""The secrets policy: names, content patterns, encrypted formats, redaction, and one verdict for check and build."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest
from juniper_release import secrets
from juniper_release.commands import run
from juniper_release.ecosystem.checks import check_secrets
from juniper_release.ecosystem.project import read_project
from juniper_release.errors import CommandError
from juniper_release.gitops import Git
from juniper_release.secrets import SecretHit, encryption, redact, register_secret, scan
from juniper_release.verify.build import BuildError, inspect_wheel, scan_secrets

PYPI_TOKEN = "pypi-AgE" + "A1b2C3d4A1b2C"  # the shortest PyPI token shape (a macaroon: 16 characters after "pypi-")
GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5" * 2  # the shortest GitHub token shape (20)
PAT = "github_pat_" + "A1b2C3d4E5" * 2
RSA_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n"
ENC = "ENC[AES256_GCM,data:Zm9vYmFyYmF6,iv:aXZpdml2aXZpdml2aXZpdml2aXZpdml2aXY=,tag:dGFndGFndGFndGFndGFndA==,type:str]"
ENC_INT = ENC.replace("type:str", "type:int")

# --------------------------------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("path", "what"),
    [
        (".env", "an environment file"),
        ("deploy/.env.production", "an environment file"),
        (".pypirc", "a .pypirc (index credentials)"),
        ("home/.netrc", "a .netrc (login credentials)"),
        ("id_rsa", "an SSH private key"),
        ("keys/id_dsa", "an SSH private key"),
        ("id_ecdsa", "an SSH private key"),
        ("id_ed25519", "an SSH private key"),
        ("tls/server.pem", "a key or certificate file"),
        ("tls/server.key", "a key or certificate file"),
        ("client.p12", "a key or certificate file"),
        ("client.pfx", "a key or certificate file"),
    ],
)
def test_secret_file_names(path, what):
    assert scan(path, b"") == [SecretHit(what)]


@pytest.mark.parametrize(
    "path", [".env.example", ".env.sample", ".env.template", ".env.dist", "id_rsa.pub", "env.py", "keys.md", "a.envrc"]
)
def test_templates_and_lookalikes_are_not_secret_names(path):
    assert scan(path, b"X=\n") == []


def test_every_secret_file_glob_is_covered_by_a_name_test():
    covered = {".env", ".env.*", ".pypirc", ".netrc", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"}
    covered |= {"*.pem", "*.key", "*.p12", "*.pfx"}
    assert {glob for glob, _ in secrets.SECRET_FILES} == covered


# --------------------------------------------------------------------------------------------------- contents


@pytest.mark.parametrize(
    ("text", "what", "line"),
    [
        (f"TOKEN = '{PYPI_TOKEN}'\n", "a PyPI API token", 1),
        (f"x\ny = {GITHUB_TOKEN}\n", "a GitHub token", 2),
        (f"x\ny\nz = {PAT}\n", "a GitHub token", 3),
        (RSA_KEY, "a private key", 1),
        ("\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n", "a private key", 2),
        ("-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOY\n", "a private key", 1),
        ("-----BEGIN PRIVATE KEY-----\nMIIE\n", "a private key", 1),
    ],
)
def test_content_patterns_report_the_kind_and_line(text, what, line):
    assert scan("notes.txt", text.encode()) == [SecretHit(what, line)]


@pytest.mark.parametrize(
    "text",
    [
        PYPI_TOKEN[:-1],  # one character short of the shortest token
        GITHUB_TOKEN[:-1],
        PAT[:-1],
        "-----BEGIN PUBLIC KEY-----\nMIIB\n",
        "see https://pypi.org/project/juniper-data/ and pypa/gh-action-pypi-publish@release/v1",
        "see notes/pypi-publish-procedure-and-account-setup.md",  # a file name, not a token
        "password = pypi-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",  # a placeholder in the real docs
        "password = pypi-YOUR_TESTPYPI_TOKEN_GOES_HERE",
    ],
)
def test_content_below_the_minimum_length_or_public_is_not_a_secret(text):
    assert scan("notes.txt", text.encode()) == []


def test_the_line_of_a_content_hit_and_one_hit_per_kind():
    text = f"a\nb\n{GITHUB_TOKEN}\n{PAT}\n{PYPI_TOKEN}\n"
    hits = scan("notes.txt", text.encode())
    assert hits == [SecretHit("a PyPI API token", 5), SecretHit("a GitHub token", 3)]
    assert secrets.describe(hits) == "a PyPI API token (line 5) and a GitHub token (line 3)"


def test_a_secret_name_and_content_are_both_reported():
    assert secrets.describe(scan("deploy/id_rsa", RSA_KEY.encode())) == "an SSH private key and a private key (line 1)"


def test_binary_files_are_scanned_too():
    assert [h.what for h in scan("blob.bin", b"\x00\x01" + PYPI_TOKEN.encode() + b"\xff")] == ["a PyPI API token"]


def test_only_the_first_scan_limit_bytes_are_searched():
    late = b"x" * secrets.SCAN_LIMIT + PYPI_TOKEN.encode()
    assert scan("big.txt", late) == []


# --------------------------------------------------------------------------------------------------- encryption

SOPS_DOTENV = (
    f"API_KEY={ENC}\nDB_PASSWORD={ENC}\n"
    "sops_age__list_0__map_recipient=age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n"
    f"sops_lastmodified=2024-05-01T10:00:00Z\nsops_mac={ENC}\nsops_version=3.8.1\n"
)
SOPS_YAML = f"""db:
    password: {ENC}
    port: {ENC_INT}
users:
    - {ENC}
sops:
    age:
        - recipient: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
          enc: |
            -----BEGIN AGE ENCRYPTED FILE-----
            YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOQ==
            -----END AGE ENCRYPTED FILE-----
    lastmodified: "2024-05-01T10:00:00Z"
    mac: {ENC}
    version: 3.8.1
"""
SOPS_JSON = f'{{\n\t"password": "{ENC}",\n\t"nested": {{"list": ["{ENC}"]}},\n\t"sops": {{"mac": "{ENC}", "version": "3.8.1"}}\n}}\n'
SOPS_INI = f"[database]\npassword = {ENC}\n\n[sops]\nmac = {ENC}\nversion = 3.8.1\n"
AGE_ARMORED = (
    "-----BEGIN AGE ENCRYPTED FILE-----\n"
    "YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBhYmNkZWZnaGlqa2xtbm9w\n"
    "cXJzdHV2d3h5ejAxMjM0NTY3ODk=\n"
    "-----END AGE ENCRYPTED FILE-----\n"
)
AGE_BINARY = b"age-encryption.org/v1\n-> X25519 abcdefghijklmnop\nqrstuvwxyz\n--- 0123456789abcdef\n" + os.urandom(64)
GIT_CRYPT = b"\x00GITCRYPT\x00" + os.urandom(64)
VAULT = "$ANSIBLE_VAULT;1.1;AES256\n" + "6162636465666768696a6b6c6d6e6f70" * 2 + "\n3132333435363738\n"

ENCRYPTED = {
    "sops-dotenv": ("sops", SOPS_DOTENV.encode()),
    "sops-yaml": ("sops", SOPS_YAML.encode()),
    "sops-json": ("sops", SOPS_JSON.encode()),
    "sops-ini": ("sops", SOPS_INI.encode()),
    "age-armored": ("age", AGE_ARMORED.encode()),
    "age-binary": ("age", AGE_BINARY),
    "git-crypt": ("git-crypt", GIT_CRYPT),
    "ansible-vault": ("ansible-vault", VAULT.encode()),
}


@pytest.mark.parametrize("name", [".env", ".env.enc", "secrets/prod.key", "id_ed25519"])
@pytest.mark.parametrize("case", sorted(ENCRYPTED))
def test_entirely_encrypted_files_are_safe_whatever_their_name(case, name):
    fmt, data = ENCRYPTED[case]
    assert encryption(data) == fmt
    assert scan(name, data) == []


PARTLY_PLAIN = {
    "age-armor-then-plaintext": AGE_ARMORED + "DB_PASSWORD=hunter2\n",
    "age-armor-without-end": AGE_ARMORED.replace("-----END AGE ENCRYPTED FILE-----\n", "DB_PASSWORD=hunter2\n"),
    "vault-header-then-plaintext": "$ANSIBLE_VAULT;1.1;AES256\nDB_PASSWORD=hunter2\n",
    "sops-dotenv-with-a-plaintext-value": SOPS_DOTENV + "DB_HOST=db.internal\n",
    "sops-values-without-metadata": f"API_KEY={ENC}\n",
    "sops-yaml-with-a-plaintext-leaf": SOPS_YAML.replace(f"port: {ENC_INT}", "port: 5432"),
    "sops-json-with-a-plaintext-leaf": SOPS_JSON.replace(f'"list": ["{ENC}"]', '"list": ["hunter2"]'),
    "sops-ini-with-a-plaintext-value": SOPS_INI.replace("[sops]", "user = admin\n[sops]"),
    "sops-yaml-unparsable": SOPS_YAML + "  : : [\n",
    "git-crypt-header-not-first": "x\x00GITCRYPT\x00 DB_PASSWORD=hunter2\n",
    "plaintext": "DB_PASSWORD=hunter2\n",
}


@pytest.mark.parametrize("case", sorted(PARTLY_PLAIN))
def test_plaintext_or_partly_encrypted_env_files_are_errors(case):
    data = PARTLY_PLAIN[case].encode("latin-1")
    assert encryption(data) is None
    assert scan(".env", data) == [SecretHit("an environment file")]
    assert scan(".env.enc", data) == [SecretHit("an environment file")]


def test_a_plaintext_token_in_a_sops_file_is_still_reported():
    data = (SOPS_DOTENV + f"# rotated: {PYPI_TOKEN}\n").encode()
    assert encryption(data) == "sops"
    assert scan(".env", data) == [SecretHit("a PyPI API token", 7)]


# --------------------------------------------------------------------------------------------------- redaction


def test_redacts_secret_environment_values():
    env = {"TWINE_PASSWORD": "hunter2-but-longer", "GH_TOKEN": "abc", "HOME": "/home/me"}
    assert redact("login hunter2-but-longer at /home/me", env) == "login *** at /home/me"
    assert redact("abc stays: shorter than four characters", env) == "abc stays: shorter than four characters"
    for var in secrets.SECRET_ENV_VARS:
        assert redact(f"value=zz-{var}-zz", {var: f"zz-{var}-zz"}) == "value=***"


def test_redacts_registered_secrets_everywhere():
    register_secret("registered-s3cr3t-for-test-secrets")
    register_secret("abc")  # too short to be worth redacting: ignored
    register_secret(None)
    assert redact("x registered-s3cr3t-for-test-secrets y", {}) == "x *** y"
    assert redact("abc", {}) == "abc"


def test_redacts_token_shapes_and_url_credentials():
    text = f"{PYPI_TOKEN} {GITHUB_TOKEN} {PAT} https://maintainer:pa55word@example.org/simple/ git@github.com:o/r"
    assert redact(text, {}) == "*** *** *** https://maintainer:***@example.org/simple/ git@github.com:o/r"


def test_failed_commands_are_redacted(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "env-token-value-1234")
    with pytest.raises(CommandError) as exc:
        run(["sh", "-c", "echo env-token-value-1234 https://u:pw@h/x >&2; exit 3"])
    assert "env-token-value-1234" not in str(exc.value) and "pw@" not in str(exc.value)
    assert "*** https://u:***@h/x" in str(exc.value)


# --------------------------------------------------------------------------------------------------- check == build

PKG = "juniper-cascor-client"
MODULE = "juniper_cascor_client"

AGREEMENT = {
    ".netrc": (".netrc", b"machine pypi.org login __token__ password x\n"),
    "key-file": ("tls.key", b"not even a key\n"),
    ".env": (".env", b"X=1\n"),
    ".env.production": (".env.production", b"X=1\n"),
    "ssh-key": ("id_ed25519", b"\n"),
    "pypirc": (".pypirc", b"[pypi]\n"),
    "pypi-token": ("config.py", f"T = '{PYPI_TOKEN}'\n".encode()),
    "github-token": ("notes.txt", f"{GITHUB_TOKEN}\n".encode()),
    "private-key": ("id.txt", RSA_KEY.encode()),
}
SAFE = {
    "env-template": (".env.example", b"X=\n"),
    "sops-env": (".env", SOPS_DOTENV.encode()),
    "age-env-enc": (".env.enc", AGE_ARMORED.encode()),
    "git-crypt-key": ("tls.key", GIT_CRYPT),
    "vault-netrc": (".netrc", VAULT.encode()),
    "short-token": ("config.py", f"T = '{PYPI_TOKEN[:-1]}'\n".encode()),
}


def _checkout(tmp_path: Path, name: str, data: bytes) -> Path:
    root = tmp_path / "checkout"
    (root / MODULE).mkdir(parents=True)
    (root / "pyproject.toml").write_text(f'[project]\nname = "{PKG}"\nversion = "0.4.0"\n', encoding="utf-8")
    (root / MODULE / "__init__.py").write_text("", encoding="utf-8")
    (root / MODULE / name).write_bytes(data)
    git = Git(root)
    git.run("init", "-q")
    git.run("add", "-A")
    git.run("commit", "-q", "-m", "init")
    return root


def _artifacts(tmp_path: Path, name: str, data: bytes) -> tuple[Path, Path]:
    wheel = tmp_path / f"{MODULE}-0.4.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(f"{MODULE}/__init__.py", "")
        zf.writestr(f"{MODULE}/{name}", data)
        zf.writestr(f"{MODULE}-0.4.0.dist-info/METADATA", f"Metadata-Version: 2.4\nName: {PKG}\nVersion: 0.4.0\n\n")
    sdist = tmp_path / f"{MODULE}-0.4.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tf:
        info = tarfile.TarInfo(f"{MODULE}-0.4.0/{MODULE}/{name}")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return wheel, sdist


def _verdicts(tmp_path: Path, registry, name: str, data: bytes) -> tuple[list[str], list[str], list[str], str | None]:
    """What check, the sdist scan, the wheel scan and inspect_wheel say about one file."""
    root = _checkout(tmp_path, name, data)
    pkg = registry.get(PKG)
    project = read_project(pkg, root)
    checked = [f.message for f in check_secrets(pkg, project)]
    wheel, sdist = _artifacts(tmp_path, name, data)
    try:
        inspect_wheel(wheel, pkg, project)
        inspected = None
    except BuildError as exc:
        inspected = str(exc)
    return checked, scan_secrets(sdist), scan_secrets(wheel), inspected


@pytest.mark.parametrize("case", sorted(AGREEMENT))
def test_check_and_build_flag_the_same_file_for_the_same_reason(tmp_path, registry, case):
    name, data = AGREEMENT[case]
    rel = f"{MODULE}/{name}"
    checked, in_sdist, in_wheel, inspected = _verdicts(tmp_path, registry, name, data)
    why = secrets.describe(scan(rel, data))
    assert why
    assert checked == [
        f"tracked file {rel} holds {why}. Fix: `git rm --cached {rel}`, add it to .gitignore, revoke the credential, "
        "and purge it from history"
    ]
    assert in_sdist == in_wheel == [f"{rel}: {why}"]
    assert inspected is not None and f"the wheel contains secrets: {rel}: {why}" in inspected
    assert PYPI_TOKEN not in inspected and all(PYPI_TOKEN not in m for m in checked)


@pytest.mark.parametrize("case", sorted(SAFE))
def test_check_and_build_pass_the_same_safe_file(tmp_path, registry, case):
    name, data = SAFE[case]
    assert _verdicts(tmp_path, registry, name, data) == ([], [], [], None)
