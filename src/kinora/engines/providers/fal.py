"""fal's queue API (https://docs.fal.ai/model-endpoints/queue, as of 2025).

``fal:MODEL_ID`` (e.g. ``fal-ai/kling-video/v2.1/standard/image-to-video``): ``POST
https://queue.fal.run/{model_id}`` with the input as the JSON body and ``Authorization: Key
...`` answers ``request_id``, ``status_url`` and ``response_url``; ``GET status_url`` says
``IN_QUEUE``/``IN_PROGRESS``/``COMPLETED`` (an ``error`` field when it failed); ``GET
response_url`` gives the result, ``{"video": {"url": ...}, "seed": ...}``, or an error body.
Status and result are always requested from the configured base URL (the app id is the
first two segments of the model id), never from a host the answer names.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from kinora.engines.base import EngineInfo, InputKind, RenderConfig
from kinora.engines.providers.base import (
    Poll,
    ProviderAdapter,
    ProviderEngine,
    ProviderHTTPError,
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

FAL_FAMILIES: list[tuple[str, dict[str, Any]]] = [
    (
        "kling",
        dict(
            last="tail_image_url",
            seed=None,
            durations=(5, 10),
            unit="",
            negative="negative_prompt",
        ),
    ),
    ("minimax|hailuo", dict(last="end_image_url", seed=None, durations=(6, 10), aspect=None)),
    ("seedance", dict(last="end_image_url", durations=(5, 10), camera="camera_fixed")),
    ("pixverse", dict(last="tail_image_url", durations=(5, 8), negative="negative_prompt")),
    ("luma|ray", dict(last="end_image_url", seed=None, durations=(5, 9), unit="s")),
    ("veo", dict(last="last_frame_url", durations=(8,), unit="s", negative="negative_prompt")),
    ("wan", dict(last="end_image_url", durations=None, negative="negative_prompt")),
    ("hunyuan", dict(last=None, durations=None)),
]
"""Input names per model family on fal, from the endpoints' published input schemas
(``negative``: the negative-prompt input, None when the endpoint has none; ``camera``: how a
camera path is sent, "" when it is not)."""

FAL_EXCEPTIONS: list[tuple[str, dict[str, Any]]] = [
    (r"kling-video/(o\d|v3/turbo)|kling-video/.*(ai-avatar|motion-control)", dict(negative=None)),
    (r"seedance-2", dict(seed=None, camera="")),  # bytedance/seedance-2.0/*: neither
    (r"pixverse/(c1|swap)|pixverse/sound-effects", dict(negative=None)),
    (r"pixverse/.*effects", dict(seed=None)),
    (r"veo2/image-to-video|veo[\d.]*/reference-to-video", dict(negative=None, seed=None)),
    (
        r"krea-wan|wan-effects|wan-motion|wan-pro/|wan/.*/(turbo|distill)|wan/.*animate/"
        r"|wan/.*edit-video|wan-vace-apps/video-edit",
        dict(negative=None),
    ),
    (r"hunyuan-video-v1\.5", dict(negative="negative_prompt")),
]
"""Endpoints of a family whose schema differs (Kling O1/O3 and V3 Turbo, Seedance 2.0,
Pixverse C1, Veo 2 image-to-video, Wan Pro/Turbo/Distill, Hunyuan 1.5, ...)."""


def family_inputs(model: str) -> dict[str, Any]:
    """Input names of a model family on fal; durations are strings there (``"5"``, ``"5s"``)."""
    base: dict[str, Any] = dict(
        image="image_url",
        last="end_image_url",
        seed="seed",
        durations=None,
        unit="",
        aspect="aspect_ratio",
        negative=None,
        camera="",
    )
    return family_names(model, base, FAL_FAMILIES, FAL_EXCEPTIONS)


class FalAdapter(ProviderAdapter):
    name = "fal"
    default_base_url = "https://queue.fal.run"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Key {self.api_key}", "Content-Type": "application/json"}

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
            data["duration"] = (
                f"{int(nearest(request.duration, names['durations']))}{names['unit']}"
            )
        if names["aspect"]:
            data[names["aspect"]] = nearest_aspect(request.aspect_ratio, ["16:9", "9:16", "1:1"])
        if names["seed"]:
            data[names["seed"]] = request.seed
        data.update(option_inputs(self.options))
        return data

    def _app_url(self, request_id: str) -> str:
        app = "/".join(self.model.split("/")[:2])
        return f"{self.base_url}/{app}/requests/{request_id}"

    def _same_host(self, url: str) -> bool:
        a, b = urlsplit(url), urlsplit(self.base_url)
        return (a.scheme, a.netloc) == (b.scheme, b.netloc)

    def submit(self, request: ProviderRequest) -> Submitted:
        inputs = self.inputs(request)
        data = self.call("POST", f"{self.base_url}/{self.model}", json=inputs)
        request_id = str(data.get("request_id", ""))
        if not request_id:
            raise RenderError("fal: the queue answer has no request_id")
        status_url = str(data.get("status_url") or "")
        response_url = str(data.get("response_url") or "")
        cancel_url = str(data.get("cancel_url") or "")
        return Submitted(
            job_id=request_id,
            poll_url=status_url
            if self._same_host(status_url)
            else self._app_url(request_id) + "/status",
            result_url=response_url if self._same_host(response_url) else self._app_url(request_id),
            seed=inputs.get("seed"),
            cancel_url=cancel_url
            if self._same_host(cancel_url)
            else self._app_url(request_id) + "/cancel",
        )

    def cancel(self, job: Submitted) -> None:
        # The queue drops a request still waiting and signals a running one to stop.
        self.call("PUT", job.cancel_url)

    def poll(self, job: Submitted) -> Poll:
        data = self.call("GET", job.poll_url)
        status = str(data.get("status", ""))
        if data.get("error"):
            return Poll("failed", error=str(data["error"]))
        if status != "COMPLETED":
            return Poll("pending")
        try:
            result = self._call_once("GET", job.result_url, json=None)
        except ProviderHTTPError as exc:
            if exc.retryable:
                result = self.call("GET", job.result_url)
            else:
                return Poll("failed", error=exc.message)
        video = result.get("video") if isinstance(result, dict) else None
        url = video.get("url") if isinstance(video, dict) else video
        if not url:
            return Poll("failed", error=f"no video in the result: {str(result)[:300]}")
        seed = result.get("seed")
        return Poll(
            "succeeded",
            video_url=str(url),
            seed=int(seed) if isinstance(seed, int | float) else None,
            model_version=self.model,
        )


class FalEngine(ProviderEngine):
    adapter_class = FalAdapter
    info = EngineInfo(
        name="fal",
        version="1",
        accepts=frozenset(InputKind),
        max_duration=10.0,
        description="Hosted models on fal (Kling, Wan, Hunyuan, Luma, Veo, Minimax, Seedance, "
        "Pixverse...) with the operator's KINORA_FAL_API_KEY.",
        honours=frozenset({"prompt"}),
        can_honour=frozenset({"negative_prompt", "seed", "camera_control"}),
    )
    """``honours``: what every model gets; the negative prompt, seed and camera depend on the
    endpoint's family (:meth:`honoured_fields`)."""
