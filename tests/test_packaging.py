"""A plain, non-editable ``pip install`` into a fresh venv works: data and migrations ship."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
def test_the_wheel_installs_in_a_fresh_venv_and_runs_from_anywhere(tmp_path):
    wheels = tmp_path / "wheels"
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        wheels,
        ROOT,
        cwd=tmp_path,
    )
    (wheel,) = wheels.glob("shop_alliance-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    # the locked versions (this environment's), so a new release elsewhere cannot fail this test
    frozen = run(sys.executable, "-m", "pip", "freeze", "--exclude-editable", cwd=tmp_path)
    constraints = tmp_path / "constraints.txt"
    constraints.write_text(frozen)
    run(bin_dir / "python", "-m", "pip", "install", "-q", "-c", constraints, wheel, cwd=tmp_path)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("ALLIANCE_", "PYTHON"))}
    alliance = bin_dir / "alliance"
    installed = run(
        bin_dir / "python",
        "-c",
        "import alliance, sys; print(alliance.__file__)",
        cwd=elsewhere,
        env=clean_env,
    )
    assert str(env_dir) in installed  # the installed copy, not this checkout

    run(alliance, "init", ".", cwd=elsewhere, env=clean_env)
    assert "valid" in run(alliance, "check", "alliance.toml", cwd=elsewhere, env=clean_env)
    demo = run(alliance, "demo", "--dir", "demo", cwd=elsewhere, env=clean_env)
    assert "Statement for zhao" in demo and (elsewhere / "demo" / "alliance.db").exists()
