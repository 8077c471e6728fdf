"""scripts/setup_system.sh as a user without root on a machine that has everything:
it must exit 0 at once and never try apt-get (``make run`` / ``make test`` run it first)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOBODY = 65534


@pytest.fixture
def fake_bin():
    """A folder (readable by nobody) whose apt-get and sudo only log that they were called."""
    folder = Path(tempfile.mkdtemp(prefix="pianoplay-setup-"))
    folder.chmod(0o777)
    for name in ("apt-get", "sudo"):
        tool = folder / name
        tool.write_text(f'#!/bin/sh\necho "{name} $*" >> {folder}/calls.log\nexit 0\n')
        tool.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def test_setup_script_as_non_root_user_finds_installed_packages(fake_bin):
    if os.geteuid() != 0:
        pytest.skip("needs root to run the script as another user")
    # a normal user's PATH: no /sbin (where ldconfig lives)
    path = f"{fake_bin}:/usr/local/bin:/usr/bin:/bin"
    if shutil.which("setpriv"):
        command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                   "bash", "scripts/setup_system.sh"]
    else:
        command = ["su", "-s", "/bin/bash", "nobody", "-c",
                   f"PATH={path} bash scripts/setup_system.sh"]
    env = {"PATH": path, "HOME": "/nonexistent"}
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert not (fake_bin / "calls.log").exists(), (fake_bin / "calls.log").read_text()
