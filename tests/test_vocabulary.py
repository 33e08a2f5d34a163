"""One vocabulary: every table keyed by a vocabulary covers every member, and nothing else.

The data tables are in kinora.vocab; code keyed by the same members (the camera poses, the
narrators' voices) lives with its layer and is checked here too. GET /vocabulary serves them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Any

import pytest

from kinora import vocab
from kinora.audio import effects
from kinora.audio.speech import VOICES
from kinora.engines.base import InputKind
from kinora.engines.geometry import camera
from kinora.engines.morph import engine as morph
from kinora.pipeline import steer
from kinora.video import fit
from kinora.vocab import (
    ASPECT_RATIO_INFO,
    CAMERA_PATH_INFO,
    MOTION_TYPE_INFO,
    NARRATORS,
    TRY_ON_MODEL_INFO,
    AspectRatio,
    CameraControl,
    MotionType,
    TryOnModel,
)
from tests.conftest import Api

TABLES: dict[str, tuple[Iterable[Any], Mapping[Any, Any]]] = {
    "vocab.MOTION_TYPE_INFO": (MotionType, MOTION_TYPE_INFO),
    "vocab.CAMERA_PATH_INFO": (CameraControl, CAMERA_PATH_INFO),
    "vocab.ASPECT_RATIO_INFO": (AspectRatio, ASPECT_RATIO_INFO),
    "vocab.TRY_ON_MODEL_INFO": (TryOnModel, TRY_ON_MODEL_INFO),
    "camera.POSES": (CameraControl, camera.POSES),
    "speech.VOICES": (NARRATORS, VOICES),
}


@pytest.mark.parametrize("name", TABLES)
def test_every_table_has_a_row_for_every_member_and_no_other(name: str) -> None:
    members, table = TABLES[name]
    expected = list(members)
    missing = [m for m in expected if m not in table]
    extra = [k for k in table if k not in expected]
    assert not missing, f"{name} has no row for {missing}"
    assert not extra, f"{name} has rows for non-members {extra}"
    assert len(table) == len(expected)


def test_the_vocabularies_tables_are_all_listed() -> None:
    assert set(vocab.TABLES) == {MotionType, CameraControl, AspectRatio, TryOnModel}
    for enum, table in vocab.TABLES.items():
        assert list(table) == list(enum), f"{enum.__name__}'s table is not in the enum's order"
        assert all(isinstance(k, enum) for k in table)


def _labels(table: Mapping[Any, Any]) -> list[str]:
    return [row.label for row in table.values()]


@pytest.mark.parametrize(
    "table", [MOTION_TYPE_INFO, CAMERA_PATH_INFO, ASPECT_RATIO_INFO, TRY_ON_MODEL_INFO]
)
def test_labels_are_present_and_distinct(table: Mapping[StrEnum, Any]) -> None:
    labels = _labels(table)
    assert all(label.strip() for label in labels)
    assert len(set(labels)) == len(labels)


def test_the_default_narrator_is_a_narrator_and_the_one_audio_uses() -> None:
    from kinora import audio

    assert vocab.DEFAULT_NARRATOR in NARRATORS
    assert audio.DEFAULT_NARRATOR == vocab.DEFAULT_NARRATOR


def test_motion_types_name_real_input_kinds() -> None:
    kinds = {k.value for k in InputKind}
    for member, row in MOTION_TYPE_INFO.items():
        assert row.inputs and row.inputs <= kinds, member
        assert row.family and row.description, member
    assert {m for m, row in MOTION_TYPE_INFO.items() if row.auto} == {
        MotionType.AUTO,
        MotionType.AUTO_T3,
    }


def test_camera_rows_are_consistent() -> None:
    ranked = [row.prompt_rank for row in CAMERA_PATH_INFO.values() if row.prompt_words]
    assert len(set(ranked)) == len(ranked), "two paths share a prompt rank"
    # Every path but Auto is named by some words, can be heard (or is Static) and has a 2D form.
    for member, row in CAMERA_PATH_INFO.items():
        assert row.description, member
        if member is CameraControl.AUTO:
            assert not row.prompt_words and row.whoosh is None and row.morph is None
            assert row.auto_subject is None and row.auto_scenery is None
            continue
        assert row.prompt_words, member
        if member is not CameraControl.STATIC:
            assert row.whoosh is not None and row.morph is not None, member
    for side in ("auto_subject", "auto_scenery"):
        picks = [getattr(r, side) for r in CAMERA_PATH_INFO.values() if getattr(r, side)]
        assert sorted(p.slot for p in picks) == list(range(len(picks))), side
        assert all(p.weight > 0 for p in picks), side


def test_aspect_ratio_rows_match_their_values() -> None:
    for member, row in ASPECT_RATIO_INFO.items():
        assert member.value == f"{row.width}:{row.height}" == row.label
    terms = {a.value: (r.width, r.height) for a, r in ASPECT_RATIO_INFO.items()}
    assert terms == fit.ASPECT_RATIOS


def _morph_tables() -> dict[str, dict[str, Any]]:
    return {
        "shift": morph._CAMERA_CONTENT_MOTION,
        "zoom": morph._CAMERA_ZOOM,
        "roll": morph._CAMERA_ROLL,
    }


# Each layer's view of the camera rows: (what it holds, which members must be in it).
LAYER_VIEWS: dict[str, Callable[[], tuple[set[str], set[str]]]] = {
    "camera.CAMERA_PATHS": lambda: (
        set(camera.CAMERA_PATHS),
        {c.value for c in CameraControl},
    ),
    "camera auto picks": lambda: (
        {p for p, _ in camera._SUBJECT_PATHS} | {p for p, _ in camera._SCENERY_PATHS},
        {
            c.value
            for c, r in CAMERA_PATH_INFO.items()
            if r.auto_subject is not None or r.auto_scenery is not None
        },
    ),
    "steer prompt words": lambda: (
        {camera for _, camera in steer._CAMERA_WORDS},
        {c.value for c, r in CAMERA_PATH_INFO.items() if r.prompt_words},
    ),
    "effects whooshes": lambda: (
        set(effects._MOVES),
        {c.value for c, r in CAMERA_PATH_INFO.items() if r.whoosh is not None},
    ),
    "morph stand-ins": lambda: (
        {key for table in _morph_tables().values() for key in table},
        {c.value.lower() for c, r in CAMERA_PATH_INFO.items() if r.morph is not None},
    ),
}


@pytest.mark.parametrize("name", LAYER_VIEWS)
def test_every_layer_reads_the_camera_rows(name: str) -> None:
    held, expected = LAYER_VIEWS[name]()
    assert held == expected


def test_each_morph_row_lands_in_its_kind() -> None:
    tables = _morph_tables()
    for member, row in CAMERA_PATH_INFO.items():
        if row.morph is None:
            continue
        key = member.value.lower()
        homes = [kind for kind, table in tables.items() if key in table]
        assert homes == [row.morph.kind], member
        value = tables[row.morph.kind][key]
        assert value == (row.morph.direction if row.morph.kind == "shift" else row.morph.sign)


def test_the_vocabulary_endpoint_serves_the_tables_without_a_key(
    api_factory: Callable[..., Api],
) -> None:
    api = api_factory(workers=0)
    r = api.client.get("/vocabulary")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {
        "motion_types",
        "camera_controls",
        "aspect_ratios",
        "try_on_models",
        "narrators",
        "speakers",
    }
    assert [c["value"] for c in body["camera_controls"]] == [c.value for c in CameraControl]
    assert body["camera_controls"][0] == {
        "value": "",
        "label": "Auto",
        "description": CAMERA_PATH_INFO[CameraControl.AUTO].description,
    }
    assert [m["value"] for m in body["motion_types"]] == [m.value for m in MotionType]
    kling = body["motion_types"][[m.value for m in MotionType].index("KlingAI")]
    assert kling["label"] == "Kling AI" and kling["inputs"] == ["text", "one_image", "two_images"]
    assert [a["value"] for a in body["aspect_ratios"]] == [a.value for a in AspectRatio]
    assert body["aspect_ratios"][0] | {"description": ""} == {
        "value": "16:9",
        "label": "16:9",
        "width": 16,
        "height": 9,
        "description": "",
    }
    assert [t["value"] for t in body["try_on_models"]] == [t.value for t in TryOnModel]
    assert [n["value"] for n in body["narrators"]] == list(NARRATORS)
    assert [n["value"] for n in body["narrators"] if n["default"]] == [vocab.DEFAULT_NARRATOR]
    assert [s["value"] for s in body["speakers"]] == list(vocab.SPEAKERS)
    assert [s["value"] for s in body["speakers"] if s["default"]] == [vocab.DEFAULT_SPEAKER]
    assert "vocabulary" in str(api.client.get("/openapi.json").json()["paths"])
