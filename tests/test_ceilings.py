"""Raising a consumer's ceiling: only the upper bound moves (release/ceilings.py)."""

from __future__ import annotations

import pytest
from juniper_release.release.ceilings import ceiling_for, raise_ceiling
from packaging.requirements import Requirement
from packaging.version import Version


@pytest.mark.parametrize(
    ("req", "new", "raised"),
    [
        ("lib>=0.3,<0.5", "0.5.0", "lib>=0.3,<0.6"),
        ("lib<0.5,>=0.3,!=0.3.2", "0.5.0", "lib>=0.3,!=0.3.2,<0.6"),
        ("lib[fast]>=0.3,<=0.4.9; python_version >= '3.11'", "0.5.0", 'lib[fast]>=0.3,<0.6; python_version >= "3.11"'),
        ("lib~=0.4.1", "0.5.0", "lib>=0.4.1,<0.6"),
        ("lib==0.4.*", "0.5.0", "lib>=0.4,<0.6"),
        ("lib>=1.2,<2", "2.0.0", "lib>=1.2,<3"),
        ("lib>=0.3,<0.6", "0.5.0", None),  # already admitted
        ("lib==0.4.0", "0.5.0", None),  # a pin is not a ceiling
        ("lib!=0.5.0", "0.5.0", None),  # nor an exclusion
    ],
)
def test_only_the_ceiling_moves(req, new, raised):
    assert raise_ceiling(Requirement(req), Version(new)) == raised


def test_the_next_breaking_version_is_the_house_rule():
    assert (ceiling_for(Version("0.5.0")), ceiling_for(Version("1.4.2")), ceiling_for(Version("0.5.0rc1"))) == (
        "0.6",
        "2",
        "0.6",
    )
