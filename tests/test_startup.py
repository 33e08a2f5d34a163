"""Starting a server or worker: models beside the install, not the data; settings checked at
start (a routing typo or a missing model stops `kinora serve` and `kinora worker` at once)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from kinora.api.app import create_app
from kinora.config import Settings, default_models_dir
from kinora.domain.accounts import create_key
from kinora.engines.base import ModelFile
from kinora.engines.parallax.engine import ParallaxEngine
from kinora.engines.parallax.segment import ISNET_FILENAME
from kinora.engines.preflight import (
    Severity,
    engine_report,
    file_problem,
    preflight,
    refuses_start,
    write_record,
)
from kinora.engines.scene.engine import SceneEngine
from kinora.engines.scene.vocabulary import ICONS_FILENAME
from tests.conftest import FAST, KINORA, MODELS_DIR, free_port, kinora_env, launch_server

START_TIMEOUT = 60


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A command that must stop by itself (it refuses to start)."""
    return subprocess.run(
        [KINORA, *args], env=env, capture_output=True, text=True, timeout=START_TIMEOUT
    )


def _serve_args(data_dir: Path) -> list[str]:
    return ["serve", "--port", str(free_port()), "--data-dir", str(data_dir)]


# --- the installed models serve any data dir -----------------------------------------------


def test_default_models_dir_is_the_installation_s_and_make_install_filled_it() -> None:
    settings = Settings(data_dir=Path("/nonexistent/data"), models_dir=None)
    assert settings.resolved_models_dir == default_models_dir().resolve()
    assert not settings.resolved_models_dir.is_relative_to(settings.data_dir)
    installed = default_models_dir()
    for name in (ISNET_FILENAME, ICONS_FILENAME):
        assert file_problem(installed / name) == "", f"{installed / name}: run `make install`"
        assert (installed / f"{name}.record.json").is_file()  # the checksum install records


def test_an_empty_data_dir_renders_text_and_one_image_with_the_installed_models(
    tmp_path: Path, testdata: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KINORA_MODELS_DIR", raising=False)
    data_dir = tmp_path / "fresh"  # nothing in it: no models folder
    settings = Settings(data_dir=data_dir, **FAST)  # type: ignore[arg-type]
    assert settings.models_dir is None
    assert settings.resolved_models_dir == default_models_dir().resolve()
    with TestClient(create_app(settings, workers=1)) as client:
        key = create_key(client.app.state.runtime, name="t", initial_credits=100).key  # type: ignore[attr-defined]
        headers = {"X-Api-Key": key}
        text = client.post(
            "/media", data={"prompt": "a cat on a hill", "duration": "1"}, headers=headers
        )
        assert text.status_code == 200, text.text
        with (testdata / "astronaut.png").open("rb") as f:
            image = client.post(
                "/media",
                files=[("image_files", ("astronaut.png", f, "image/png"))],
                data={"duration": "1"},
                headers=headers,
            )
        assert image.status_code == 200, image.text
        done: dict[str, dict[str, object]] = {}
        deadline = time.monotonic() + 180
        ids = [text.json()["data"]["id"], image.json()["data"]["id"]]
        while len(done) < 2 and time.monotonic() < deadline:
            for media_id in ids:
                got = client.get(f"/media/{media_id}", headers=headers).json()["data"]
                if got["processing_status"] in ("success", "fail"):
                    done[media_id] = got
            time.sleep(0.1)
        text_media, image_media = done[ids[0]], done[ids[1]]
        assert text_media["processing_status"] == "success", text_media
        assert text_media["service_name"] == "kinora-scene"
        assert image_media["processing_status"] == "success", image_media
        assert image_media["service_name"] == "kinora-parallax"
        assert "isnet-medium" in str(image_media["service_version"])  # not the GrabCut fallback
        assert not (data_dir / "models").exists()


# --- /health says what each engine runs on -----------------------------------------------------


def test_health_reports_the_engines_and_keeps_its_fields(api_factory) -> None:
    api = api_factory(engine_routes="KlingAI=replicate:kwaivgi/kling-v2.1")
    body = api.client.get("/health").json()
    for name in ("status", "queued", "processing", "queue_depth", "oldest_queued_seconds"):
        assert name in body
    assert body["status"] == "ok" and isinstance(body["workers"], list)
    engines = body["engines"]
    assert engines["kinora-parallax"]["models"] == "ok"
    assert engines["kinora-parallax"]["segmentation"] == "isnet"
    assert "isnet-medium" in engines["kinora-parallax"]["version"]
    assert engines["kinora-scene"]["models"] == "ok"
    assert engines["kinora-morph"]["models"] == "ok"
    assert engines["replicate"]["models"] == "ok"  # routed: enabled too (no model files)


def test_health_reports_missing_models_of_a_degraded_app(api_factory, tmp_path: Path) -> None:
    empty = tmp_path / "no-models"
    empty.mkdir()
    engines = api_factory(models_dir=empty).client.get("/health").json()["engines"]
    parallax = engines["kinora-parallax"]
    assert parallax["segmentation"] == "grabcut"
    assert parallax["models"].startswith("missing: ") and ISNET_FILENAME in parallax["models"]
    assert ICONS_FILENAME in engines["kinora-scene"]["models"]
    assert engines["kinora-morph"]["models"] == "ok"


# --- a missing model stops serve and worker, unless degraded operation is allowed --------------


def test_serve_and_worker_refuse_to_start_without_a_model(tmp_path: Path) -> None:
    empty = tmp_path / "no-models"
    empty.mkdir()
    env = kinora_env(tmp_path / "data", KINORA_MODELS_DIR=str(empty))
    for args in (_serve_args(tmp_path / "data"), ["worker", "--data-dir", str(tmp_path / "data")]):
        started = time.monotonic()
        out = _run(args, env)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert time.monotonic() - started < START_TIMEOUT
        message = out.stderr
        assert str(empty / ISNET_FILENAME) in message, message
        assert str(empty / ICONS_FILENAME) in message, message
        assert "make install" in message and "KINORA_ALLOW_DEGRADED=true" in message
        assert "Traceback" not in message


def test_an_api_without_workers_needs_no_models(tmp_path: Path) -> None:
    """`serve --workers 0` renders nothing: the models are the workers' business."""
    empty = tmp_path / "no-models"
    empty.mkdir()
    server = launch_server(tmp_path / "data", workers=0, KINORA_MODELS_DIR=str(empty))
    try:
        assert httpx.get(f"{server.base_url}/health", timeout=5).json()["status"] == "ok"
    finally:
        server.stop()


def test_degraded_operation_is_allowed_explicitly(tmp_path: Path) -> None:
    empty = tmp_path / "no-models"
    empty.mkdir()
    data_dir = tmp_path / "data"
    server = launch_server(data_dir, KINORA_MODELS_DIR=str(empty), KINORA_ALLOW_DEGRADED="true")
    try:
        engines = httpx.get(f"{server.base_url}/health", timeout=5).json()["engines"]
        assert engines["kinora-parallax"]["segmentation"] == "grabcut"
        assert engines["kinora-scene"]["models"].startswith("missing: ")
    finally:
        server.stop()
    log = (data_dir / "server.log").read_text()
    assert "warning (KINORA_ALLOW_DEGRADED)" in log and ISNET_FILENAME in log

    env = kinora_env(data_dir, KINORA_MODELS_DIR=str(empty), KINORA_ALLOW_DEGRADED="true")
    worker = subprocess.Popen(
        [KINORA, "worker", "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stderr is not None
        said = [worker.stderr.readline() for _ in range(3)]  # the first thing it says
        assert any("warning (KINORA_ALLOW_DEGRADED)" in line for line in said), said
        time.sleep(1.0)
        assert worker.poll() is None  # it runs
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


# --- a routing typo stops them at once, naming it ----------------------------------------------


@pytest.mark.parametrize(
    ("routes", "named"),
    [
        ("Klingg=replicate:x", "'Klingg'"),  # no such motion_type (the settings say so)
        ("KlingAI=replicat:kwaivgi/kling-v2.1", "'replicat'"),  # no such engine (preflight)
    ],
)
def test_a_routing_typo_stops_serve_and_worker(tmp_path: Path, routes: str, named: str) -> None:
    env = kinora_env(tmp_path / "data", KINORA_ENGINE_ROUTES=routes)
    for args in (_serve_args(tmp_path / "data"), ["worker", "--data-dir", str(tmp_path / "data")]):
        out = _run(args, env)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert named in out.stderr and "KINORA_ENGINE_ROUTES" in out.stderr, out.stderr
        assert "Traceback" not in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr  # one clear line
    assert not (tmp_path / "data" / "kinora.db").exists()  # stopped before touching anything


def test_other_bad_settings_stop_serve_in_one_line(tmp_path: Path) -> None:
    env = kinora_env(
        tmp_path / "data",
        KINORA_PROVIDER_BASE_URLS="replicate=ftp://127.0.0.1:9",
        KINORA_WEBHOOK_RETRY_DELAYS="5,soon",
    )
    out = _run(_serve_args(tmp_path / "data"), env)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 2, out.stderr
    assert "KINORA_PROVIDER_BASE_URLS" in lines[0] and "ftp://" in lines[0]
    assert "KINORA_WEBHOOK_RETRY_DELAYS" in lines[1] and "'soon'" in lines[1]


# --- the preflight and its file checks ---------------------------------------------------------


def _settings(tmp_path: Path, models: Path, **extra: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", models_dir=models, **extra)  # type: ignore[arg-type]


def test_engines_declare_their_model_files(tmp_path: Path) -> None:
    (isnet,) = ParallaxEngine.model_files(tmp_path)
    (icons,) = SceneEngine.model_files(tmp_path)
    assert isinstance(isnet, ModelFile) and isnet.path == tmp_path / ISNET_FILENAME
    assert icons.path == tmp_path / ICONS_FILENAME
    assert "make install" in isnet.fix and "GrabCut" in isnet.fix
    assert "make install" in icons.fix and "@iconify-json/fluent-emoji-flat" in icons.fix


def test_the_installed_models_pass_the_preflight(tmp_path: Path) -> None:
    settings = _settings(tmp_path, MODELS_DIR)
    assert preflight(settings) == []
    report = engine_report(settings)
    assert {"kinora-parallax", "kinora-morph", "kinora-scene"} <= set(report)


def test_invalid_model_files_are_problems(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / ISNET_FILENAME).write_bytes(b"")
    (models / ICONS_FILENAME).write_text('{"icons": ', encoding="utf-8")
    problems = preflight(_settings(tmp_path, models))
    assert {p.severity for p in problems} == {Severity.MODEL}
    by_file = {p.path.name: p for p in problems if p.path is not None}
    assert "invalid (empty)" in str(by_file[ISNET_FILENAME])
    assert "not valid JSON" in str(by_file[ICONS_FILENAME])
    # one problem per file, naming every engine that needs it
    assert len(by_file) == len(problems)
    assert "kinora-parallax" in by_file[ISNET_FILENAME].engine
    assert "kinora-tryon" in by_file[ISNET_FILENAME].engine
    # the rest: the face and pose models the people engines need, missing here
    assert all(
        p.path.suffix == ".tflite"
        for p in problems
        if p.path not in (models / ISNET_FILENAME, models / ICONS_FILENAME)
    )
    (models / ISNET_FILENAME).write_bytes(b"<html>not found</html>")
    assert file_problem(models / ISNET_FILENAME) == "not an ONNX model"
    assert refuses_start(problems, _settings(tmp_path, models))
    assert not refuses_start(problems, _settings(tmp_path, models, allow_degraded=True))


def test_a_file_changed_after_install_fails_its_recorded_checksum(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    path = models / ICONS_FILENAME
    path.write_text(json.dumps({"icons": {"cat": {"body": "<g/>"}}}), encoding="utf-8")
    write_record(path)
    assert file_problem(path) == ""
    # Same size, other bytes, later time: only the checksum can tell.
    text = path.read_text(encoding="utf-8").replace("cat", "dog")
    path.write_text(text, encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert "SHA-256" in file_problem(path)
    assert file_problem(path, thorough=False) == ""  # /health: size only
    path.write_text(text + " ", encoding="utf-8")
    assert "were installed" in file_problem(path, thorough=False)


def test_unknown_routed_engines_are_fatal_and_unusable_targets_warnings(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path, MODELS_DIR, engine_routes="KlingAI=replicat:x,RunwayML=runway:gen4_turbo"
    )
    problems = preflight(settings)
    assert [p.severity for p in problems] == [Severity.FATAL, Severity.WARNING]
    assert "'replicat'" in str(problems[0]) and "KlingAI=replicat:x" in str(problems[0])
    assert "KINORA_RUNWAY_API_KEY" in str(problems[1])
    assert refuses_start(problems, _settings(tmp_path, MODELS_DIR, allow_degraded=True))
    assert "runway" in engine_report(settings)
