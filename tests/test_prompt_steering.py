"""With images, the prompt steers the engines: the camera move and the particles it names."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kinora.pipeline.steer import camera_from_prompt, particles_from_prompt
from kinora.video.encode import read_frames
from tests.conftest import Api


def test_prompt_words() -> None:
    assert camera_from_prompt("a slow orbit around the cat") == "Orbit right"
    assert camera_from_prompt("drone shot over the harbour") == "Aerial"
    assert camera_from_prompt("pull back to reveal the city") == "Zoom out"
    assert camera_from_prompt("a cat on a sofa") is None
    assert particles_from_prompt("while snow falls") == "snow"
    assert particles_from_prompt("with sparkling fairy dust") == "sparkles"
    assert particles_from_prompt("a cat on a sofa") is None


def render(api: Api, testdata: Path, tmp_path: Path, **fields: str) -> tuple[dict, list]:
    with (testdata / "chelsea.png").open("rb") as f:
        r = api.client.post(
            "/media",
            files=[("image_files", ("cat.png", f, "image/png"))],
            data={"duration": "1", "seed": "5", **fields},
            headers=api.headers(),
        )
    media = api.wait(r.json()["data"]["id"])
    video = api.client.get(f"/media/{media['id']}/download", headers=api.headers()).content
    path = tmp_path / f"{media['id']}.mp4"
    path.write_bytes(video)
    return media, read_frames(path)


def test_prompt_steers_camera_and_particles(api: Api, testdata: Path, tmp_path: Path) -> None:
    steered, frames = render(
        api, testdata, tmp_path, prompt="slow orbit around the cat as snow falls"
    )
    config = steered["video_history"][0]["engine_config"]["configs"][0]
    assert config["camera"] == "Orbit right"
    assert config["options"] == {"particles": "snow"}
    assert "Prompt=slow orbit around the cat as snow falls" in steered["pose_preset"]["Params"]
    plain, plain_frames = render(api, testdata, tmp_path, camera_control="Orbit right")
    assert plain["video_history"][0]["engine_config"]["configs"][0]["options"] == {}
    # Same engine, seed and camera: the only difference is the snow, which brightens pixels.
    brighter = [
        ((a.astype(np.int16) - b.astype(np.int16)).min(axis=2) > 20).mean()
        for a, b in zip(frames, plain_frames, strict=True)
    ]
    assert min(brighter) > 0.002, brighter
    # an explicit camera_control wins over the prompt's
    chosen, _ = render(api, testdata, tmp_path, prompt="orbit around", camera_control="Zoom in")
    assert chosen["video_history"][0]["engine_config"]["configs"][0]["camera"] == "Zoom in"
