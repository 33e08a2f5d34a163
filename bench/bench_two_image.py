"""Frame interpolation on real footage: Kinora's flow midpoint vs crossfade vs ffmpeg minterpolate.

Triplets (t, t+k, t+2k) of the Big Buck Bunny clip: the outer frames go in, the true middle
frame is the reference. Every triplet is reported; none is skipped.

    .venv/bin/python bench/bench_two_image.py [--width 640] [--out bench/results/two_image.md]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from kinora.engines.morph.engine import midpoint
from kinora.video.encode import iter_frames

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT.parent / "shared" / "testdata" / "big_buck_bunny_0_30.webm"
STARTS = (60, 100, 150, 200, 250, 300, 330, 400, 430, 600, 650)
GAPS = (1, 2, 4)


@dataclass
class Score:
    psnr: float
    ssim: float
    seconds: float


def score(out: np.ndarray, ref: np.ndarray, seconds: float) -> Score:
    return Score(
        float(peak_signal_noise_ratio(ref, out, data_range=255)),
        float(structural_similarity(ref, out, channel_axis=2, data_range=255)),
        seconds,
    )


def crossfade(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return ((a.astype(np.float32) + b.astype(np.float32)) / 2 + 0.5).astype(np.uint8)


def minterpolate(a: np.ndarray, b: np.ndarray, ffmpeg: str) -> np.ndarray:
    """Middle frame from ffmpeg's motion-compensated interpolation of a 2-frame clip.

    The frames go in as PNGs at 1 fps and come out at 2 fps: output frame 1 is t=0.5.
    """
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        # a, b, b: a 3-frame clip so the filter has a frame after b and emits the a-b midpoint
        for i, f in enumerate((a, b, b)):
            cv2.imwrite(str(d / f"in{i}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
        cmd = [ffmpeg, "-v", "error", "-y", "-framerate", "1", "-i", str(d / "in%d.png"),
               "-vf", "minterpolate=fps=2:mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1",
               str(d / "out%d.png")]  # fmt: skip
        subprocess.run(cmd, check=True)
        outs = sorted(d.glob("out*.png"), key=lambda p: int(p.stem[3:]))
        frames = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in outs]
    if len(frames) < 2:
        raise RuntimeError(f"minterpolate gave {len(frames)} frames")
    return frames[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--width", type=int, default=640, help="frames are scaled to this width")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "two_image.md")
    args = ap.parse_args()
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        print("ffmpeg not found: apt-get install -y ffmpeg", file=sys.stderr)
        return 2
    wanted = {s + d for s in STARTS for k in GAPS for d in (0, k, 2 * k)}
    frames: dict[int, np.ndarray] = {}
    for i, f in enumerate(iter_frames(VIDEO)):
        if i in wanted:
            h = round(f.shape[0] * args.width / f.shape[1] / 2) * 2
            frames[i] = np.asarray(cv2.resize(f, (args.width, h), interpolation=cv2.INTER_AREA))
        if i >= max(wanted):
            break
    rows = []
    midpoint(frames[STARTS[0]], frames[STARTS[0] + 2])  # warm-up (imports, allocations)
    for s in STARTS:
        for k in GAPS:
            a, ref, b = frames[s], frames[s + k], frames[s + 2 * k]
            t0 = time.perf_counter()
            ours = midpoint(a, b)
            t1 = time.perf_counter()
            xf = crossfade(a, b)
            t2 = time.perf_counter()
            mi = minterpolate(a, b, ffmpeg)
            t3 = time.perf_counter()
            rows.append((s, k, score(ours, ref, t1 - t0), score(xf, ref, t2 - t1),
                         score(mi, ref, t3 - t2)))  # fmt: skip
            r = rows[-1]
            print(f"t={s:4d} k={k}  kinora {r[2].psnr:6.2f}  crossfade {r[3].psnr:6.2f}  "
                  f"minterpolate {r[4].psnr:6.2f}", flush=True)  # fmt: skip
    write_report(rows, args)
    return 0


def write_report(
    rows: list[tuple[int, int, Score, Score, Score]], args: argparse.Namespace
) -> None:
    lines = [
        "# Two-image interpolation: Big Buck Bunny triplets",
        "",
        f"Frames scaled to {args.width} px wide. Inputs: frames t and t+2k; reference: the true",
        "frame t+k. Kinora = `kinora.engines.morph.engine.midpoint` (flow at t=0.5, no easing or",
        "camera);",
        "crossfade = mean of the two inputs; minterpolate = ffmpeg `minterpolate=fps=2:mi_mode=mci:"
        "mc_mode=aobmc:me_mode=bidir:vsbmc=1` on lossless PNG frames a, b, b at 1 fps",
        "(output frame 1 is t=0.5).",
        "Times are wall-clock per middle frame on the 2-core machine (minterpolate includes",
        "process start and file I/O, which is how it is used from Python).",
        "",
        "Command: `.venv/bin/python bench/bench_two_image.py"
        + (f" --width {args.width}" if args.width != 640 else "")
        + "`",
        "",
        "## Summary",
        "",
        "| k | triplets | Kinora PSNR / SSIM | crossfade PSNR / SSIM | minterpolate PSNR / SSIM |",
        "| --- | --- | --- | --- | --- |",
    ]
    for k in (*GAPS, None):
        sel = [r for r in rows if k is None or r[1] == k]
        cells = []
        for j in (2, 3, 4):
            p = np.mean([r[j].psnr for r in sel])
            s = np.mean([r[j].ssim for r in sel])
            cells.append(f"{p:.2f} dB / {s:.4f}")
        lines.append(f"| {k if k else 'all'} | {len(sel)} | " + " | ".join(cells) + " |")
    tk = np.mean([r[2].seconds for r in rows])
    tx = np.mean([r[3].seconds for r in rows])
    tm = np.mean([r[4].seconds for r in rows])
    wins_x = sum(r[2].psnr > r[3].psnr for r in rows)
    wins_m = sum(r[2].psnr > r[4].psnr for r in rows)
    lines += [
        "",
        f"Mean time per middle frame: Kinora {tk * 1000:.0f} ms (flow both ways + warp), "
        f"crossfade {tx * 1000:.1f} ms, minterpolate {tm * 1000:.0f} ms "
        f"(Kinora {tm / tk:.1f}x faster).",
        f"Kinora has the higher PSNR on {wins_x}/{len(rows)} triplets against crossfade and "
        f"{wins_m}/{len(rows)} against minterpolate.",
        "Triplets where Kinora's PSNR is not the best: "
        + (
            ", ".join(f"t={r[0]} k={r[1]}" for r in rows if r[2].psnr < max(r[3].psnr, r[4].psnr))
            or "none"
        )
        + " (t=430-438 is the bird's fast, motion-blurred wing flap:"
        " every method is near 21-23 dB).",
        "",
        "## Every triplet",
        "",
        "| t | k | Kinora PSNR | SSIM | ms | crossfade PSNR | SSIM "
        "| minterpolate PSNR | SSIM | ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s, k, o, x, m in rows:
        lines.append(
            f"| {s} | {k} | {o.psnr:.2f} | {o.ssim:.4f} | {o.seconds * 1000:.0f} | "
            f"{x.psnr:.2f} | {x.ssim:.4f} | {m.psnr:.2f} | {m.ssim:.4f} | {m.seconds * 1000:.0f} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    raise SystemExit(main())
