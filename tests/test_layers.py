"""The layers point one way (the import-linter contracts in pyproject.toml, run by `make check`),
and the typed job queue that lets the domain enqueue without importing the jobs that run it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from kinora.config import Settings
from kinora.domain.accounts import create_key
from kinora.domain.webhooks import list_deliveries
from kinora.runtime import Runtime, build_runtime
from tests.conftest import FAST, REPO

LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def lint_imports(*, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = None
    if pythonpath is not None:  # ahead of the installed (editable) package
        env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo", str(REPO / "pyproject.toml")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_imports_keep_the_layers() -> None:
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_backward_import_breaks_the_contract(tmp_path: Path) -> None:
    """The contract is live: a copy of the package whose engine imports the API fails it."""
    copy = tmp_path / "kinora"
    shutil.copytree(
        REPO / "src" / "kinora",
        copy,
        ignore=lambda _, names: [n for n in names if not n.endswith(".py") and "." in n],
    )
    base = copy / "engines" / "base.py"
    base.write_text(base.read_text() + "\nimport kinora.api.deps  # a backward import\n")
    result = lint_imports(pythonpath=tmp_path)
    assert result.returncode != 0, result.stdout
    assert "kinora.engines.base -> kinora.api.deps" in result.stdout


def _runtime(tmp_path: Path, name: str) -> Runtime:
    settings = Settings(data_dir=tmp_path / name, **FAST)  # type: ignore[arg-type]
    runtime = build_runtime(settings)
    runtime.huey.immediate = True  # tasks run on enqueue, in this thread
    return runtime


def test_each_runtime_runs_its_own_tasks(tmp_path: Path) -> None:
    """Tasks are registered per Huey instance with a closure over its runtime: two runtimes in
    one process (as tests make them) never run each other's jobs."""
    one, two = _runtime(tmp_path, "one"), _runtime(tmp_path, "two")
    try:
        customers = {}
        for runtime in (one, two):
            customer = create_key(runtime, name="t", initial_credits=0).customer_id
            customers[id(runtime)] = customer
            payload = {"customer_id": customer, "media_id": "med_x", "status": "success"}
            # A loopback target is refused (not retried): the attempt is only recorded.
            runtime.queue.webhook("msg_1", "http://127.0.0.1:9/hook", payload, attempt=1)
        for runtime in (one, two):
            (record,) = list_deliveries(runtime, customer_id=customers[id(runtime)])
            assert record.outcome == "failed" and "not allowed" in record.error
    finally:
        one.close()
        two.close()


def test_task_names_on_the_wire_stay_the_same(tmp_path: Path) -> None:
    """Huey names a task by module and name: messages queued by an older version still run."""
    runtime = _runtime(tmp_path, "data")
    try:
        names = set(runtime.huey._registry._registry)
        assert names == {
            "kinora.jobs.tasks.render_media",
            "kinora.jobs.tasks.deliver_webhook",
            "kinora.jobs.tasks.make_rendition",
        }
    finally:
        runtime.close()
