"""FASHN's API (https://docs.fashn.ai, "API Fundamentals" and "Virtual Try-On v1.6").

``fashn:MODEL_NAME`` (``tryon-v1.6``, ``tryon-v1.5``): ``POST {base}/v1/run`` with
``Authorization: Bearer ...`` and ``{"model_name": ..., "inputs": {"model_image",
"garment_image", "category", "seed", ...}}`` answers ``{"id": ..., "error": null}``; ``GET
{base}/v1/status/{id}`` says ``starting`` / ``in_queue`` / ``processing`` / ``completed``
(``output``: the result image URLs) / ``failed`` (``error``: ``{"name", "message"}``) /
``canceled`` / ``time_out`` (fashn-AI/fashn-python-sdk, ``PredictionStatusResponse``). Images
go inline as base64 data URIs, which FASHN accepts in place of URLs. FASHN documents no
cancel: a cancelled job runs out there (a few seconds).

FASHN answers an image (the person wearing the garment); :class:`FashnTryOnEngine` animates
it with the built-in try-on motion (see :mod:`kinora.engines.providers.tryon`).
"""

from __future__ import annotations

from typing import Any

from kinora.engines.base import EngineInfo, InputKind, RenderConfig
from kinora.engines.providers.base import (
    Poll,
    ProviderAdapter,
    ProviderRequest,
    Submitted,
    option_inputs,
)
from kinora.engines.providers.tryon import TRY_ON_HONOURS, TryOnProviderEngine, fashn_category
from kinora.errors import RenderError

PENDING = frozenset({"starting", "in_queue", "processing"})
"""FASHN's statuses of a prediction still running."""
ENDED = {
    "canceled": "the prediction was canceled at FASHN",
    "time_out": "the prediction timed out at FASHN",
}
"""FASHN's other final statuses besides completed and failed (the SDK's status type)."""


def fashn_error(error: Any) -> str:
    """FASHN's error object (``{"name": "ImageLoadError", "message": ...}``) as one line."""
    if isinstance(error, dict):
        name, message = str(error.get("name") or ""), str(error.get("message") or "")
        return f"{name}: {message}" if name and message else name or message or str(error)
    return str(error)


class FashnAdapter(ProviderAdapter):
    name = "fashn"
    default_base_url = "https://api.fashn.ai"
    accepts = frozenset({InputKind.TWO_IMAGES})

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}

    def honoured(self, config: RenderConfig | None = None) -> frozenset[str]:
        """The prompt picks FASHN's garment ``category`` (when it names a kind); the seed is
        FASHN's ``seed``."""
        fixed = self.fixed_inputs()
        return frozenset(
            {f for f, name in (("prompt", "category"), ("seed", "seed")) if name not in fixed}
        )

    def inputs(self, request: ProviderRequest) -> dict[str, Any]:
        if len(request.images) < 2:
            raise RenderError("fashn: a try-on needs the person's and the garment's images")
        data: dict[str, Any] = {
            "model_image": request.images[0],
            "garment_image": request.images[1],
            "category": fashn_category(request.prompt),
            "seed": request.seed,
        }
        data.update(option_inputs(self.options))
        return data

    def submit(self, request: ProviderRequest) -> Submitted:
        inputs = self.inputs(request)
        body = {"model_name": self.model, "inputs": inputs}
        data = self.call("POST", f"{self.base_url}/v1/run", json=body)
        if not isinstance(data, dict):
            raise RenderError("fashn: the run answer is not an object")
        if data.get("error"):
            raise RenderError(f"fashn: {fashn_error(data['error'])}")
        job = str(data.get("id") or "")
        if not job:
            raise RenderError("fashn: the run answer has no id")
        return Submitted(
            job_id=job,
            poll_url=f"{self.base_url}/v1/status/{job}",
            seed=inputs.get("seed") if isinstance(inputs.get("seed"), int) else None,
        )

    def poll(self, job: Submitted) -> Poll:
        data = self.call("GET", job.poll_url)
        if not isinstance(data, dict):
            return Poll("failed", error="the status answer is not an object")
        status = str(data.get("status") or "")
        if status == "failed" or (data.get("error") and status not in PENDING):
            return Poll("failed", error=fashn_error(data.get("error") or "the prediction failed"))
        if status in PENDING:
            return Poll("pending")
        if status in ENDED:
            return Poll("failed", error=ENDED[status])
        if status != "completed":
            return Poll("failed", error=f"unknown status {status!r}")
        output = data.get("output")
        url = output[0] if isinstance(output, list) and output else output
        if not isinstance(url, str) or not url:
            return Poll("failed", error=f"no image in the result: {str(data)[:300]}")
        return Poll("succeeded", video_url=url, model_version=self.model)


class FashnTryOnEngine(TryOnProviderEngine):
    adapter_class = FashnAdapter
    info = EngineInfo(
        name="fashn",
        version="1",
        accepts=frozenset({InputKind.TWO_IMAGES}),
        max_duration=10.0,
        description="Virtual try-on on FASHN's API (tryon-v1.6) with the operator's "
        "KINORA_FASHN_API_KEY; the dressed still is animated by kinora-tryon's motion.",
        honours=TRY_ON_HONOURS,
        can_honour=frozenset({"prompt"}),
    )
