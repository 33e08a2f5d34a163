"""Workers load the SoundFont when they start (settings.warm_up), not on the first render:
the first render child is started at once and warms up before it takes a job."""

from __future__ import annotations

from pathlib import Path

from kinora.config import Settings
from kinora.jobs.worker import warm_up_in_background
from kinora.runtime import build_runtime


def test_workers_load_the_soundfont_in_the_background(tmp_path: Path) -> None:
    runtime = build_runtime(Settings(data_dir=tmp_path / "data", warm_up=True))
    try:
        thread = warm_up_in_background(runtime)
        assert thread is not None and thread.daemon
        thread.join(timeout=60)
        assert not thread.is_alive()
        assert runtime.render_pool is not None
        (child,) = runtime.render_pool.idle()
        assert child.warmed  # loaded in the child: its first render reuses it
    finally:
        runtime.close()


def test_warm_up_can_be_switched_off(tmp_path: Path) -> None:
    runtime = build_runtime(Settings(data_dir=tmp_path / "data", warm_up=False))
    try:
        thread = warm_up_in_background(runtime)
        thread.join(timeout=60)
        assert runtime.render_pool is not None
        (child,) = runtime.render_pool.idle()  # the child is started all the same
        assert not child.warmed  # but loads nothing before its first job
    finally:
        runtime.close()
