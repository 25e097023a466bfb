python - <<'PY'
import os
import sys
from pathlib import Path

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

tag, prefix, suffix = os.environ["TAG"], "@TAG_PREFIX@", "@TAG_SUFFIX@"
raw = tag[len(prefix) : len(tag) - len(suffix)] if tag.startswith(prefix) and tag.endswith(suffix) else ""
try:
    tag_version = Version(raw)
except InvalidVersion:
    sys.exit("::error::tag " + repr(tag) + " does not follow '@TAG_FORMAT@'. Fix: tag the release as '@TAG_FORMAT@'")
wheels, sdists = sorted(Path("dist").glob("*.whl")), sorted(Path("dist").glob("*.tar.gz"))
if len(wheels) != 1 or len(sdists) != 1:
    sys.exit(f"::error::expected one wheel and one sdist in dist/, got {[p.name for p in wheels + sdists]}")
name, wheel_version, _, _ = parse_wheel_filename(wheels[0].name)
sdist_name, sdist_version = parse_sdist_filename(sdists[0].name)
if {name, sdist_name} != {canonicalize_name(os.environ["PACKAGE_NAME"])}:
    sys.exit(f"::error::dist/ holds {name} and {sdist_name}, not {os.environ['PACKAGE_NAME']}")
if not wheel_version == sdist_version == tag_version:
    sys.exit(
        f"::error::tag {tag} names {tag_version} but the wheel is {wheel_version} and the sdist {sdist_version}. "
        "Fix: bump the pyproject version to match, or re-tag the release"
    )
with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
    out.write(f"version={wheel_version}\nprerelease={str(wheel_version.is_prerelease).lower()}\n")
    out.write(f"wheel={wheels[0].name}\n")
print(f"tag {tag} == wheel {wheels[0].name} == sdist {sdists[0].name}")
PY
