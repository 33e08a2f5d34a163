"""Replicate's HTTP API (https://replicate.com/docs/reference/http, predictions API v1).

``replicate:OWNER/NAME`` runs an official model (``POST /v1/models/{owner}/{name}/predictions``);
``replicate:OWNER/NAME:VERSION`` a pinned version (``POST /v1/predictions`` with ``version``).
The prediction is polled at ``GET /v1/predictions/{id}`` until ``succeeded``, ``failed`` or
``canceled``; ``output`` is the video URL (or a list whose first item is). Input names differ
per model family, so a small table maps Kinora's parameters onto each family's documented
inputs (prompt, negative prompt, frames, duration, seed, camera); route options
``input.NAME=VALUE`` add or override any input, ``negative_input=NAME`` names the negative
prompt input of a model the table does not know.
"""

from __future__ import annotations

import re
from typing import Any

from kinora.engines.base import EngineInfo, InputKind, RenderConfig
from kinora.engines.providers.base import (
    Poll,
    ProviderAdapter,
    ProviderEngine,
    ProviderRequest,
    Submitted,
    camera_inputs,
    family_names,
    honoured_inputs,
    nearest,
    nearest_aspect,
    option_inputs,
)
from kinora.errors import RenderError

REPLICATE_FAMILIES: list[tuple[str, dict[str, Any]]] = [
    (
        "kling",
        dict(
            image="start_image",
            last="end_image",
            seed=None,
            durations=(5, 10),
            negative="negative_prompt",
        ),
    ),
    (
        "minimax|hailuo",
        dict(
            image="first_frame_image",
            last="last_frame_image",
            seed=None,
            durations=(6, 10),
            aspect=None,
        ),
    ),
    ("seedance", dict(image="image", last="last_frame_image", durations=(5, 10))),
    (
        "pixverse",
        dict(image="image", last="last_frame_image", durations=(5, 8), negative="negative_prompt"),
    ),
    ("luma|ray", dict(image="start_image", last="end_image", seed=None, durations=(5, 9))),
    (
        "veo",
        dict(image="image", last="last_frame", durations=(4, 6, 8), negative="negative_prompt"),
    ),
    ("wan", dict(image="image", last="last_image", durations=None)),
    ("hunyuan", dict(image="image", last=None, durations=None)),
]
"""Input names per model family on Replicate, from the models' published input schemas
(``negative``: the negative-prompt input, None when the model has none; ``camera``: how
a camera path is sent, "" when it is not)."""

REPLICATE_EXCEPTIONS: list[tuple[str, dict[str, Any]]] = [
    (r"seedance-1(?!\d)", dict(camera="camera_fixed")),  # Seedance 1.x: camera_fixed
    (r"ray-(flash-)?2", dict(camera="concepts")),  # Luma Ray 2 / Ray Flash 2: concepts
    (r"veo-?2(?!\d)", dict(negative=None)),  # google/veo-2 has no negative_prompt
    (r"wan-?2\.[5-9]|wan-?[3-9]", dict(negative="negative_prompt")),  # Wan 2.5+ has one
]
"""Models of a family whose schema differs: Wan 2.1 (wavespeedai/wan-2.1-*) and Wan 2.2
take no negative prompt, Wan 2.5 does; Veo 3 does, Veo 2 does not."""


def family_inputs(model: str) -> dict[str, Any]:
    """Input names of a model family on Replicate (None: the family has no such input)."""
    base: dict[str, Any] = dict(
        image="image",
        last="last_image",
        seed="seed",
        durations=None,
        aspect="aspect_ratio",
        negative=None,
        camera="",
    )
    return family_names(model, base, REPLICATE_FAMILIES, REPLICATE_EXCEPTIONS)


class ReplicateAdapter(ProviderAdapter):
    name = "replicate"
    default_base_url = "https://api.replicate.com"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}

    def honoured(self, config: RenderConfig | None = None) -> frozenset[str]:
        return honoured_inputs(self, family_inputs(self.model), config)

    def inputs(self, request: ProviderRequest) -> dict[str, Any]:
        names = family_inputs(self.model)
        data = self.prompt_and_frames(
            request, image=names["image"], last=names["last"], negative=names["negative"]
        )
        if request.camera:
            data.update(camera_inputs(names["camera"], request.camera))
        if names["durations"]:
            data["duration"] = int(nearest(request.duration, names["durations"]))
        if names["aspect"] and not request.images:
            data[names["aspect"]] = nearest_aspect(request.aspect_ratio, ["16:9", "9:16", "1:1"])
        if names["seed"]:
            data[names["seed"]] = request.seed
        data.update(option_inputs(self.options))
        return data

    def submit(self, request: ProviderRequest) -> Submitted:
        owner_name, _, version = self.model.partition(":")
        body: dict[str, Any] = {"input": self.inputs(request)}
        if version:
            body["version"] = version
            url = f"{self.base_url}/v1/predictions"
        else:
            url = f"{self.base_url}/v1/models/{owner_name}/predictions"
        data = self.call("POST", url, json=body)
        job_id = str(data.get("id", ""))
        if not job_id:
            raise RenderError("replicate: the prediction has no id")
        return Submitted(
            job_id=job_id,
            poll_url=f"{self.base_url}/v1/predictions/{job_id}",
            model_version=str(data.get("version") or version or ""),
            seed=body["input"].get("seed"),
        )

    def cancel(self, job: Submitted) -> None:
        self.call("POST", f"{job.poll_url}/cancel")

    def poll(self, job: Submitted) -> Poll:
        data = self.call("GET", job.poll_url)
        status = data.get("status")
        version = str(data.get("version") or "")
        if status in ("failed", "canceled"):
            return Poll("failed", error=str(data.get("error") or status), model_version=version)
        if status != "succeeded":
            return Poll("pending")
        output = data.get("output")
        if isinstance(output, list):
            output = output[0] if output else ""
        if isinstance(output, dict):
            output = output.get("video") or output.get("url") or ""
        seed = None
        found = re.search(r"seed\D{0,3}(\d+)", str(data.get("logs") or ""), re.IGNORECASE)
        if found:
            seed = int(found.group(1))
        return Poll("succeeded", video_url=str(output or ""), model_version=version, seed=seed)


class ReplicateEngine(ProviderEngine):
    adapter_class = ReplicateAdapter
    info = EngineInfo(
        name="replicate",
        version="1",
        accepts=frozenset(InputKind),
        max_duration=10.0,
        description="Hosted models on Replicate (Kling, Wan, Hunyuan, Luma, Veo, Minimax, "
        "Seedance, Pixverse...) with the operator's KINORA_REPLICATE_API_KEY.",
        honours=frozenset({"prompt"}),
        can_honour=frozenset({"negative_prompt", "seed", "camera_control"}),
    )
    """``honours``: what every model gets; the negative prompt, seed and camera depend on the
    model's family (:meth:`honoured_fields`)."""
