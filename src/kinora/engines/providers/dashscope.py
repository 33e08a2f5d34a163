"""Alibaba Wan through DashScope's asynchronous video synthesis (Model Studio).

Followed: Alibaba's official DashScope Python SDK (dashscope/dashscope-sdk-python,
``dashscope/aigc/video_synthesis.py`` for the inputs and the ``image2video`` task of the
keyframe models, ``dashscope/client/base_api.py`` for task polling and cancel) and Model
Studio's Wan video API reference (parameters per model, error codes). The default host is the
international endpoint ``https://dashscope-intl.aliyuncs.com`` (a key from the mainland region
points ``KINORA_PROVIDER_BASE_URLS`` ``dashscope=https://dashscope.aliyuncs.com``). Every
request carries ``Authorization: Bearer <KINORA_DASHSCOPE_API_KEY>``, and

- ``POST /api/v1/services/aigc/video-generation/video-synthesis`` with ``X-DashScope-Async:
  enable`` (the only mode these models have) and ``{model, input: {prompt, negative_prompt,
  img_url}, parameters: {resolution | size, duration, seed, prompt_extend, watermark}}``
  starts text-to-video (``size`` "W*H") or image-to-video (``img_url``, ``resolution``); the
  keyframe models (``*-kf2v-*``) go to ``/api/v1/services/aigc/image2video/video-synthesis``
  with ``input.first_frame_url`` and ``input.last_frame_url``. The answer is
  ``{"output": {"task_id", "task_status": "PENDING"}, "request_id"}``;
- ``GET /api/v1/tasks/{task_id}`` says ``output.task_status``: ``PENDING``, ``RUNNING``, then
  ``SUCCEEDED`` (``output.video_url``, a signed URL valid 24 h), ``FAILED`` (``output.code``,
  ``output.message``), ``CANCELED`` or ``UNKNOWN`` (the task expired);
- ``POST /api/v1/tasks/{task_id}/cancel`` cancels a PENDING task (a running one runs out).

Errors come as ``{"request_id", "code", "message"}`` with the HTTP status: ``Throttling*`` (429)
and 5xx are retried with backoff, honouring Retry-After; ``DataInspectionFailed`` (the content
checks refused the prompt or an image, or the video made) and ``IPInfringementSuspect`` are
named plainly, as are a bad key and an account in arrears (:func:`dashscope_message`).

Images go inline as ``data:image/jpeg;base64,...``, which ``img_url`` and the keyframe URLs
take. Wan has no camera parameter: the camera path reaches the model as its camera sentence
added to the prompt (as for Veo), recorded in the render's history entry (``camera``). Wan 2.5
and 2.6 make a soundtrack unless told not to: ``audio`` is sent false (Kinora's own soundtrack
is the one the media carries) unless the route says ``audio=true``.

Targets (``dashscope:MODEL``): ``wan2.2-i2v-plus``, ``wan2.2-i2v-flash``, ``wan2.5-i2v-preview``,
``wan2.6-i2v`` (a first frame); ``wan2.2-t2v-plus``, ``wan2.5-t2v-preview``, ``wan2.6-t2v``
(text); ``wan2.2-kf2v-flash``, ``wan2.1-kf2v-plus`` (first and last frames). Route options:
``resolution`` (480P, 720P, 1080P), ``prompt_extend=false``, ``audio=true``, ``watermark=true``
and ``input.NAME=VALUE`` (extra ``parameters``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from kinora.engines.base import EngineInfo, InputKind, RenderConfig
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
from kinora.engines.providers.gemini import camera_sentence
from kinora.errors import RenderError

VIDEO_SYNTHESIS = "/api/v1/services/aigc/video-generation/video-synthesis"
KEYFRAME_SYNTHESIS = "/api/v1/services/aigc/image2video/video-synthesis"

ERROR_MEANINGS: dict[str, str] = {
    "InvalidApiKey": "the API key is invalid",
    "Arrearage": "the account is in arrears",
    "AccessDenied": "no access to this model",
    "AccessDenied.Unpurchased": "the model is not activated for this account",
    "DataInspectionFailed": "Alibaba's content checks refused the input or the video made",
    "IPInfringementSuspect": "Alibaba's checks suspect the input infringes intellectual property",
    "InvalidParameter": "invalid parameter",
    "Throttling": "rate limit",
    "Throttling.RateQuota": "rate limit",
    "Throttling.AllocationQuota": "quota for the period used up",
    "InternalError": "internal error",
}
"""DashScope error codes a video task meets (Model Studio's error-code page)."""

PENDING = frozenset({"PENDING", "RUNNING"})

Kind = Literal["t2v", "i2v", "kf2v"]

SIZES: dict[str, dict[str, str]] = {
    "480P": {"16:9": "832*480", "9:16": "480*832", "1:1": "624*624"},
    "720P": {
        "16:9": "1280*720",
        "9:16": "720*1280",
        "1:1": "960*960",
        "4:3": "1088*832",
        "3:4": "832*1088",
    },
    "1080P": {
        "16:9": "1920*1080",
        "9:16": "1080*1920",
        "1:1": "1440*1440",
        "4:3": "1632*1248",
        "3:4": "1248*1632",
    },
}
"""Text-to-video ``size`` values by tier and shape (Wan's reference lists these)."""


@dataclass(frozen=True)
class WanModel:
    kind: Kind
    durations: tuple[int, ...]
    resolutions: tuple[str, ...]
    audio: bool = False


WAN_MODELS: tuple[tuple[str, WanModel], ...] = (
    (r"kf2v-plus", WanModel("kf2v", (5,), ("720P",))),
    (r"kf2v", WanModel("kf2v", (5,), ("480P", "720P", "1080P"))),
    (r"^wan2\.6-t2v", WanModel("t2v", (5, 10, 15), ("720P", "1080P"), True)),
    (r"^wan2\.6-i2v", WanModel("i2v", (5, 10, 15), ("720P", "1080P"), True)),
    (r"^wan2\.5-t2v", WanModel("t2v", (5, 10), ("480P", "720P", "1080P"), True)),
    (r"^wan2\.5-i2v", WanModel("i2v", (5, 10), ("480P", "720P", "1080P"), True)),
    (r"^wan2\.2-t2v", WanModel("t2v", (5,), ("480P", "1080P"))),
    (r"^wan2\.2-i2v-plus", WanModel("i2v", (5,), ("480P", "1080P"))),
    (r"^wan2\.2-i2v", WanModel("i2v", (5,), ("480P", "720P", "1080P"))),
    (r"t2v", WanModel("t2v", (5,), ("480P", "720P"))),
    (r"i2v", WanModel("i2v", (5,), ("480P", "720P"))),
)
"""Wan families by model id: what they take (Model Studio's Wan pages). An id matching none is
treated as image-to-video, 5 s, with no resolution sent."""

UNKNOWN_MODEL = WanModel("i2v", (5,), ())


def wan_model(model: str) -> WanModel:
    for pattern, info in WAN_MODELS:
        if re.search(pattern, model.lower()):
            return info
    return UNKNOWN_MODEL


def dashscope_message(code: str, message: str) -> str:
    """``<meaning>: <DashScope's message> (<code>)``."""
    meaning = ERROR_MEANINGS.get(code, ERROR_MEANINGS.get(code.split(".")[0], ""))
    text = message.strip() or meaning or "error"
    if meaning and meaning.lower() not in text.lower() and code != "InvalidParameter":
        text = f"{meaning}: {text}"
    return f"{text} ({code})" if code else text


class DashScopeAdapter(ProviderAdapter):
    name = "dashscope"
    default_base_url = "https://dashscope-intl.aliyuncs.com"

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.api_key}",
            "Content-Type": "application/json",
            "X-DashScope-Async": "enable",
        }

    @property
    def family(self) -> WanModel:
        return wan_model(self.model)

    def honoured(self, config: RenderConfig | None = None) -> frozenset[str]:
        fixed = self.fixed_inputs()
        out = {"negative_prompt"}
        if "seed" not in fixed:
            out.add("seed")
        if "prompt" not in fixed:
            out.add("prompt")
            if config is not None and camera_sentence(config.camera):
                out.add("camera_control")
        return frozenset(out)

    def _call_once(self, method: str, url: str, *, json: Any) -> Any:
        response = self._send(method, url, json=json)
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            code = str(body.get("code") or "") if isinstance(body, dict) else ""
            message = str(body.get("message") or "") if isinstance(body, dict) else ""
            if not code and not message:
                message = response.text.strip()[:300]
            retry_after = response.headers.get("retry-after", "")
            raise ProviderHTTPError(
                f"HTTP {response.status_code}: {dashscope_message(code, message)}",
                retryable=response.status_code == 429
                or response.status_code >= 500
                or code.startswith("Throttling"),
                retry_after=float(retry_after) if retry_after.isdigit() else None,
            )
        if not isinstance(body, dict):
            raise ProviderHTTPError("response is not JSON", retryable=True)
        return body

    # -- the request -----------------------------------------------------------------------

    def resolution(self, request: ProviderRequest) -> str:
        family = self.family
        if "resolution" in self.options:
            wanted = self.options["resolution"].upper()
            if family.resolutions and wanted not in family.resolutions:
                raise RenderError(
                    f"dashscope: {self.model} takes resolution "
                    f"{', '.join(family.resolutions)}, not {wanted}"
                )
            return wanted
        if not family.resolutions:
            return ""
        tall = min(request.width, request.height) > 720
        if tall and "1080P" in family.resolutions:
            return "1080P"
        for choice in ("720P", "480P", "1080P"):
            if choice in family.resolutions:
                return choice
        return family.resolutions[0]

    def prompt_text(self, request: ProviderRequest) -> str:
        sentence = camera_sentence(request.camera)
        return " ".join(p for p in (request.prompt.strip(), sentence) if p)[:800]

    def body(self, request: ProviderRequest) -> tuple[str, dict[str, Any]]:
        """The endpoint path and the body for this request."""
        family = self.family
        wanted: dict[Kind, int] = {"t2v": 0, "i2v": 1, "kf2v": 2}
        if len(request.images) != wanted[family.kind]:
            what = {"t2v": "text only", "i2v": "one first frame", "kf2v": "first and last frames"}
            raise RenderError(f"dashscope: {self.model} takes {what[family.kind]}")
        data: dict[str, Any] = {}
        prompt = self.prompt_text(request)
        if prompt:
            data["prompt"] = prompt
        if request.negative_prompt:
            data["negative_prompt"] = request.negative_prompt[:500]
        path = VIDEO_SYNTHESIS
        if family.kind == "i2v":
            data["img_url"] = request.images[0]
        elif family.kind == "kf2v":
            path = KEYFRAME_SYNTHESIS
            data["first_frame_url"], data["last_frame_url"] = request.images[:2]
        elif not prompt:
            raise RenderError(f"dashscope: {self.model} needs a prompt")
        parameters: dict[str, Any] = {
            "duration": int(nearest(request.duration, family.durations)),
            "seed": request.seed % 2**31,
        }
        resolution = self.resolution(request)
        if family.kind == "t2v" and resolution:
            sizes = SIZES[resolution]
            parameters["size"] = sizes[nearest_aspect(request.aspect_ratio, list(sizes))]
        elif resolution:
            parameters["resolution"] = resolution
        if "prompt_extend" in self.options:
            parameters["prompt_extend"] = self.options["prompt_extend"].lower() != "false"
        if "watermark" in self.options:
            parameters["watermark"] = self.options["watermark"].lower() == "true"
        if family.audio:
            parameters["audio"] = self.options.get("audio", "").lower() == "true"
        parameters.update(option_inputs(self.options))
        return path, {"model": self.model, "input": data, "parameters": parameters}

    def submit(self, request: ProviderRequest) -> Submitted:
        path, body = self.body(request)
        data = self.call("POST", f"{self.base_url}{path}", json=body)
        task = str((data.get("output") or {}).get("task_id") or "")
        if not task:
            raise RenderError("dashscope: the answer has no task_id")
        return Submitted(
            job_id=task,
            poll_url=f"{self.base_url}/api/v1/tasks/{task}",
            cancel_url=f"{self.base_url}/api/v1/tasks/{task}/cancel",
            model_version=self.model,
            seed=body["parameters"].get("seed"),
        )

    def poll(self, job: Submitted) -> Poll:
        data = self.call("GET", job.poll_url)
        output = data.get("output") or {}
        status = str(output.get("task_status") or "")
        if status in PENDING:
            return Poll("pending")
        if status == "SUCCEEDED":
            url = str(output.get("video_url") or "")
            if not url:
                return Poll("failed", error="the task succeeded without a video_url")
            usage = data.get("usage") or {}
            seconds = usage.get("video_duration") if isinstance(usage, dict) else None
            spend = {"video_seconds": seconds} if isinstance(seconds, int | float) else {}
            return Poll("succeeded", video_url=url, model_version=self.model, spend=spend)
        if status == "FAILED":
            code, message = str(output.get("code") or ""), str(output.get("message") or "")
            return Poll("failed", error=dashscope_message(code, message or "the task failed"))
        if status == "CANCELED":
            return Poll("failed", error="the task was cancelled")
        if status == "UNKNOWN":
            return Poll("failed", error="the task is unknown to DashScope (expired)")
        return Poll("pending")

    def cancel(self, job: Submitted) -> None:
        """DashScope cancels a PENDING task; a running one it refuses (logged, runs out)."""
        self.call("POST", job.cancel_url)


class DashScopeEngine(ProviderEngine):
    """Wan on Alibaba's DashScope with the operator's KINORA_DASHSCOPE_API_KEY."""

    adapter_class: ClassVar[type[ProviderAdapter]] = DashScopeAdapter
    info = EngineInfo(
        name="dashscope",
        version="1",
        accepts=frozenset(InputKind),
        min_duration=5.0,
        max_duration=15.0,
        description="Alibaba Wan (2.6, 2.5, 2.2; text, image and first-last-frame models) on "
        "DashScope with the operator's KINORA_DASHSCOPE_API_KEY.",
        honours=frozenset({"prompt", "negative_prompt", "seed"}),
        can_honour=frozenset({"camera_control"}),
    )

    @classmethod
    def accepts_for(cls, model: str) -> frozenset[InputKind]:
        kinds: dict[Kind, InputKind] = {
            "t2v": InputKind.TEXT,
            "i2v": InputKind.ONE_IMAGE,
            "kf2v": InputKind.TWO_IMAGES,
        }
        return frozenset({kinds[wan_model(model).kind]})

    @classmethod
    def honours_for(cls, model: str) -> frozenset[str]:
        return frozenset({"prompt", "negative_prompt", "seed"})

    def camera_sent(self, camera: str) -> dict[str, str]:
        """Wan has no camera parameter: the path's sentence goes in the prompt."""
        sentence = camera_sentence(camera)
        return {"sent_as": "prompt", "text": sentence} if sentence else {}
