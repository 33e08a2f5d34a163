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

``runway:act_two`` is Runway's character performance (runwayml sdk-python,
``character_performance_create_params``): ``POST /v1/character_performance`` with
``character`` ``{"type": "image", "uri": ...}`` (the character image), ``reference`` ``{"type":
"video", "uri": ...}`` (the driving video, 3 to 30 s), ``model: "act_two"``, ``ratio`` (one of
its six sizes), ``seed`` and ``bodyControl`` (on: the driver's gestures move the body too),
polled at ``/v1/tasks/{id}`` as every task. It runs character_animate requests with a driving
video that an operator routes to it; no other Runway model honours character_animate.
"""

from __future__ import annotations

from typing import Any

from kinora.engines.base import EngineInfo, EngineInputs, InputKind, Render, RenderConfig
from kinora.engines.providers.base import (
    Poll,
    ProviderAdapter,
    ProviderEngine,
    ProviderRequest,
    Submitted,
    aspect_of,
    nearest,
    nearest_aspect,
    option_inputs,
)
from kinora.engines.providers.faces import PerformanceRequest, performance_render
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
    "act_two": {
        "16:9": "1280:720",
        "9:16": "720:1280",
        "4:3": "1104:832",
        "3:4": "832:1104",
        "1:1": "960:960",
    },
}

CHARACTER_MODELS = frozenset({"act_two"})
"""Runway's character performance models (``/v1/character_performance``)."""


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
        if self.model in CHARACTER_MODELS:
            return frozenset({"character_animate"} | ({"seed"} - ({"seed"} & fixed)))
        sent = {"prompt": "promptText", "seed": "seed"}
        return frozenset(field for field, name in sent.items() if name not in fixed)

    def performance_body(self, request: PerformanceRequest) -> dict[str, Any]:
        ratios = RATIOS["act_two"]
        ratio = ratios[nearest_aspect(aspect_of(request.width, request.height), list(ratios))]
        body: dict[str, Any] = {
            "model": self.model,
            "character": {"type": "image", "uri": request.images[0]},
            "reference": {"type": "video", "uri": request.reference},
            "ratio": ratio,
            "seed": request.seed % 4294967295,
            "bodyControl": True,
        }
        body.update(option_inputs(self.options))
        return body

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
        if isinstance(request, PerformanceRequest):
            if self.model not in CHARACTER_MODELS:
                raise RenderError(f"runway: {self.model} is not a character performance model")
            body = self.performance_body(request)
            path = "/v1/character_performance"
        elif self.model in CHARACTER_MODELS:
            raise RenderError(f"runway: {self.model} needs a character and a driving video")
        else:
            body, path = self.body(request), "/v1/image_to_video"
        data = self.call("POST", f"{self.base_url}{path}", json=body)
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
        honours=frozenset({"seed"}),
        can_honour=frozenset({"prompt", "character_animate"}),
    )
    """``prompt`` for the image-to-video models, character_animate for ``act_two`` only
    (:meth:`honours_for`)."""

    @classmethod
    def accepts_for(cls, model: str) -> frozenset[InputKind]:
        if model in CHARACTER_MODELS:
            return frozenset({InputKind.ONE_IMAGE})
        return super().accepts_for(model)

    @classmethod
    def honours_for(cls, model: str) -> frozenset[str]:
        """What a target of this model honours (character_animate: ``act_two`` only)."""
        if model in CHARACTER_MODELS:
            return frozenset({"seed", "character_animate"})
        return frozenset({"prompt", "seed"})

    def render(self, inputs: EngineInputs, config: RenderConfig) -> Render:
        if self.adapter.model not in CHARACTER_MODELS:
            return super().render(inputs, config)
        return performance_render(self, inputs, config)
