"""Keyframes: media_items placed in time (``at``, ``hold``), through the API on real photos.

The video passes through each picture at its time, stays where a keyframe holds, and bad
placements are refused with the item's field before anything is stored or charged.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from kinora.domain import keyframes
from kinora.errors import InputError
from kinora.video.encode import read_frames
from kinora.video.fit import cover_fit
from tests.conftest import Api, FileServer

PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def items(host: FileServer, *placed: dict[str, float]) -> list[dict[str, object]]:
    return [
        {"type": "image", "url": host.url(name), **extra}
        for name, extra in zip(PHOTOS, placed, strict=False)
    ]


def post(api: Api, media_items: list[dict[str, object]], **fields: str):  # type: ignore[no-untyped-def]
    data = {"media_items": json.dumps(media_items), "aspect_ratio": "16:9", **fields}
    return api.client.post("/media", data=data, headers=api.headers())


def frames_of(api: Api, media_id: str, tmp_path: Path) -> list[np.ndarray]:
    r = api.client.get(f"/media/{media_id}/download", headers=api.headers())
    assert r.status_code == 200
    path = tmp_path / f"{media_id}.mp4"
    path.write_bytes(r.content)
    return read_frames(path)


@pytest.fixture
def api(api_factory, fake_external_host: FileServer) -> Api:  # type: ignore[no-untyped-def]
    return api_factory(allow_private_urls=True, output_long_side=480)  # type: ignore[no-any-return]


def test_three_keyframes_each_at_its_time(
    api: Api, fake_external_host: FileServer, testdata: Path, tmp_path: Path
) -> None:
    # three unrelated photos, the middle one at 1.2 s of 3: each is on screen at its frame
    r = post(api, items(fake_external_host, {}, {"at": 1.2}, {}), duration="3")
    assert r.status_code == 200, r.text
    media = api.wait(r.json()["data"]["id"])
    assert media["processing_status"] == "success", media
    assert media["service_name"] == "kinora-morph"
    frames = frames_of(api, media["id"], tmp_path)
    assert len(frames) == 72
    h, w = frames[0].shape[:2]
    for name, at in zip(PHOTOS, (0.0, 1.2, 3.0), strict=True):
        k = min(len(frames) - 1, round(at * 24))
        image = read_frames_photo(testdata / name)
        assert psnr(frames[k], cover_fit(image, w, h)) >= 30, (name, k)
    # it moves between them (no frozen stretch), and it is one video: the pace never stops
    steps = [float(np.abs(b.astype(np.int16) - a).mean()) for a, b in itertools.pairwise(frames)]
    assert min(steps[5:-5]) > 0.5
    # the history entry says where each picture was placed and how each pair was joined
    config = media["video_history"][-1]["engine_config"]["configs"][0]
    assert [k["at"] for k in config["keyframes"]] == [0.0, 1.2, 3.0]
    assert all(k["case"] == "unrelated" for k in config["keyframes"][:2])


def test_a_held_keyframe_stays_on_screen(
    api: Api, fake_external_host: FileServer, testdata: Path, tmp_path: Path
) -> None:
    r = post(
        api,
        items(fake_external_host, {}, {"at": 1.0, "hold": 0.75}, {"at": 3.0}),
        duration="3",
    )
    assert r.status_code == 200, r.text
    media = api.wait(r.json()["data"]["id"])
    assert media["processing_status"] == "success", media
    frames = frames_of(api, media["id"], tmp_path)
    h, w = frames[0].shape[:2]
    cat = cover_fit(read_frames_photo(testdata / "chelsea.png"), w, h)
    held = range(24, 24 + 18)  # 1.0 s to 1.75 s
    assert all(psnr(frames[k], cat) >= 30 for k in held)
    assert psnr(frames[24 + 24], cat) < 25  # and then it moves on


def read_frames_photo(path: Path) -> np.ndarray:
    from kinora.inputs.decode import decode_image
    from kinora.video.trim import trim_borders

    return trim_borders(decode_image(path.read_bytes(), field="x", max_pixels=10**8).pixels)


@pytest.mark.parametrize(
    ("placed", "duration", "where", "says"),
    [
        (({}, {"at": 3.5}, {}), "3", ["body", "media_items", 1, "at"], "after the video"),
        (({}, {"at": 2.0}, {"at": 1.0}), "3", ["body", "media_items", 2, "at"], "time order"),
        (({}, {"at": 1.0, "hold": 2.5}, {}), "3", ["body", "media_items", 1, "hold"], "after"),
        (({"at": 0.0}, {"at": 0.1}), "3", ["body", "media_items", 1, "at"], "less than"),
    ],
)
def test_bad_placements_are_refused_before_anything_is_made(
    api: Api,
    fake_external_host: FileServer,
    placed: tuple[dict[str, float], ...],
    duration: str,
    where: list[object],
    says: str,
) -> None:
    before = api.credits()
    r = post(api, items(fake_external_host, *placed), duration=duration)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert any(d["loc"] == where and says in d["msg"] for d in detail), detail
    assert api.client.get("/media", headers=api.headers()).json()["data"] == []
    assert api.credits() == before


def test_keyframes_are_images_in_list_order(api: Api, fake_external_host: FileServer) -> None:
    video = {"type": "video", "url": fake_external_host.url("clip.mp4")}
    for body, says in (
        ([*items(fake_external_host, {}, {}, {})[:2], video], "are images"),
        ([{**i, "position": "Last"} for i in items(fake_external_host, {}, {}, {})], "list order"),
        ([items(fake_external_host, {})[0]] * 11, "at most 10"),
        (items(fake_external_host, {"at": 1.0}), "at least two images"),
    ):
        r = post(api, body, duration="5")
        assert r.status_code == 422, r.text
        assert says in r.text
    assert api.client.get("/media", headers=api.headers()).json()["data"] == []


def test_keyframes_refuse_what_takes_one_or_two_images(
    api: Api, fake_external_host: FileServer
) -> None:
    r = post(api, items(fake_external_host, {}, {}, {}), character_animate="true")
    assert r.status_code == 422 and "not keyframes" in r.text


def test_an_edit_may_not_cut_its_keyframes_off(api: Api, fake_external_host: FileServer) -> None:
    r = post(api, items(fake_external_host, {}, {"at": 2.5}, {"at": 4.0}), duration="4")
    assert r.status_code == 200, r.text
    media = api.wait(r.json()["data"]["id"])
    r = api.client.put(f"/media/{media['id']}/edit", data={"duration": "3"}, headers=api.headers())
    assert r.status_code == 422, r.text
    assert "keyframes run to 4 s" in r.text


def test_times_between_known_ones_are_spaced_evenly() -> None:
    class Item:
        def __init__(self, at: float | None = None, hold: float | None = None) -> None:
            self.at, self.hold = at, hold

    got = keyframes.resolve([Item(), Item(), Item(), Item(at=3.0), Item()], 5)
    assert got is not None and [k.at for k in got] == [0.0, 1.0, 2.0, 3.0, 5.0]
    assert keyframes.resolve([Item(), Item()], 5) is None  # First and Last: not keyframed
    with pytest.raises(InputError):
        keyframes.resolve([Item(), Item(at=4.9), Item()], 5)  # 0.1 s before the last


def test_the_client_sends_keyframes_without_a_position() -> None:
    from kinora.client import MediaItem, _form_value

    sent = json.loads(
        str(
            _form_value(
                "media_items",
                [MediaItem.image("https://a.example/1.png"), MediaItem.keyframe("u", 2.0, 0.5)],
            )
        )
    )
    assert sent[1] == {"type": "image", "url": "u", "at": 2.0, "hold": 0.5}
    assert sent[0] == {"type": "image", "url": "https://a.example/1.png", "position": "First"}
