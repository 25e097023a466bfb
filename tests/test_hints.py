"""Every command a ``Fix:`` hint names works when pasted: it carries the target flags the user gave (--sandbox,
--defects, --workspace, --registry where the task takes it)."""

from __future__ import annotations

import json
import re
import shlex

from conftest import run_task
from juniper_release.errors import remember_target, suggest
from juniper_release.hints import Invocation

COMMAND = re.compile(r"`((?:invoke|nox|juniper-release) [^`]+)`")
SANDBOX = ("--sandbox", "--defects", "missing-workflow")


def test_nothing_given_leaves_the_command_alone():
    remember_target()
    assert suggest("invoke bump --package a --part patch") == "invoke bump --package a --part patch"


def test_sandbox_flags_follow_invoke_and_go_after_the_nox_separator():
    remember_target(sandbox=True, defects="seed")
    assert (
        suggest("invoke bump --package a --part patch")
        == "invoke bump --package a --part patch --sandbox --defects seed"
    )
    nox = Invocation("nox")
    assert remember_target(sandbox=True, defects="seed", invocation=nox).hint('nox -s "verify(a)"') == (
        "nox -s 'verify(a)' -- --sandbox --defects seed"
    )
    assert suggest("nox -s verify-all -- --force") == "nox -s verify-all -- --force --sandbox --defects seed"
    # from invoke or the console script, the same hint names the verify task of the program typed
    remember_target(sandbox=True, invocation=Invocation("juniper-release"))
    assert suggest('nox -s "verify(a)"') == "juniper-release verify --package a --sandbox"


def test_workspace_is_quoted_and_never_doubled_and_the_registry_kept():
    remember_target(workspace="/w s", registry="r.toml")
    assert (
        suggest("invoke release --package a --execute")
        == "invoke release --package a --execute --workspace '/w s' --registry r.toml"
    )
    assert suggest("invoke clone --workspace /x") == "invoke clone --workspace /x --registry r.toml"
    remember_target(workspace="/w s", registry="r.toml", invocation=Invocation("nox"))
    assert (
        suggest("nox -s verify-all")
        == "JUNIPER_REGISTRY=r.toml nox -s verify-all -- --workspace '/w s' --registry r.toml"
    )
    # nox runs only verification: other hints name the console script
    assert suggest("invoke clone --workspace /x") == "juniper-release clone --workspace /x --registry r.toml"
    remember_target(workspace="/w s", registry="r.toml")
    # rehearse takes --registry too (the resume hint of a rehearsal of another registry must keep it)
    assert suggest("invoke rehearse --dir d") == "invoke rehearse --dir d --workspace '/w s' --registry r.toml"


def test_layout_follows_the_sandbox():
    remember_target(sandbox=True, layout="grown")
    assert suggest("invoke status") == "invoke status --sandbox --layout grown"


def test_rehearse_keeps_the_defects_and_sandbox_hints_name_the_read_only_form():
    remember_target(sandbox=True, defects="seed")
    assert suggest("invoke rehearse --resume --dir d") == "invoke rehearse --resume --dir d --sandbox --defects seed"
    assert suggest("invoke workflows --write") == "invoke workflows --check --sandbox --defects seed"
    assert suggest("invoke transfer --to o --execute") == "invoke transfer --to o --sandbox --defects seed"


def _pasted(command: str) -> list[str]:
    return shlex.split(command)[1:]


def test_release_hint_pasted_verifies_and_the_release_then_passes():
    proc = run_task("release", "--package", "juniper-data-client", *SANDBOX)
    assert proc.returncode != 0 and "Fix:" in proc.stderr, proc.stderr
    hinted = COMMAND.findall(proc.stderr)
    assert hinted and all(" --sandbox --defects missing-workflow" in c for c in hinted), hinted
    verify = next(c for c in hinted if c.startswith("invoke verify --package"))
    pasted = run_task(*_pasted(verify))
    assert pasted.returncode == 0, pasted.stdout + pasted.stderr
    again = run_task("release", "--package", "juniper-data-client", *SANDBOX)
    assert again.returncode == 0, again.stderr


def test_check_hints_pasted_keep_the_sandbox():
    proc = run_task("check", "--json", *SANDBOX)
    messages = [f["message"] for f in json.loads(proc.stdout)]
    hinted = [c for m in messages for c in COMMAND.findall(m)]
    assert hinted and all(c.endswith(" --sandbox --defects missing-workflow") for c in hinted), hinted
    for command in sorted(set(hinted)):
        pasted = run_task(*_pasted(command))
        assert "error:" not in pasted.stderr and "No idea what" not in pasted.stderr, (command, pasted.stderr)
        assert "Traceback" not in pasted.stderr
