"""constraints.txt pins every dependency pyproject.toml names, at a version it allows."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def _pins() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not pinned with =="
            pins[canonicalize_name(name)] = Version(version)
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [spec for specs in project["optional-dependencies"].values() for spec in specs]
    return [Requirement(spec) for spec in project["dependencies"] + extras]


def test_every_declared_dependency_is_pinned_within_its_range():
    pins = _pins()
    unpinned = [str(req) for req in _declared() if canonicalize_name(req.name) not in pins]
    outside = [
        f"{req} (pinned {pins[canonicalize_name(req.name)]})"
        for req in _declared()
        if canonicalize_name(req.name) in pins and pins[canonicalize_name(req.name)] not in req.specifier
    ]
    assert unpinned == [], f"run tools/lock.sh: not in constraints.txt: {unpinned}"
    assert outside == [], f"run tools/lock.sh: pins outside pyproject.toml's ranges: {outside}"


def test_the_installed_versions_are_the_pinned_ones():
    """The environment running the tests was installed from the lock (as the README says)."""
    from importlib.metadata import version

    pins = _pins()
    differing = {
        req.name: (version(req.name), str(pins[canonicalize_name(req.name)]))
        for req in _declared()
        if Version(version(req.name)) != pins[canonicalize_name(req.name)]
    }
    assert differing == {}, f"installed ≠ pinned (installed, pinned): {differing}"
