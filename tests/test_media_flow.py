"""A generation's life: statuses, rising progress, history, reproducible configs."""

from __future__ import annotations

import time
from pathlib import Path

from kinora.engines.base import RenderConfig
from kinora.engines.registry import make_engine
from kinora.pipeline.render import RenderJob, render_all
from kinora.video.encode import read_frames
from tests.conftest import Api


def test_statuses_and_rising_progress(api_factory, testdata: Path) -> None:
    api: Api = api_factory(output_long_side=768, job_lease_seconds=0.6)
    with (testdata / "astronaut.png").open("rb") as f:
        r = api.client.post(
            "/media",
            files=[("image_files", ("astronaut.png", f, "image/png"))],
            data={"duration": "10", "camera_control": "Zoom in"},
            headers=api.headers(),
        )
    assert r.status_code == 200, r.text
    assert r.json()["data"]["processing_status"] == "queue_bullet"
    media_id = r.json()["data"]["id"]
    seen: list[tuple[str, int]] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        data = api.client.get(f"/media/{media_id}/processing-status").json()["data"]
        seen.append((data["processing_status"], int(data["progress_percentage"])))
        if data["processing_status"] in ("success", "fail"):
            break
        time.sleep(0.05)
    statuses = [s for s, _ in seen]
    assert statuses[-1] == "success"
    assert "processing_bullet" in statuses
    progress = [p for s, p in seen if s == "processing_bullet"]
    assert progress == sorted(progress), progress
    assert len(set(progress)) >= 3, progress
    assert seen[-1][1] == 100


def test_history_records_engine_and_reproducible_configs(api: Api, tmp_path: Path) -> None:
    r = api.client.post(
        "/media",
        data={"prompt": "a fox in the snow", "duration": "1", "quantity": "2", "loop": "2"},
        headers=api.headers(),
    )
    media = api.wait(r.json()["data"]["id"])
    assert media["bullet_version"] == "1"
    (entry,) = media["video_history"]
    assert entry["service_name"] == media["service_name"] == "kinora-scene"
    assert entry["resolution"] == [256, 144]
    assert len(entry["service_seeds"]) == 2 and len(set(entry["service_seeds"])) == 2
    assert media["duration_time"] == "2.0"  # 1 s of motion, twice
    # The stored config alone reproduces the first video frame for frame.
    config = RenderConfig.from_dict(entry["engine_config"]["configs"][0])
    engine = make_engine(entry["service_name"], models_dir=api.settings.resolved_models_dir)
    from kinora.engines.base import EngineInputs

    job = RenderJob(
        inputs=EngineInputs(prompt="a fox in the snow"), configs=[config], aspect_ratio="16:9"
    )
    again = render_all(engine=engine, job=job, out_dir=tmp_path)
    served = api.client.get(f"/media/{media['id']}/download", headers=api.headers()).content
    (tmp_path / "served.mp4").write_bytes(served)
    a, b = read_frames(again.videos[0].path), read_frames(tmp_path / "served.mp4")
    assert len(a) == len(b) == 48
    assert all((x == y).all() for x, y in zip(a, b, strict=True))


def test_editing_top_level_audio_fields_replaces_them() -> None:
    from kinora.api.schemas import MediaCreate, MediaUpdate

    create = MediaCreate.model_validate({"prompt": "x", "narration": "old", "narrator": "Rachel"})
    base = create.to_spec()
    assert base.audio.model_dump(exclude_none=True) == {"narration": "old", "narrator": "Rachel"}
    edit = MediaUpdate.model_validate({"narration": "new words", "narrator": "Aria"})
    assert edit.regenerates
    spec = edit.apply_to(base)
    assert spec.audio.model_dump(exclude_none=True) == {
        "narration": "new words",
        "narrator": "Aria",
    }
    assert spec.prompt == "x" and spec.seeds != base.seeds


def test_second_input_failing_to_store_leaves_nothing_fake_full_disk(
    api: Api, testdata: Path, monkeypatch
) -> None:
    """The disk fills up between a create's two images (the disk is faked, it lies outside the
    project): a clear 503, nothing charged, and no stray copy of the first image."""
    import errno

    storage = api.runtime.storage
    real_put = storage.put_bytes
    calls = []

    def put_bytes(key: str, data: bytes) -> None:
        calls.append(key)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_put(key, data)

    monkeypatch.setattr(storage, "put_bytes", put_bytes)
    before = api.credits()
    files = [
        ("image_files", ("a.png", (testdata / "chelsea.png").read_bytes(), "image/png")),
        ("image_files", ("b.png", (testdata / "coffee.png").read_bytes(), "image/png")),
    ]
    r = api.client.post("/media", files=files, headers=api.headers())
    assert r.status_code == 503 and r.json()["message"] == "STORAGE_UNAVAILABLE", r.text
    assert len(calls) == 2
    assert api.credits() == before
    assert not any(storage.exists(key) for key in calls)
    media_dir = api.runtime.settings.media_dir
    assert not media_dir.exists() or not any(p.is_file() for p in media_dir.rglob("*"))
