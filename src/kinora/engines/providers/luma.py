"""Luma's Dream Machine API (https://docs.lumalabs.ai, ``/dream-machine/v1``).

``luma:MODEL`` (``ray-2``, ``ray-flash-2``, ``ray-1-6``): ``POST
/dream-machine/v1/generations`` with ``prompt``, ``model``, ``aspect_ratio``, ``loop``,
``duration`` (``"5s"``/``"9s"``), ``resolution`` and ``keyframes`` (``frame0``/``frame1`` of
``{"type": "image", "url": ...}``); the generation is polled at ``GET
/dream-machine/v1/generations/{id}`` until ``state`` is ``completed`` (``assets.video``) or
``failed`` (``failure_reason``). Luma takes no seed and no negative prompt (lumaai-python,
``generation_create_params``: model, prompt, aspect_ratio, loop, duration, resolution,
keyframes, concepts, callback_url). A camera path is sent as a camera concept
(``concepts: [{"key": ...}]``) to the Ray 2 models, where Luma has that move.
"""

from __future__ import annotations

from typing import Any

from kinora.engines.base import EngineInfo, InputKind, RenderConfig
from kinora.engines.providers.base import (
    LUMA_CONCEPTS,
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

PATH = "/dream-machine/v1/generations"


class LumaAdapter(ProviderAdapter):
    name = "luma"
    default_base_url = "https://api.lumalabs.ai"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}

    def takes_concepts(self) -> bool:
        """Camera concepts are a Ray 2 feature (ray-2, ray-flash-2)."""
        return "ray-2" in self.model or "ray-flash-2" in self.model

    def honoured(self, config: RenderConfig | None = None) -> frozenset[str]:
        fixed = self.fixed_inputs()
        out = set() if "prompt" in fixed else {"prompt"}
        if (
            config is not None
            and config.camera in LUMA_CONCEPTS
            and self.takes_concepts()
            and "concepts" not in fixed
        ):
            out.add("camera_control")
        return frozenset(out)

    def body(self, request: ProviderRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "prompt": request.prompt or "natural, subtle motion",
            "model": self.model,
            "aspect_ratio": nearest_aspect(
                request.aspect_ratio, ["16:9", "4:3", "1:1", "3:4", "9:16"]
            ),
            "loop": request.loop,
            "duration": f"{int(nearest(request.duration, (5, 9)))}s",
            "resolution": self.options.get("resolution", "720p"),
        }
        if request.images:
            body["keyframes"] = {
                f"frame{i}": {"type": "image", "url": url}
                for i, url in enumerate(request.images[:2])
            }
        if request.camera in LUMA_CONCEPTS and self.takes_concepts():
            body["concepts"] = [{"key": LUMA_CONCEPTS[request.camera]}]
        body.update(option_inputs(self.options))
        return body

    def submit(self, request: ProviderRequest) -> Submitted:
        data = self.call("POST", f"{self.base_url}{PATH}", json=self.body(request))
        gen = str(data.get("id", ""))
        if not gen:
            raise RenderError("luma: the generation has no id")
        return Submitted(
            job_id=gen, poll_url=f"{self.base_url}{PATH}/{gen}", model_version=self.model
        )

    def cancel(self, job: Submitted) -> None:
        # Luma's API has no cancel: deleting the generation is how a caller drops it.
        self.call("DELETE", job.poll_url)

    def poll(self, job: Submitted) -> Poll:
        data = self.call("GET", job.poll_url)
        state = data.get("state")
        if state == "failed":
            return Poll("failed", error=str(data.get("failure_reason") or "failed"))
        if state != "completed":
            return Poll("pending")
        assets = data.get("assets") or {}
        return Poll(
            "succeeded",
            video_url=str(assets.get("video") or ""),
            model_version=str(data.get("model") or self.model),
        )


class LumaEngine(ProviderEngine):
    adapter_class = LumaAdapter
    info = EngineInfo(
        name="luma",
        version="1",
        accepts=frozenset(InputKind),
        max_duration=9.0,
        description="Luma Dream Machine (Ray 2, Ray Flash 2) with the operator's "
        "KINORA_LUMA_API_KEY.",
        honours=frozenset({"prompt"}),
        can_honour=frozenset({"camera_control"}),
    )
