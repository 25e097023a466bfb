"$RUNNER_TEMP/verify/bin/python" -m pip check
python - <<'PY'
import json
import os
import subprocess
import sys

from packaging.version import InvalidVersion, Version

expected = Version(os.environ["VERSION"])
probe = (
    "import importlib, importlib.metadata, json, sys; "
    "mods = {m: getattr(importlib.import_module(m), '__version__', None) for m in sys.argv[2:]}; "
    "print(json.dumps({'dist': importlib.metadata.version(sys.argv[1]), 'modules': mods}))"
)
python = os.path.join(os.environ["RUNNER_TEMP"], "verify", "bin", "python")
names = os.environ["IMPORT_NAMES"].split()
found = json.loads(subprocess.run([python, "-c", probe, os.environ["PACKAGE_NAME"], *names], check=True, capture_output=True, text=True).stdout)
problems = [] if Version(found["dist"]) == expected else [f"installed distribution is {found['dist']}"]
for module, version in found["modules"].items():
    try:
        if Version(version) == expected:
            continue
    except (InvalidVersion, TypeError):
        pass
    problems.append(f"{module}.__version__ is {version!r}")
if problems:
    sys.exit(f"::error::expected {expected}: " + "; ".join(problems) + ". Fix: sync __version__ with pyproject and re-release")
print(f"{os.environ['PACKAGE_NAME']} {expected}: distribution and {names or 'no modules (meta-package)'} agree")
PY
