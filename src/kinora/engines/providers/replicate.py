"""Replicate's HTTP API (https://replicate.com/docs/reference/http, predictions API v1).

``replicate:OWNER/NAME`` runs an official model (``POST /v1/models/{owner}/{name}/predictions``);
``replicate:OWNER/NAME:VERSION`` a pinned version (``POST /v1/predictions`` with ``version``).
The prediction is polled at ``GET /v1/predictions/{id}`` until ``succeeded``, ``failed`` or
``canceled``; ``output`` is the video URL (or a list whose first item is). Input names differ
per model family, so a small table maps Kinora's parameters onto each family's documented
inputs; route options ``input.NAME=VALUE`` add or override any input.
"""

from __future__ import annotations

import re
from typing import Any

from kinora.engines.base import EngineInfo, InputKind
from kinora.engines.providers.base import (
    Poll,
    ProviderAdapter,
    ProviderEngine,
    ProviderRequest,
    Submitted,
    nearest,
    nearest_aspect,
    option_inputs,
)
from kinora.errors import RenderError


def family_inputs(model: str) -> dict[str, Any]:
    """Input names of a model family on Replicate (None: the family has no such input)."""
    m = model.lower()
    table: list[tuple[str, dict[str, Any]]] = [
        ("kling", dict(image="start_image", last="end_image", seed=None, durations=(5, 10))),
        (
            "minimax",
            dict(
                image="first_frame_image",
                last="last_frame_image",
                seed=None,
                durations=(6, 10),
                aspect=None,
            ),
        ),
        (
            "hailuo",
            dict(
                image="first_frame_image",
                last="last_frame_image",
                seed=None,
                durations=(6, 10),
                aspect=None,
            ),
        ),
        ("seedance", dict(image="image", last="last_frame_image", durations=(5, 10))),
        ("pixverse", dict(image="image", last="last_frame_image", durations=(5, 8))),
        ("luma", dict(image="start_image", last="end_image", seed=None, durations=(5, 9))),
        ("ray", dict(image="start_image", last="end_image", seed=None, durations=(5, 9))),
        ("veo", dict(image="image", last="last_frame", durations=(4, 6, 8))),
        ("wan", dict(image="image", last="last_image", durations=None)),
        ("hunyuan", dict(image="image", last=None, durations=None)),
    ]
    base: dict[str, Any] = dict(
        image="image", last="last_image", seed="seed", durations=None, aspect="aspect_ratio"
    )
    for key, names in table:
        if key in m:
            return {**base, **names}
    return base


class ReplicateAdapter(ProviderAdapter):
    name = "replicate"
    default_base_url = "https://api.replicate.com"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}

    def inputs(self, request: ProviderRequest) -> dict[str, Any]:
        names = family_inputs(self.model)
        data = self.prompt_and_frames(request, image=names["image"], last=names["last"])
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
    )
