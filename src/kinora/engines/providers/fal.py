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

from kinora.engines.base import EngineInfo, InputKind
from kinora.engines.providers.base import (
    Poll,
    ProviderAdapter,
    ProviderEngine,
    ProviderHTTPError,
    ProviderRequest,
    Submitted,
    nearest,
    nearest_aspect,
    option_inputs,
)
from kinora.errors import RenderError


def family_inputs(model: str) -> dict[str, Any]:
    """Input names of a model family on fal; durations are strings there (``"5"``, ``"5s"``)."""
    m = model.lower()
    table: list[tuple[str, dict[str, Any]]] = [
        ("kling", dict(last="tail_image_url", seed=None, durations=(5, 10), unit="")),
        ("minimax", dict(last="end_image_url", seed=None, durations=(6, 10), unit="", aspect=None)),
        ("hailuo", dict(last="end_image_url", seed=None, durations=(6, 10), unit="", aspect=None)),
        ("seedance", dict(last="end_image_url", durations=(5, 10), unit="")),
        ("pixverse", dict(last="tail_image_url", durations=(5, 8), unit="")),
        ("luma", dict(last="end_image_url", seed=None, durations=(5, 9), unit="s")),
        ("ray", dict(last="end_image_url", seed=None, durations=(5, 9), unit="s")),
        ("veo", dict(last="last_frame_url", durations=(8,), unit="s")),
        ("wan", dict(last="end_image_url", durations=None)),
        ("hunyuan", dict(last=None, durations=None)),
    ]
    base: dict[str, Any] = dict(
        image="image_url",
        last="end_image_url",
        seed="seed",
        durations=None,
        unit="",
        aspect="aspect_ratio",
    )
    for key, names in table:
        if key in m:
            return {**base, **names}
    return base


class FalAdapter(ProviderAdapter):
    name = "fal"
    default_base_url = "https://queue.fal.run"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Key {self.api_key}", "Content-Type": "application/json"}

    def inputs(self, request: ProviderRequest) -> dict[str, Any]:
        names = family_inputs(self.model)
        data = self.prompt_and_frames(request, image=names["image"], last=names["last"])
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
    )
