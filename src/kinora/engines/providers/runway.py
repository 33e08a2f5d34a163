"""Runway's API (https://docs.dev.runwayml.com, ``X-Runway-Version: 2024-11-06``).

``runway:MODEL`` (``gen4_turbo``, ``gen3a_turbo``): ``POST /v1/image_to_video`` with
``promptImage`` (a data URI, or first/last positioned images for models that take a last
frame), ``promptText``, ``ratio`` (a pixel size the model supports), ``duration`` (5 or 10)
and ``seed``; the answer's ``id`` is polled at ``GET /v1/tasks/{id}`` until ``SUCCEEDED``
(``output`` is a list of video URLs) or ``FAILED``/``CANCELLED`` (``failure``).

Runway's image_to_video takes no negative prompt for these models (runwayml sdk-python,
``image_to_video_create_params``: Gen4Turbo has promptImage, promptText, ratio, duration,
seed, contentModeration; only the Veo models Runway also hosts take ``negativePrompt``, and
those need other ratios and durations and take no seed), and no camera control: a request's
negative prompt and camera path are not sent.
"""

from __future__ import annotations

from typing import Any

from kinora.engines.base import EngineInfo, InputKind, RenderConfig
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

API_VERSION = "2024-11-06"

RATIOS: dict[str, dict[str, str]] = {
    "gen3a_turbo": {"16:9": "1280:768", "9:16": "768:1280"},
    "gen4_turbo": {
        "16:9": "1280:720",
        "9:16": "720:1280",
        "4:3": "1104:832",
        "3:4": "832:1104",
        "1:1": "960:960",
    },
}


class RunwayAdapter(ProviderAdapter):
    name = "runway"
    default_base_url = "https://api.dev.runwayml.com"
    accepts = frozenset({InputKind.ONE_IMAGE, InputKind.TWO_IMAGES})

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.api_key}",
            "X-Runway-Version": self.options.get("api_version", API_VERSION),
            "Content-Type": "application/json",
        }

    def honoured(self, config: RenderConfig | None = None) -> frozenset[str]:
        fixed = self.fixed_inputs()
        sent = {"prompt": "promptText", "seed": "seed"}
        return frozenset(field for field, name in sent.items() if name not in fixed)

    def body(self, request: ProviderRequest) -> dict[str, Any]:
        if not request.images:
            raise RenderError("runway: image_to_video needs an image")
        ratios = RATIOS.get(self.model, RATIOS["gen4_turbo"])
        ratio = ratios[nearest_aspect(request.aspect_ratio, list(ratios))]
        prompt_image: Any = request.images[0]
        if len(request.images) > 1:
            prompt_image = [
                {"uri": request.images[0], "position": "first"},
                {"uri": request.images[1], "position": "last"},
            ]
        body: dict[str, Any] = {
            "model": self.model,
            "promptImage": prompt_image,
            "ratio": ratio,
            "duration": int(nearest(request.duration, (5, 10))),
            "seed": request.seed % 4294967295,
        }
        if request.prompt:
            body["promptText"] = request.prompt[:1000]
        body.update(option_inputs(self.options))
        return body

    def submit(self, request: ProviderRequest) -> Submitted:
        body = self.body(request)
        data = self.call("POST", f"{self.base_url}/v1/image_to_video", json=body)
        task = str(data.get("id", ""))
        if not task:
            raise RenderError("runway: the task has no id")
        return Submitted(
            job_id=task,
            poll_url=f"{self.base_url}/v1/tasks/{task}",
            model_version=f"{self.model} (API {self.headers()['X-Runway-Version']})",
            seed=body["seed"],
        )

    def cancel(self, job: Submitted) -> None:
        # Runway cancels a running, pending or throttled task on DELETE (and deletes others).
        self.call("DELETE", job.poll_url)

    def poll(self, job: Submitted) -> Poll:
        data = self.call("GET", job.poll_url)
        status = data.get("status")
        if status in ("FAILED", "CANCELLED"):
            code = data.get("failureCode")
            reason = str(data.get("failure") or status)
            return Poll("failed", error=f"{reason} ({code})" if code else reason)
        if status != "SUCCEEDED":
            return Poll("pending")
        output = data.get("output") or []
        return Poll("succeeded", video_url=str(output[0]) if output else "")


class RunwayEngine(ProviderEngine):
    adapter_class = RunwayAdapter
    info = EngineInfo(
        name="runway",
        version="1",
        accepts=frozenset({InputKind.ONE_IMAGE, InputKind.TWO_IMAGES}),
        min_duration=5.0,
        max_duration=10.0,
        description="Runway Gen-4 Turbo / Gen-3 Alpha Turbo image-to-video with the "
        "operator's KINORA_RUNWAY_API_KEY.",
        honours=frozenset({"prompt", "seed"}),
    )
