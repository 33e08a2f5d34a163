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

from kinora.engines.base import EngineInfo, EngineInputs, InputKind, Render, RenderConfig
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
from kinora.engines.providers.tryon import (
    TRY_ON_HONOURS,
    TryOnProviderEngine,
    fashn_category,
    instruction,
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
        # faces imports this module: import it here, not at the top.
        from kinora.engines.providers.faces import FAL_ANIMATE_MODELS

        if FAL_ANIMATE_MODELS.match(self.model):
            return frozenset({"character_animate"} | ({"seed"} - self.fixed_inputs()))
        return honoured_inputs(self, family_inputs(self.model), config)

    def inputs(self, request: ProviderRequest) -> dict[str, Any]:
        from kinora.engines.providers.faces import PerformanceRequest, fal_animate_inputs

        if isinstance(request, PerformanceRequest):
            return fal_animate_inputs(request, self.options)
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

    output = "video"
    """What the endpoint makes (named in errors)."""

    def result_url(self, result: Any) -> str:
        """The made file's URL in a result: ``{"video": {"url": ...}}`` for video models."""
        video = result.get("video") if isinstance(result, dict) else None
        url = video.get("url") if isinstance(video, dict) else video
        return str(url) if url else ""

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
        url = self.result_url(result)
        if not url:
            return Poll("failed", error=f"no {self.output} in the result: {str(result)[:300]}")
        seed = result.get("seed") if isinstance(result, dict) else None
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
        can_honour=frozenset({"negative_prompt", "seed", "camera_control", "character_animate"}),
    )
    """``honours``: what every model gets; the negative prompt, seed and camera depend on the
    endpoint's family (:meth:`honoured_fields`); character_animate only Wan's animate models."""

    @classmethod
    def honours_for(cls, model: str) -> frozenset[str]:
        """What a target of this model can honour (character_animate: Wan's animate only)."""
        from kinora.engines.providers.faces import FAL_ANIMATE_MODELS

        if FAL_ANIMATE_MODELS.match(model):
            return frozenset({"seed", "character_animate"})
        return cls.info.reachable - {"character_animate"}

    def render(self, inputs: EngineInputs, config: RenderConfig) -> Render:
        from kinora.engines.providers.faces import FAL_ANIMATE_MODELS, performance_render

        if FAL_ANIMATE_MODELS.match(self.adapter.model):
            return performance_render(self, inputs, config)
        return super().render(inputs, config)


# --- try-on models on fal: an image of the person dressed, animated by kinora-tryon ------

FAL_TRY_ON: list[tuple[str, str]] = [
    ("kolors-virtual-try-on", "kolors"),
    ("fashn/tryon", "fashn"),
    ("nano-banana", "edit"),
    ("seedream", "edit"),
]
"""The input schema of each try-on family on fal, from the endpoints' published schemas:

- ``kolors``: ``fal-ai/kling/v1-5/kolors-virtual-try-on``: ``human_image_url``,
  ``garment_image_url``; answers ``{"image": {"url": ...}}``. No prompt, no seed.
- ``fashn``: ``fal-ai/fashn/tryon/v1.6`` (and v1.5): ``model_image``, ``garment_image``,
  ``category`` (auto | tops | bottoms | one-pieces), ``seed``; answers ``{"images": [{"url"}]}``.
- ``edit``: image-edit models given both pictures and a try-on instruction:
  ``fal-ai/nano-banana-pro/edit`` and ``fal-ai/bytedance/seedream/v4/edit`` (``prompt``,
  ``image_urls``, ``num_images``; Seedream also ``seed``); answer ``{"images": [{"url"}]}``.

Any other model id is sent as an edit model (the widest schema on fal)."""


def try_on_family(model: str) -> str:
    m = model.lower()
    return next((family for pattern, family in FAL_TRY_ON if pattern in m), "edit")


class FalTryOnAdapter(FalAdapter):
    """fal's queue, for try-on models: two images in, one image out."""

    accepts = frozenset({InputKind.TWO_IMAGES})
    output = "image"

    def takes_seed(self) -> bool:
        family = try_on_family(self.model)
        return family == "fashn" or (family == "edit" and "seedream" in self.model.lower())

    def honoured(self, config: RenderConfig | None = None) -> frozenset[str]:
        family, fixed = try_on_family(self.model), self.fixed_inputs()
        out = set()
        if family != "kolors" and not {"prompt", "category"} & fixed:
            out.add("prompt")  # the edit instruction, or FASHN's category
        if self.takes_seed() and "seed" not in fixed:
            out.add("seed")
        return frozenset(out)

    def inputs(self, request: ProviderRequest) -> dict[str, Any]:
        if len(request.images) < 2:
            raise RenderError("fal: a try-on needs the person's and the garment's images")
        person, garment = request.images[0], request.images[1]
        family = try_on_family(self.model)
        data: dict[str, Any]
        if family == "kolors":
            data = {"human_image_url": person, "garment_image_url": garment}
        elif family == "fashn":
            data = {
                "model_image": person,
                "garment_image": garment,
                "category": fashn_category(request.prompt),
            }
        else:
            data = {
                "prompt": instruction(request.prompt),
                "image_urls": [person, garment],
                "num_images": 1,
            }
        if self.takes_seed():
            data["seed"] = request.seed
        data.update(option_inputs(self.options))
        return data

    def result_url(self, result: Any) -> str:
        """``{"image": {"url"}}`` (Kolors) or ``{"images": [{"url"}, ...]}`` (the others)."""
        if not isinstance(result, dict):
            return ""
        found = result.get("image")
        if found is None and isinstance(result.get("images"), list) and result["images"]:
            found = result["images"][0]
        url = found.get("url") if isinstance(found, dict) else found
        return str(url) if isinstance(url, str) and url else ""


class FalTryOnEngine(TryOnProviderEngine):
    adapter_class = FalTryOnAdapter
    info = EngineInfo(
        name="fal-tryon",
        version="1",
        accepts=frozenset({InputKind.TWO_IMAGES}),
        max_duration=10.0,
        description="Virtual try-on models on fal (Kling Kolors, FASHN, Nano Banana Pro and "
        "Seedream edit) with the operator's KINORA_FAL_API_KEY; the dressed still is "
        "animated by kinora-tryon's motion.",
        honours=TRY_ON_HONOURS,
        can_honour=frozenset({"prompt"}),
    )
