"""``uv.lock`` is the lock of exact versions that ``make demo`` and ``make test`` install from;
it must say what ``pyproject.toml`` asks for, or a fresh machine installs something else."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "shop-alliance"
REFRESH = "pyproject.toml and uv.lock disagree: run `make lock` and commit uv.lock"


def declared() -> set[tuple[str, str, str, frozenset[str]]]:
    """Every requirement of pyproject.toml: (name, specifier, marker, extras)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    found = {_key(Requirement(text), None) for text in project["dependencies"]}
    for extra, texts in project["optional-dependencies"].items():
        found |= {_key(Requirement(text), extra) for text in texts}
    return found


def _key(req: Requirement, extra: str | None) -> tuple[str, str, str, frozenset[str]]:
    marker = f"extra == '{extra}'" if extra else str(req.marker or "")
    return (canonicalize_name(req.name), str(req.specifier), marker, frozenset(req.extras))


def lock() -> dict:
    return tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))


def locked_project(packages: list[dict]) -> dict:
    (project,) = [p for p in packages if p["name"] == PROJECT]
    return project


def test_the_lock_was_made_from_this_pyproject() -> None:
    metadata = locked_project(lock()["package"])["metadata"]
    in_lock = {
        (
            canonicalize_name(item["name"]),
            str(Requirement(f"x{item.get('specifier', '')}").specifier),
            item.get("marker", ""),
            frozenset(item.get("extras", ())),
        )
        for item in metadata["requires-dist"]
    }
    assert in_lock == declared(), REFRESH


def test_every_locked_direct_dependency_is_inside_the_range_pyproject_allows() -> None:
    packages = lock()["package"]
    versions = {canonicalize_name(p["name"]): Version(p["version"]) for p in packages}
    for name, specifier, _marker, _extras in declared():
        if name == PROJECT:
            continue
        assert name in versions, f"{name} is not in uv.lock: {REFRESH}"
        spec = Requirement(f"{name}{specifier}").specifier
        assert spec.contains(versions[name], prereleases=True), (
            f"uv.lock pins {name} {versions[name]}, outside {specifier}: {REFRESH}"
        )


def test_every_locked_package_is_pinned_with_hashes() -> None:
    for package in lock()["package"]:
        if package["name"] == PROJECT:
            continue
        files = [*package.get("wheels", ()), *([package["sdist"]] if "sdist" in package else ())]
        hashed = all(f.get("hash", "").startswith("sha256:") for f in files)
        assert files and hashed, f"{package['name']} is locked without hashes: {REFRESH}"
