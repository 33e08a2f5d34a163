"""Benchmark of the soundtrack for a 10 s clip (narration + music + effects + mix).

Side by side with two peers doing a fraction of the work:
  (a) the flite CLI speaking the same text to a WAV (one robotic voice, no mix);
  (b) a plain numpy baseline: 10 s of stereo noise through one Butterworth filter.
Target: plan_audio + render_soundtrack under 2 s warm (SoundFont loaded, Piper model loaded,
as in a running worker); the one-off cold load is reported separately.

Usage: .venv/bin/python bench/bench_audio.py [--repeat 5] [--out bench/results/audio.md]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import signal

from kinora.audio import AudioRequest, plan_audio, render_soundtrack, warm_up
from kinora.audio.analysis import estimate_tempo, median_f0, spectral_centroid
from kinora.audio.loudness import integrated_loudness, true_peak_dbfs
from kinora.audio.music import generate_music
from kinora.audio.speech import VOICES, synthesize

TEXT = (
    "High above the sleeping town, a paper lantern drifts through the stars, "
    "carrying one small wish toward the morning."
)
SECONDS = 10.0
REQUEST = AudioRequest(
    narrator="Rachel",
    narration=TEXT,
    bg_music_prompt="gentle cinematic strings",
    native_audio=True,
    prompt="a magical lantern floating over a city at night",
    camera="Crane up",
    seed=42,
)


def _time(fn: Callable[[], object], repeat: int) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), runs


def _ours() -> None:
    plan = plan_audio(REQUEST, motion_seconds=SECONDS)
    render_soundtrack(plan, seconds=SECONDS)


def _flite() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "x.wav"
        subprocess.run(["flite", "-voice", "slt", "-t", TEXT, "-o", str(out)], check=True)


def _numpy_baseline() -> None:
    rng = np.random.default_rng(0)
    sos = signal.butter(4, [200, 4000], btype="bandpass", fs=48000, output="sos")
    signal.sosfilt(sos, rng.standard_normal((int(SECONDS * 48000), 2)), axis=0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("bench/results/audio.md"))
    args = parser.parse_args()

    start = time.perf_counter()
    warm_up()
    synthesize("warm up", narrator="Roger")  # loads the Piper model
    cold = time.perf_counter() - start
    ours, runs = _time(_ours, args.repeat)
    flite, _ = _time(_flite, args.repeat)
    base, _ = _time(_numpy_baseline, args.repeat)

    plan = plan_audio(REQUEST, motion_seconds=SECONDS)
    track = render_soundtrack(plan, seconds=SECONDS)
    lines = [
        "# Audio benchmark",
        "",
        f"Command: `.venv/bin/python bench/bench_audio.py --repeat {args.repeat}`  ",
        "Machine: 2 cores, no GPU (shared with other engineers' jobs, so expect noise).",
        "",
        f"Clip: {SECONDS:.0f} s, narration (Rachel, {len(TEXT.split())} words) + music "
        f"('gentle cinematic strings') + native effects (city, sparkles, crane whoosh) + mix.",
        "",
        "| what | median s | ratio to ours |",
        "| --- | ---: | ---: |",
        f"| Kinora plan_audio + render_soundtrack (warm) | {ours:.3f} | 1.00 |",
        f"| flite CLI, same text, one voice, no mix | {flite:.3f} | {flite / ours:.2f} |",
        f"| numpy noise + 4th-order band-pass, 10 s stereo | {base:.3f} | {base / ours:.2f} |",
        "",
        f"All runs (s): {', '.join(f'{r:.3f}' for r in runs)}. Target < 2 s warm: "
        f"{'met' if ours < 2.0 else 'NOT met'}.  ",
        f"One-off cold load (SoundFont + Piper model), paid once per worker process: {cold:.2f} s.",
        "",
        "## Measured output",
        "",
        f"- Mix: {integrated_loudness(track.samples, 48000):.2f} LUFS integrated, true peak "
        f"{true_peak_dbfs(track.samples):.2f} dBTP, {track.samples.shape[0]} frames "
        f"(= {SECONDS:.0f} s x 48000).",
    ]
    for prompt in ("upbeat electronic dance", "slow sad piano"):
        music = generate_music(prompt, seconds=8.0, seed=7)
        lines.append(
            f"- Music '{prompt}': planned {music.style.tempo:.0f} BPM, measured "
            f"{estimate_tempo(music.samples, 48000):.1f} BPM, spectral centroid "
            f"{spectral_centroid(music.samples, 48000):.0f} Hz, {music.style.key}, "
            f"drums {music.style.drums}."
        )
    lines += [
        "",
        "## Voices (same sentence, measured)",
        "",
        "| narrator | base | target f0 Hz | measured f0 Hz | centroid Hz | words/min |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, spec in sorted(VOICES.items(), key=lambda kv: kv[1].f0_hz):
        spoken = synthesize(TEXT, narrator=name)
        lines.append(
            f"| {name} | {spec.engine}/{spec.base} | {spec.f0_hz:.0f} | "
            f"{median_f0(spoken.samples, 48000):.0f} | "
            f"{spectral_centroid(spoken.samples, 48000):.0f} | {spoken.words_per_minute:.0f} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
