"""Render children run at a lower priority than the process that serves status reads
(KINORA_RENDER_NICENESS), so two renders on a 2-core machine do not slow the API's answers
(bench/bench_load.py measures the effect; this checks the setting reaches the children)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kinora.config import Settings
from kinora.jobs.children import RenderPool
from tests.conftest import FAST, MODELS_DIR


@pytest.mark.parametrize("niceness", [0, 7])
def test_render_children_run_at_the_configured_niceness(tmp_path: Path, niceness: int) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        models_dir=MODELS_DIR,
        render_niceness=niceness,
        **FAST,  # type: ignore[arg-type]
    )
    pool = RenderPool(settings, size=1)
    try:
        pool.prestart().join(60)
        (pid,) = pool.pids()
        own = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, own + niceness)
    finally:
        pool.close()
