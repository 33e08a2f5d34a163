"""Sound through the API: the spec's audio_option examples, URLs, and no sound unless asked."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np

from kinora.audio.loudness import integrated_loudness
from kinora.video.encode import probe, read_audio
from tests.conftest import Api, FileServer


def render(api: Api, tmp_path: Path, **fields: str) -> tuple[dict, Path]:
    data = {"prompt": "a quiet harbour at dawn", "duration": "2", **fields}
    r = api.client.post("/media", data=data, headers=api.headers())
    assert r.status_code == 200, r.text
    media = api.wait(r.json()["data"]["id"], timeout=180)
    assert media["processing_status"] == "success", media
    video = api.client.get(f"/media/{media['id']}/download", headers=api.headers())
    path = tmp_path / f"{media['id']}.mp4"
    path.write_bytes(video.content)
    return media, path


def audio_seconds(path: Path) -> float:
    track = read_audio(path)
    assert track is not None
    return len(track[0]) / track[1]


def test_no_audio_stream_unless_asked(api: Api, tmp_path: Path) -> None:
    _, silent = render(api, tmp_path)
    assert "audio_codec" not in probe(silent)
    _, native = render(api, tmp_path, native_audio="True")
    info = probe(native)
    assert info["audio_codec"] == "aac"
    assert abs(audio_seconds(native) - info["frames"] / 24) <= 1 / 24 + 0.03  # AAC priming


def test_narration_example_sets_the_duration(api: Api, tmp_path: Path) -> None:
    # Example 1 of the spec's audio_option, as written.
    audio_option = json.dumps(
        {
            "narrator": "Sarah",
            "narration": "Welcome to our product showcase. This amazing device will revolutionize how you work and play.",  # noqa: E501
        }
    )
    _, path = render(api, tmp_path, audio_option=audio_option, loop="3")
    info = probe(path)
    seconds = info["frames"] / 24
    assert 5.0 < seconds < 12.0, seconds  # ~16 words of speech plus a short tail, loop ignored
    assert abs(audio_seconds(path) - seconds) <= 1 / 24 + 0.03
    samples, rate = read_audio(path)  # type: ignore[misc]
    assert abs(integrated_loudness(samples, rate) + 16) <= 1.5  # AAC costs a little


def test_music_and_combined_examples(api: Api, tmp_path: Path) -> None:
    # Examples 3 and 4 of the spec's audio_option, as written.
    music = json.dumps(
        {
            "bg_music_prompt": "Upbeat electronic music with energetic beats, perfect for product launch video"  # noqa: E501
        }
    )
    _, path = render(api, tmp_path, audio_option=music)
    assert probe(path)["audio_codec"] == "aac"
    combined = json.dumps(
        {
            "narrator": "Rachel",
            "narration": "Discover the future of technology",
            "bg_music_prompt": "Modern, cinematic background music with subtle electronic elements",
        }
    )
    _, path = render(api, tmp_path, audio_option=combined)
    track = read_audio(path)
    assert track is not None and np.abs(track[0]).max() > 0.05


def write_wav(path: Path, seconds: float, freq: float) -> None:
    rate = 48000
    t = np.arange(int(seconds * rate)) / rate
    tone = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    with av.open(str(path), "w", format="wav") as container:
        stream = container.add_stream("pcm_s16le", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(tone[None, :], format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def test_audio_urls_from_a_stand_in_host(
    api_factory, fake_external_host: FileServer, tmp_path: Path
) -> None:
    """Examples 2 and 5 with local URLs (the file server stands in for example.com)."""
    api: Api = api_factory(allow_private_urls=True)
    write_wav(fake_external_host.root / "voiceover.wav", 3.0, 220.0)
    write_wav(fake_external_host.root / "music.wav", 1.0, 440.0)
    narration = json.dumps({"narration_url": fake_external_host.url("voiceover.wav")})
    media, path = render(api, tmp_path, audio_option=narration)
    assert "Audio" in [f["FileType"] for f in media["file_map"]]
    assert media["is_transition"] == "No"
    assert 3.0 <= probe(path)["frames"] / 24 <= 5.0
    music = json.dumps({"bg_music_url": fake_external_host.url("music.wav")})
    _, path = render(api, tmp_path, audio_option=music)
    assert probe(path)["audio_codec"] == "aac"
    bad = json.dumps({"bg_music_url": fake_external_host.url("chelsea.png")})
    r = api.client.post("/media", data={"prompt": "x", "audio_option": bad}, headers=api.headers())
    assert r.status_code == 422
    assert "bg_music_url" in json.dumps(r.json()["detail"])
