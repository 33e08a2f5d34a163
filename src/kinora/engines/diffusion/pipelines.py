"""The torch side of the diffusers engine: load, condition, run, convert, retime.

Imported only when a diffusers render starts. One loaded pipeline is kept (a video model
fills a GPU; loading another frees the previous one).
"""

from __future__ import annotations

import gc
import importlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from kinora.engines.base import EngineInputs, Frame, RenderConfig
from kinora.engines.diffusion.families import accepts_of, call_parameters, read_json
from kinora.errors import RenderError
from kinora.video.fit import cover_fit

if TYPE_CHECKING:
    from kinora.engines.diffusion import DiffusersEngine

_lock = threading.Lock()
_loaded: dict[tuple[str, str, str], Any] = {}


def pick_device(wanted: str) -> tuple[str, Any]:
    """(device, dtype): CUDA (bf16) when present, else Apple MPS (fp16), else CPU (fp32)."""
    import torch

    if not wanted:
        if torch.cuda.is_available():
            wanted = "cuda"
        elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            wanted = "mps"
        else:
            wanted = "cpu"
    dtype = {"cuda": torch.bfloat16, "mps": torch.float16}.get(wanted.split(":")[0], torch.float32)
    return wanted, dtype


def load(directory: Path, device: str, dtype: Any, *, offload: bool) -> Any:
    diffusers: Any = importlib.import_module("diffusers")  # untyped: Any at the boundary

    key = (str(directory), device, str(dtype))
    with _lock:
        if key in _loaded:
            return _loaded[key]
        _loaded.clear()
        gc.collect()
        try:
            pipe = diffusers.DiffusionPipeline.from_pretrained(str(directory), dtype=dtype)
        except Exception as exc:
            raise RenderError(f"diffusers: cannot load {directory}: {exc}") from exc
        if offload and device.startswith("cuda"):
            pipe.enable_model_cpu_offload()
        else:
            pipe.to(device)
        pipe.set_progress_bar_config(disable=True)
        _loaded[key] = pipe
        return pipe


def _snap(value: float, multiple: int) -> int:
    return max(multiple, round(value / multiple) * multiple)


def transformer_config(directory: Path) -> dict[str, Any]:

    path = directory / "transformer" / "config.json"
    return read_json(path) if path.exists() else {}


def fixed_size(directory: Path) -> tuple[int, int] | None:
    """The one size a model renders, when it has one: CogVideoX with learned positional
    embeddings (CogVideoX-5b-I2V: 720x480) renders its sample size only."""

    config = transformer_config(directory)
    if not config.get("use_learned_positional_embeddings"):
        return None
    vae_path = directory / "vae" / "config.json"
    blocks = read_json(vae_path).get("block_out_channels", [0] * 4) if vae_path.exists() else []
    scale = 2 ** (len(blocks) - 1) if blocks else 8
    return int(config["sample_width"]) * scale, int(config["sample_height"]) * scale


def plan(engine: DiffusersEngine, config: RenderConfig) -> dict[str, Any]:
    """Native size, frame count, fps, steps and guidance for this render."""
    family, options = engine.family, engine.options
    max_side = int(options.get("max_side", family.max_side))
    scale = max_side / max(config.width, config.height)
    width = _snap(config.width * scale, family.size_multiple)
    height = _snap(config.height * scale, family.size_multiple)
    fixed = fixed_size(engine.directory)
    if fixed:
        width, height = fixed
    fps = int(options.get("fps", family.fps))
    max_frames = int(options.get("max_frames", family.max_frames))
    wanted = min(max(2.0, config.duration * fps), max_frames)
    step = family.frame_step
    frames = round((wanted - 1) / step) * step + 1 if step > 1 else round(wanted)
    if frames > max_frames:
        frames -= step
    return {
        "width": width,
        "height": height,
        "num_frames": max(frames, step + 1 if step > 1 else 2),
        "fps": fps,
        "steps": int(options.get("steps", family.steps)),
        "guidance": float(options.get("guidance", family.guidance)),
    }


def call_arguments(
    engine: DiffusersEngine, inputs: EngineInputs, config: RenderConfig, p: dict[str, Any]
) -> dict[str, Any]:
    """The pipeline's own arguments for Kinora's inputs and config."""
    import torch

    name = engine.pipeline_name
    images = [Image.fromarray(cover_fit(img, p["width"], p["height"])) for img in inputs.images[:2]]
    args: dict[str, Any] = {
        "height": p["height"],
        "width": p["width"],
        "num_frames": p["num_frames"],
        "num_inference_steps": p["steps"],
        "generator": torch.Generator(device="cpu").manual_seed(int(config.seed)),
        "output_type": "np",
    }
    prompt = inputs.prompt or config.prompt
    # The request's negative prompt, else the target's default (option ``negative``).
    negative = (
        config.negative_prompt
        or str(config.options.get("negative_prompt", "") or "")
        or engine.options.get("negative", "")
    )
    if name == "StableVideoDiffusionPipeline":
        args.update(
            image=images[0],
            fps=max(1, p["fps"] - 1),
            motion_bucket_id=int(np.clip(30 + 20 * config.motion_range, 1, 255)),
            noise_aug_strength=0.02,
            decode_chunk_size=8,
            max_guidance_scale=p["guidance"],
        )
        return args
    args.update(prompt=prompt, guidance_scale=p["guidance"])
    if negative and "negative_prompt" in call_parameters(name):
        args["negative_prompt"] = negative
    if name.startswith("LTX"):
        args["frame_rate"] = p["fps"]
    if name == "LTXConditionPipeline":
        from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

        if images:
            conditions = [LTXVideoCondition(image=images[0], frame_index=0)]
            if len(images) > 1:
                conditions.append(
                    LTXVideoCondition(image=images[1], frame_index=p["num_frames"] - 1)
                )
            args["conditions"] = conditions
    elif name in ("WanImageToVideoPipeline", "LTXImageToVideoPipeline"):
        args["image"] = images[0]
        if len(images) > 1 and name == "WanImageToVideoPipeline":
            args["last_image"] = images[1]
    elif name == "CogVideoXImageToVideoPipeline":
        args["image"] = images[0]
    if name.startswith("CogVideoX"):
        # Its learned positional embeddings cover exactly this many text tokens.
        length = transformer_config(engine.directory).get("max_text_seq_length")
        if length:
            args["max_sequence_length"] = int(length)
    return args


def to_frames(output: Any) -> list[Frame]:
    """The first video of a pipeline output as RGB uint8 frames."""
    video = output.frames[0] if hasattr(output, "frames") else output[0]
    if isinstance(video, list) and video and isinstance(video[0], Image.Image):
        return [np.asarray(im.convert("RGB"), dtype=np.uint8) for im in video]
    array = np.asarray(video, dtype=np.float32)
    if array.ndim == 4 and array.shape[1] in (1, 3) and array.shape[-1] not in (1, 3):
        array = array.transpose(0, 2, 3, 1)
    if array.max() <= 1.0 + 1e-3:
        array = array * 255.0
    array = np.clip(np.rint(array), 0, 255).astype(np.uint8)
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return [np.ascontiguousarray(f) for f in array]


def render(engine: DiffusersEngine, inputs: EngineInputs, config: RenderConfig) -> Iterator[Frame]:

    if inputs.kind not in accepts_of(engine.directory):
        raise RenderError(f"diffusers: {engine.pipeline_name} does not take {inputs.kind.value}")
    device, dtype = pick_device(engine.device)
    pipe = load(engine.directory, device, dtype, offload=engine.options.get("offload") == "1")
    p = plan(engine, config)
    args = call_arguments(engine, inputs, config, p)
    try:
        output = pipe(**args)
    except Exception as exc:
        raise RenderError(f"diffusers: {engine.pipeline_name} failed: {exc}") from exc
    frames = to_frames(output)
    engine.last_call = {**p, "device": device}
    # Native frames at the model's fps -> one pass of config.frames_per_motion frames.
    n = config.frames_per_motion
    picks = np.linspace(0, len(frames) - 1, n).round().astype(int)
    fitted = [cover_fit(frames[i], config.width, config.height) for i in picks]
    for _ in range(config.loop):
        yield from fitted
