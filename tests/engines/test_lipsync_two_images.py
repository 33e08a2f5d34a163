"""Lip sync in a two-image render: whichever face is on screen speaks the narration (issue 18).

The render goes through the real pipeline (``prepare`` then ``render_all``: Piper speech, the
two-image engine, the lip-sync filter, the encoder) and the mouths are measured on the decoded
MP4 by the installed face mesh, as in ``test_lipsync.py``.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import numpy as np
from engine_helpers import MODELS_DIR, opencv_doc

from kinora.audio.visemes import loudness_per_frame
from kinora.config import Settings
from kinora.domain.requests import MediaCreate
from kinora.engines.base import Frame
from kinora.engines.people.landmarks import FaceMesh, track_face
from kinora.pipeline.render import render_all
from kinora.pipeline.run import prepare
from kinora.spec import InputRef
from kinora.video.encode import read_frames

FIRST = "opencv4/html/230501201_1.jpg"  # a man in a jacket, lips shut at rest
LAST = "opencv4/html/227943776_1.jpg"  # a man smiling with parted lips
NARRATION = "Hello there. My name is Joe. It is a lovely morning."
FPS = 12


def measured(frames: list[Frame]) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: the inner lips' gap over the face's height, and the face's centre x (nan
    where no face)."""
    previous: FaceMesh | None = None
    gap, centre = [], []
    for frame in frames:
        previous = track_face(frame, previous, models_dir=MODELS_DIR)
        gap.append(previous.mouth_opening("face_height") if previous else np.nan)
        centre.append(float(previous.points[:, 0].mean()) if previous else np.nan)
    return np.array(gap), np.array(centre)


def test_the_face_on_screen_speaks_in_a_two_image_render(tmp_path: Path) -> None:
    """Two portraits slide past each other (the camera "Pan left" makes a whip pan, which
    shows each face whole) while the narration plays: the first face speaks while it is on
    screen, then the second.

    The two photos' mouths differ at rest (the second smiles with parted lips), so the
    opening is measured against the same render without lip sync, frame by frame: what the
    lip sync adds follows the speech's loudness, on each face, and is nothing in the pauses.
    """
    first, last = opencv_doc(FIRST), opencv_doc(LAST)
    request = MediaCreate.model_validate(
        {
            "prompt": "",
            "camera_control": "Pan left",
            "seed": 7,
            "audio_option": {"narrator": "George", "narration": NARRATION},
        }
    )
    spec = request.to_spec().with_inputs(
        [
            InputRef(kind="image", position="First", name=first.name, key=str(first)),
            InputRef(kind="image", position="Last", name=last.name, key=str(last)),
        ]
    )
    settings = Settings(data_dir=tmp_path / "data", models_dir=MODELS_DIR, warm_up=False)
    ready = prepare(spec, Path, settings=settings, long_side=256, fps=FPS, variants=1)
    assert ready.route.engine.info.name == "kinora-morph"
    assert ready.job.lip_sync is not None
    assert not [i for i in ready.plan.ignored if i.field == "lip_sync"]
    engine = ready.route.engine
    outcome = render_all(engine=engine, job=ready.job, out_dir=tmp_path / "synced")
    plain = render_all(
        engine=engine, job=replace(ready.job, lip_sync=None), out_dir=tmp_path / "plain"
    )
    frames = read_frames(outcome.videos[0].path)
    assert outcome.videos[0].metadata["two_images"]["transition"] == "whip-pan"
    assert outcome.ignored == []
    report = outcome.videos[0].metadata["lip_sync"]
    assert report["frames"] == len(frames)
    assert report["frames_with_face"] >= 0.8 * len(frames), report

    speech = ready.audio.speech if ready.audio is not None else None
    assert speech is not None
    loud = loudness_per_frame(
        speech.samples,
        speech.rate,
        fps=FPS,
        frames=len(frames),
        offset_seconds=speech.offset_seconds,
    )
    mouth, _ = measured(frames)
    at_rest, centre = measured(read_frames(plain.videos[0].path))
    added = mouth - at_rest  # the lip sync's own opening
    found = ~np.isnan(added)
    assert found.mean() >= 0.8, found.mean()

    # The hand-over: the first face leaves on the right, the second comes in from the left.
    width = frames[0].shape[1]
    seen = np.flatnonzero(~np.isnan(centre))
    handovers = [int(j) for i, j in pairwise(seen) if centre[j] < centre[i] - width / 3]
    assert len(handovers) == 1, handovers
    second = np.arange(len(frames)) >= handovers[0]

    level = np.maximum(loud, -60.0)
    corr = float(np.corrcoef(added[found], level[found])[0, 1])
    assert corr >= 0.5, corr
    speaking = found & (loud > loud.max() - 20.0)
    pause = found & (loud < -60.0)
    for face in (~second, second):  # each face speaks while it is on screen
        on = found & face
        assert on.sum() >= 15 and (speaking & face).sum() >= 8 and (pause & face).sum() >= 5
        assert float(np.corrcoef(added[on], level[on])[0, 1]) >= 0.4
        assert added[speaking & face].mean() > added[pause & face].mean() + 0.007
