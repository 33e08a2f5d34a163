"""One typed path from request to engine: every field is used by the planner, honoured by an
engine, recorded as not honoured (with the reason) or refused with a 422 before any charge."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from kinora.domain.requests import (
    GENERATION_FIELDS,
    INDIRECT_FIELDS,
    RECORD_FIELDS,
    MediaCreate,
    MediaFields,
    MediaUpdate,
    spec_field_names,
)
from kinora.engines.base import ENGINE_FIELDS
from kinora.engines.registry import engine_classes
from kinora.pipeline.plan import NOT_YET_HONOURED, PLANNER_FIELDS, SPEC_TO_ENGINE_FIELD
from kinora.spec import GenerationSpec
from tests.conftest import KINORA, Api, kinora_env


def honoured_somewhere() -> set[str]:
    fields: set[str] = set()
    for cls in engine_classes().values():
        fields |= cls.info.reachable
    return fields


def test_every_spec_field_is_planned_or_honoured() -> None:
    """Fails when a spec field is added (or a table entry removed) without anything that uses
    it: the planner's table, an engine's honours, or a declared refusal/record."""
    honoured = honoured_somewhere()
    for name in GenerationSpec.model_fields:
        if name in PLANNER_FIELDS:
            continue
        engine_field = SPEC_TO_ENGINE_FIELD.get(name)
        assert engine_field is not None, f"spec field {name!r}: neither planned nor engine-used"
        assert engine_field in ENGINE_FIELDS
        assert engine_field in honoured or name in NOT_YET_HONOURED, (
            f"spec field {name!r}: no engine honours it and it is not declared as refused or "
            "recorded"
        )
    assert set(PLANNER_FIELDS) | set(SPEC_TO_ENGINE_FIELD) == set(GenerationSpec.model_fields)
    assert "seed" in honoured  # the seeds reach engines as RenderConfig.seed


def test_every_request_field_reaches_the_spec_or_the_record() -> None:
    """A request field is a record field, copied into a spec field, or folded in by name."""
    spec_fields = set(GenerationSpec.model_fields)
    for name in set(MediaFields.model_fields) | set(MediaCreate.model_fields):
        if name in RECORD_FIELDS:
            continue
        targets = spec_field_names(name)
        assert targets, f"request field {name!r} reaches no spec field"
        assert set(targets) <= spec_fields, (name, targets)
    assert set(INDIRECT_FIELDS) <= set(MediaCreate.model_fields)
    assert set(MediaUpdate.model_fields) >= set(MediaFields.model_fields)
    assert GENERATION_FIELDS.isdisjoint(RECORD_FIELDS)


def test_built_in_engine_records_what_it_does_not_honour(api: Api, testdata: Path) -> None:
    files = [("image_files", ("a.jpg", (testdata / "astronaut.png").read_bytes(), "image/png"))]
    r = api.client.post(
        "/media",
        data={
            "negative_prompt": "blurry, extra fingers",
            "duration": "1",
            "camera_control": "Zoom in",
        },
        files=files,
        headers=api.headers(),
    )
    assert r.status_code == 200, r.text
    done = api.wait(r.json()["data"]["id"])
    assert done["processing_status"] == "success", done["error"]
    entry = done["video_history"][-1]
    ignored = {item["field"]: item["reason"] for item in entry["ignored"]}
    assert "kinora-parallax" in ignored["negative_prompt"]
    assert "camera_control" not in ignored  # the one-image engine moves its camera
    assert entry["spec"]["negative_prompt"] == "blurry, extra fingers"
    assert entry["engine_config"]["configs"][0]["negative_prompt"] == "blurry, extra fingers"


def test_what_the_text_engine_could_not_draw_is_in_the_history_entry(api: Api) -> None:
    """A subject with no icon, shape or vocabulary entry is named in the entry itself (and as
    the prompt's unhonoured part), not only deep in one variant's engine config."""
    r = api.client.post(
        "/media",
        data={"prompt": "a cheetah chasing a gazelle across a meadow", "duration": "1"},
        headers=api.headers(),
    )
    assert r.status_code == 200, r.text
    done = api.wait(r.json()["data"]["id"])
    assert done["processing_status"] == "success", done["error"]
    entry = done["video_history"][-1]
    assert {"cheetah", "gazelle"} <= set(entry["not_drawn"])
    ignored = {item["field"]: item["reason"] for item in entry["ignored"]}
    assert "cheetah" in ignored["prompt"]


@pytest.mark.parametrize(
    ("data", "images", "field"),
    [
        ({"motion_type": "TryOnVideo", "model": "FashnTryOn"}, 1, "image_files"),
        ({"motion_type": "TryOnVideo"}, 2, "model"),
        ({"model": "KlingTryOn", "prompt": "x"}, 0, "model"),
        ({"character_animate": "true", "prompt": "a dancing robot"}, 0, "character_animate"),
    ],
)
def test_what_nothing_can_honour_is_a_422_charged_nothing(
    api: Api, testdata: Path, data: dict[str, str], images: int, field: str
) -> None:
    photos = ["astronaut.png", "chelsea.png"][:images]
    files = [("image_files", (p, (testdata / p).read_bytes(), "image/png")) for p in photos]
    r = api.client.post("/media", data=data, files=files or None, headers=api.headers())
    assert r.status_code == 422, r.text
    assert field in r.text
    assert api.credits() == 100
    listed = api.client.get("/media", headers=api.headers()).json()["data"]
    assert listed == []


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_api_and_kinora_render_give_identical_frames(
    api: Api, testdata: Path, tmp_path: Path
) -> None:
    """The same request and seed through the API and through `kinora render` (one planner)."""
    photo = testdata / "chelsea.png"
    fields = {
        "camera_control": "Orbit right",
        "duration": "1",
        "motion_range": "7",
        "seed": "4242",
        "prompt": "snow falling",
    }
    r = api.client.post(
        "/media",
        data=fields,
        files=[("image_files", ("chelsea.png", photo.read_bytes(), "image/png"))],
        headers=api.headers(),
    )
    assert r.status_code == 200, r.text
    media_id = r.json()["data"]["id"]
    done = api.wait(media_id)
    assert done["processing_status"] == "success", done["error"]
    via_api = tmp_path / "api.mp4"
    got = api.client.get(f"/media/{media_id}/download", headers=api.headers())
    assert got.status_code == 200
    via_api.write_bytes(got.content)

    via_cli = tmp_path / "cli.mp4"
    env = kinora_env(tmp_path / "cli-data")
    args = [KINORA, "render", str(photo), "-o", str(via_cli)]
    args += ["--camera", "Orbit right", "--duration", "1", "--motion-range", "7"]
    args += ["--seed", "4242", "--prompt", "snow falling"]
    done_cli = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert done_cli.returncode == 0, done_cli.stderr

    a, b = _frames(via_api), _frames(via_cli)
    assert len(a) == len(b) == 24
    for x, y in zip(a, b, strict=True):
        assert x.shape == y.shape
        assert np.array_equal(x, y)
    # and the scene really moves (the comparison is not of two still frames)
    assert np.abs(a[0].astype(int) - a[-1].astype(int)).mean() > 2


def test_an_edit_nothing_can_honour_is_a_422_charged_nothing(api: Api, testdata: Path) -> None:
    files = [("image_files", ("a.png", (testdata / "astronaut.png").read_bytes(), "image/png"))]
    r = api.client.post("/media", data={"duration": "1"}, files=files, headers=api.headers())
    media_id = r.json()["data"]["id"]
    assert api.wait(media_id)["processing_status"] == "success"
    before = api.credits()
    r = api.client.put(
        f"/media/{media_id}/edit",
        data={"motion_type": "TryOnVideo", "model": "FashnTryOn"},
        headers=api.headers(),
    )
    assert r.status_code == 422 and "image_files" in r.text, r.text
    assert api.credits() == before
    media = api.client.get(f"/media/{media_id}", headers=api.headers()).json()["data"]
    assert media["bullet_version"] == "1" and media["pose_preset"]["MotionType"] == "Auto"


def test_stored_specs_of_older_rows_are_read(api: Api) -> None:
    """A row written before specs (params + inputs, as migration 0005 found them) reads as a
    spec: the migration's conversion and the column's read path are one function."""
    from kinora.spec import GenerationSpec, from_legacy

    legacy = {
        "prompt": "a cat",
        "model": None,
        "quantity": 2,
        "seeds": [5, 6],
        "audio_option": {"narration": "hi"},
        "camera_control": "Zoom in",
    }
    inputs = [{"kind": "image", "position": "First", "name": "c.png", "key": "k/c.png"}]
    spec = GenerationSpec.model_validate(from_legacy(legacy, inputs))
    assert spec.seeds == (5, 6) and spec.audio.narration == "hi"
    assert spec.camera_control.value == "Zoom in" and spec.inputs[0].key == "k/c.png"
    assert GenerationSpec.from_stored(spec.to_stored()) == spec


def test_migration_0005_turns_old_rows_into_specs(tmp_path: Path) -> None:
    """A database at the revision before specs, with a media row in the old shape, upgraded by
    Alembic: the row reads back as a typed spec, inputs and seeds included."""
    import json

    import sqlalchemy as sa
    from alembic import command

    from kinora.db.models import Media
    from kinora.db.session import Database, alembic_config, upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0004")
    engine = sa.create_engine(url)
    params = {
        "prompt": "a lighthouse",
        "quantity": 1,
        "duration": 3,
        "seeds": [77],
        "motion_type": "Auto",
        "camera_control": "Pan left",
        "audio_option": {},
    }
    inputs = [{"kind": "image", "position": "First", "name": "l.png", "key": "c/m/l.png"}]
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO customers (id, name, credits, webhook_secret, "
                "created_at) VALUES ('c', '', 0, '', '2026-01-01')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO media (id, customer_id, title, description, rating, "
                "visibility_status, batch_id, webhook_url, params, inputs, status, progress, "
                "stage, error, result, video_history, bullet_version, service_name, "
                "service_version, duration_time, metadata, cancel_requested, cost, attempts, "
                "worker_id, created_at, updated_at) VALUES ('m', 'c', '', '', '', '1', '', '', "
                ":params, :inputs, 'success', 100, '', '', '[]', '[]', 1, '', '', 0, '{}', 0, "
                "0, 0, '', '2026-01-01', '2026-01-01')"
            ),
            {"params": json.dumps(params), "inputs": json.dumps(inputs)},
        )
    engine.dispose()
    upgrade(url)
    db = Database(url)
    with db.sessions() as s:
        media = s.get(Media, "m")
        assert media is not None
        spec = media.spec
        assert spec.prompt == "a lighthouse" and spec.duration == 3 and spec.seeds == (77,)
        assert spec.camera_control.value == "Pan left"
        assert media.inputs == inputs
    db.dispose()
