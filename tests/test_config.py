"""The generated signing key: private, and the same for every process that starts together."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from kinora.config import build_settings

_PRINT_KEY = """
import sys, time
from kinora.config import build_settings
settings = build_settings(data_dir=sys.argv[1], secret_key="")
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # start together
print(settings.signing_key().decode())
"""


def test_generated_key_is_owner_only_and_stable(tmp_path: Path) -> None:
    settings = build_settings(data_dir=tmp_path, secret_key="")
    key = settings.signing_key()
    mode = stat.S_IMODE((tmp_path / "secret_key").stat().st_mode)
    assert mode == 0o600
    assert build_settings(data_dir=tmp_path, secret_key="").signing_key() == key
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary files left


def test_processes_starting_together_share_one_key(tmp_path: Path) -> None:
    import time

    start = str(time.time() + 1.5)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _PRINT_KEY, str(tmp_path), start],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(keys) == 1 and keys != {""}
    assert (tmp_path / "secret_key").read_text().strip() in keys


def test_key_without_hard_links_fake_filesystem(tmp_path: Path, monkeypatch) -> None:
    """Some mounts (FUSE, SMB) refuse hard links; the filesystem is faked here."""
    import os

    def no_links(*args: object) -> None:
        raise PermissionError("hard links not supported")

    monkeypatch.setattr(os, "link", no_links)
    key = build_settings(data_dir=tmp_path, secret_key="").signing_key()
    assert len(key) > 20
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert build_settings(data_dir=tmp_path, secret_key="").signing_key() == key
