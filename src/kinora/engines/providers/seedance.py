"""ByteDance Seedance through BytePlus ModelArk (https://ark.ap-southeast.bytepluses.com).

Followed: BytePlus's official Python SDK (byteplus-sdk/byteplus-python-sdk-v2,
``byteplussdkarkruntime/resources/content_generation/tasks.py`` for the calls,
``types/content_generation/create_task_content_param.py`` for the ``content`` items and
``types/content_generation/content_generation_task.py`` for the task answer) and ModelArk's
video-generation API reference (request parameters and the error-code page). Every request
carries ``Authorization: Bearer <KINORA_BYTEPLUS_API_KEY>`` (an Ark key is bound to its
region; ``KINORA_PROVIDER_BASE_URLS`` ``byteplus=...`` points at another one), and

- ``POST /api/v3/contents/generations/tasks`` ``{model, content: [{"type": "text", "text"},
  {"type": "image_url", "image_url": {"url"}, "role": "first_frame" | "last_frame"}], ratio,
  duration, resolution, seed, camera_fixed, watermark, generate_audio}`` answers ``{"id"}``;
- ``GET /api/v3/contents/generations/tasks/{id}`` says ``status``: ``queued``, ``running``,
  then ``succeeded`` (``content.video_url``, the ``seed`` used), ``failed`` (``error.code``,
  ``error.message``), ``cancelled`` or ``expired``;
- ``DELETE /api/v3/contents/generations/tasks/{id}`` cancels a queued task (a running one
  cannot be stopped: ModelArk refuses, the log says so and the task runs out there).

Errors come as ``{"error": {"code", "message", "param", "type"}}`` with the HTTP status. Rate
limits (``RateLimitExceeded.*``, ``ServerOverloaded``: 429) and 5xx are retried with backoff,
honouring Retry-After; a used-up quota or an inference limit the account set (``QuotaExceeded``,
``SetLimitExceeded``, also 429) and an account in arrears are not, since another attempt would
meet the same wall. ModelArk's content checks refuse a prompt or image at submit
(``InputTextSensitiveContentDetected``, ``InputImageSensitiveContentDetected``) or fail the task
(``OutputVideoSensitiveContentDetected``): :func:`ark_message` says which, in plain words.

Images go inline as ``data:image/jpeg;base64,...`` URLs, which ``image_url.url`` takes.
Seedance's only camera parameter is ``camera_fixed``: the Static path sends ``camera_fixed:
true`` on the models that take it; every other path reaches the model as the camera sentence of
the path added to the prompt (as for Veo). The render's history entry records which
(``camera``). ``generate_audio`` is sent false on the models that make sound (Kinora's own
soundtrack is the one the media carries), unless the route says ``audio=true``.

Targets (``byteplus:MODEL``): ``seedance-1-0-pro-250528`` (text, a first frame, first and last
frames), ``seedance-1-0-pro-fast-251015`` (text or a first frame), ``seedance-1-0-lite-t2v-250428``
(text), ``seedance-1-0-lite-i2v-250428`` (a first frame, first and last frames),
``seedance-1-5-pro-251215`` and ``dreamina-seedance-2-0-260128`` (and its ``-fast-``). Route
options: ``resolution`` (480p, 720p, 1080p), ``audio=true``, ``watermark=true`` and
``input.NAME=VALUE`` (extra body fields).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from kinora.engines.base import EngineInfo, InputKind, RenderConfig
from kinora.engines.providers.base import (
    Poll,
    ProviderAdapter,
    ProviderEngine,
    ProviderHTTPError,
    ProviderRequest,
    Submitted,
    input_kinds,
    nearest,
    nearest_aspect,
    option_inputs,
)
from kinora.engines.providers.gemini import camera_sentence
from kinora.errors import RenderError

TASKS = "/api/v3/contents/generations/tasks"

ERROR_MEANINGS: dict[str, str] = {
    "AuthenticationError": "the API key is missing or invalid",
    "AccountOverdueError": "the account is in arrears",
    "AccessDenied": "no access to this resource",
    "ModelNotOpen": "the model is not activated for this account (ModelArk console)",
    "InvalidEndpointOrModel.NotFound": "no such model or endpoint",
    "QuotaExceeded": "the account's quota is used up",
    "SetLimitExceeded": "the inference limit set for this account was reached",
    "InputTextSensitiveContentDetected": "ModelArk's content checks refused the prompt",
    "InputImageSensitiveContentDetected": "ModelArk's content checks refused an input image",
    "OutputVideoSensitiveContentDetected": "ModelArk's content checks refused the video made",
    "OutputAudioSensitiveContentDetected": "ModelArk's content checks refused the audio made",
}
"""ModelArk error codes a video task meets, by meaning (the part before a ``.`` suffix such as
``.PolicyViolation`` or ``.PrivacyInformation``)."""

NOT_RETRYABLE = frozenset({"QuotaExceeded", "SetLimitExceeded", "AccountOverdueError"})
"""429s and others that another attempt cannot get past."""

PENDING = frozenset({"queued", "running"})

RATIOS = ("16:9", "4:3", "1:1", "3:4", "9:16")


@dataclass(frozen=True)
class SeedanceModel:
    """What one Seedance family takes (ModelArk's model pages and parameter reference)."""

    text: bool
    image: bool
    last_frame: bool
    durations: tuple[int, ...]
    resolutions: tuple[str, ...]
    camera_fixed: bool
    audio: bool = False


SEEDANCE_MODELS: tuple[tuple[str, SeedanceModel], ...] = (
    (
        r"seedance-2-0",
        SeedanceModel(True, True, True, tuple(range(4, 16)), ("480p", "720p"), False, True),
    ),
    (
        r"seedance-1-5-pro",
        SeedanceModel(True, True, True, tuple(range(4, 13)), ("480p", "720p", "1080p"), True, True),
    ),
    (
        r"seedance-1-0-pro-fast",
        SeedanceModel(True, True, False, tuple(range(2, 13)), ("480p", "720p", "1080p"), True),
    ),
    (
        r"seedance-1-0-pro",
        SeedanceModel(True, True, True, tuple(range(2, 13)), ("480p", "720p", "1080p"), True),
    ),
    (
        r"seedance-1-0-lite-t2v",
        SeedanceModel(True, False, False, tuple(range(2, 13)), ("480p", "720p", "1080p"), True),
    ),
    (
        r"seedance-1-0-lite-i2v",
        SeedanceModel(False, True, True, tuple(range(2, 13)), ("480p", "720p", "1080p"), True),
    ),
)
"""Seedance families by model id (the id carries a date suffix that changes with releases)."""

UNKNOWN_MODEL = SeedanceModel(True, True, False, (5, 10), (), False)
"""A model Kinora has no entry for: no last frame, 5 or 10 s, no resolution or camera_fixed."""


def seedance_model(model: str) -> SeedanceModel:
    for pattern, info in SEEDANCE_MODELS:
        if re.search(pattern, model.lower()):
            return info
    return UNKNOWN_MODEL


def ark_error(body: Any) -> tuple[str, str]:
    """``(code, message)`` of ModelArk's error object (of an error answer or a failed task)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    return str(error.get("code") or ""), str(error.get("message") or "").strip()


def ark_message(code: str, message: str) -> str:
    """``<meaning>: <ModelArk's message> (<code>)``, the meaning first for content refusals."""
    meaning = ERROR_MEANINGS.get(code.split(".")[0], "")
    text = message or meaning or "error"
    if meaning and meaning.lower() not in text.lower():
        text = f"{meaning}: {text}"
    return f"{text} ({code})" if code else text


class SeedanceAdapter(ProviderAdapter):
    name = "byteplus"
    default_base_url = "https://ark.ap-southeast.bytepluses.com"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}

    @property
    def family(self) -> SeedanceModel:
        return seedance_model(self.model)

    def camera(self, camera: str) -> dict[str, Any]:
        """How the path reaches the model, as the history entry records it: the parameter
        ``camera_fixed=true`` for Static on the models that take it, else the prompt
        sentence; {} for none."""
        if camera == "Static" and self.family.camera_fixed:
            return {"sent_as": "parameter", "text": "camera_fixed=true"}
        sentence = camera_sentence(camera)
        return {"sent_as": "prompt", "text": sentence} if sentence else {}

    def honoured(self, config: RenderConfig | None = None) -> frozenset[str]:
        fixed = self.fixed_inputs()
        out = set() if "prompt" in fixed else {"prompt"}
        if "seed" not in fixed:
            out.add("seed")
        if config is not None:
            sent = self.camera(config.camera)
            blocked = "camera_fixed" if sent.get("sent_as") == "parameter" else "prompt"
            if sent and blocked not in fixed:
                out.add("camera_control")
        return frozenset(out)

    def _call_once(self, method: str, url: str, *, json: Any) -> Any:
        response = self._send(method, url, json=json)
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        if response.status_code >= 400:
            code, message = ark_error(body)
            if not code and not message:
                message = response.text.strip()[:300]
            retry_after = response.headers.get("retry-after", "")
            retryable = response.status_code == 429 or response.status_code >= 500
            raise ProviderHTTPError(
                f"HTTP {response.status_code}: {ark_message(code, message)}",
                retryable=retryable and code.split(".")[0] not in NOT_RETRYABLE,
                retry_after=float(retry_after) if retry_after.isdigit() else None,
            )
        if body is None and method == "DELETE":
            return None
        if not isinstance(body, dict):
            raise ProviderHTTPError("response is not JSON", retryable=True)
        return body

    # -- the request -----------------------------------------------------------------------

    def resolution(self, request: ProviderRequest) -> str:
        family = self.family
        if "resolution" in self.options:
            wanted = self.options["resolution"].lower()
            if family.resolutions and wanted not in family.resolutions:
                raise RenderError(
                    f"byteplus: {self.model} takes resolution {', '.join(family.resolutions)}, "
                    f"not {wanted}"
                )
            return wanted
        if not family.resolutions:
            return ""
        if min(request.width, request.height) > 720 and "1080p" in family.resolutions:
            return "1080p"
        return "720p" if "720p" in family.resolutions else family.resolutions[0]

    def body(self, request: ProviderRequest) -> dict[str, Any]:
        family = self.family
        if not request.images and not family.text:
            raise RenderError(f"byteplus: {self.model} needs a first frame")
        if request.images and not family.image:
            raise RenderError(f"byteplus: {self.model} is a text-to-video model")
        if len(request.images) > 1 and not family.last_frame:
            raise RenderError(f"byteplus: {self.model} takes no last frame")
        camera = self.camera(request.camera)
        sentence = camera["text"] if camera.get("sent_as") == "prompt" else ""
        prompt = " ".join(p for p in (request.prompt.strip(), sentence) if p)
        content: list[dict[str, Any]] = []
        if prompt:
            content.append({"type": "text", "text": prompt[:2000]})
        for role, image in zip(("first_frame", "last_frame"), request.images, strict=False):
            content.append({"type": "image_url", "image_url": {"url": image}, "role": role})
        if not content:
            raise RenderError("byteplus: a prompt or a first frame is needed")
        body: dict[str, Any] = {
            "model": self.model,
            "content": content,
            "ratio": nearest_aspect(request.aspect_ratio, RATIOS),
            "duration": int(nearest(request.duration, family.durations)),
            "seed": request.seed % 2**32,
            "watermark": self.options.get("watermark", "").lower() == "true",
        }
        resolution = self.resolution(request)
        if resolution:
            body["resolution"] = resolution
        if camera.get("sent_as") == "parameter":
            body["camera_fixed"] = True
        if family.audio:
            body["generate_audio"] = self.options.get("audio", "").lower() == "true"
        body.update(option_inputs(self.options))
        return body

    def submit(self, request: ProviderRequest) -> Submitted:
        body = self.body(request)
        data = self.call("POST", f"{self.base_url}{TASKS}", json=body)
        task = str(data.get("id", ""))
        if not task:
            raise RenderError("byteplus: the answer has no task id")
        url = f"{self.base_url}{TASKS}/{task}"
        return Submitted(
            job_id=task,
            poll_url=url,
            cancel_url=url,
            model_version=self.model,
            seed=body.get("seed") if isinstance(body.get("seed"), int) else None,
        )

    def poll(self, job: Submitted) -> Poll:
        data = self.call("GET", job.poll_url)
        status = str(data.get("status", ""))
        if status in PENDING:
            return Poll("pending")
        if status == "succeeded":
            url = str((data.get("content") or {}).get("video_url") or "")
            if not url:
                return Poll("failed", error="the task succeeded without a video_url")
            seed = data.get("seed")
            usage = data.get("usage") or {}
            tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
            return Poll(
                "succeeded",
                video_url=url,
                model_version=str(data.get("model") or self.model),
                seed=int(seed) if isinstance(seed, int) else None,
                spend={"tokens": tokens} if isinstance(tokens, int) else {},
            )
        if status == "failed":
            code, message = ark_error(data)
            return Poll("failed", error=ark_message(code, message or "the task failed"))
        if status in ("cancelled", "expired"):
            return Poll("failed", error=f"the task was {status}")
        return Poll("pending")  # a status this adapter does not know yet: keep waiting

    def cancel(self, job: Submitted) -> None:
        """DELETE the task: ModelArk cancels a queued one (a running one it refuses)."""
        self.call("DELETE", job.cancel_url or job.poll_url)


class SeedanceEngine(ProviderEngine):
    """Seedance on BytePlus ModelArk with the operator's KINORA_BYTEPLUS_API_KEY."""

    adapter_class: ClassVar[type[ProviderAdapter]] = SeedanceAdapter
    info = EngineInfo(
        name="byteplus",
        version="1",
        accepts=frozenset(InputKind),
        min_duration=2.0,
        max_duration=15.0,
        description="ByteDance Seedance (1.0 Pro, Pro Fast, Lite, 1.5 Pro, 2.0) on BytePlus "
        "ModelArk with the operator's KINORA_BYTEPLUS_API_KEY.",
        honours=frozenset({"prompt", "seed"}),
        can_honour=frozenset({"camera_control"}),
    )

    @classmethod
    def accepts_for(cls, model: str) -> frozenset[InputKind]:
        family = seedance_model(model)
        return input_kinds(text=family.text, image=family.image, last_frame=family.last_frame)

    @classmethod
    def honours_for(cls, model: str) -> frozenset[str]:
        return frozenset({"prompt", "seed"})

    def camera_sent(self, camera: str) -> dict[str, str]:
        """camera_fixed for Static, else the path's sentence in the prompt."""
        adapter = self.adapter
        return dict(adapter.camera(camera)) if isinstance(adapter, SeedanceAdapter) else {}
