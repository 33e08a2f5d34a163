"""Vidu through Shengshu's own platform API (https://api.vidu.com/ent/v2).

Every request carries ``Authorization: Token <KINORA_VIDU_API_KEY>`` (the word is "Token",
not "Bearer"). The flow (Vidu's platform reference):

- ``POST /ent/v2/text2video`` (``aspect_ratio``), ``/ent/v2/img2video`` (``images``: the
  first frame) or ``/ent/v2/start-end2video`` (``images``: first and last frames), each with
  ``model``, ``prompt``, ``duration``, ``resolution``, ``seed`` and ``movement_amplitude``,
  answer ``task_id`` and ``state`` ``created``;
- ``GET /ent/v2/tasks/{id}/creations`` says ``state``: ``created``, ``queueing``,
  ``processing``, then ``success`` (``creations[0].url``) or ``failed`` (``err_code``);
- ``POST /ent/v2/tasks/{id}/cancel`` cancels it.

Errors come as ``{"code", "reason", "message"}`` with the HTTP status; ``reason`` names the
error (:data:`REASONS`, from Vidu's error-code page). 429 (``QuotaExceeded``,
``TooManyRequests``, ``SystemThrottling``) and 5xx are retried with backoff, honouring
Retry-After; ``CreditInsufficient`` and the content-policy refusals are not.

Images go inline as ``data:image/jpeg;base64,...``, which ``images`` takes. Vidu has no
camera parameter: the camera path's sentence goes in the prompt and the history entry says so
(``camera``). ``motion_range`` reaches the model as ``movement_amplitude`` (1-3 small, 4-6
auto, 7-8 medium, 9-10 large). No negative prompt. Vidu also calls a ``callback_url``; Kinora
polls (per-request callbacks are not wired yet).

Targets (``vidu:MODEL``): ``viduq2-pro``, ``viduq2-turbo``, ``viduq2-pro-fast`` (a first
frame, first and last frames), ``viduq2`` (text), ``viduq1`` (text, frames), ``viduq1-classic``
(frames), ``vidu2.0`` (frames), ``vidu1.5`` (text, frames). Route options: ``resolution``
(``360p``, ``540p``, ``720p``, ``1080p``), ``bgm=true`` and ``input.NAME=VALUE``. The q2
models' limits were read from Vidu's Chinese reference (api.vidu.cn); the English one lists the
q1 and 2.0 models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

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

REASONS: dict[str, str] = {
    "Unauthorized": "the API key was not accepted",
    "Forbidden": "this account may not use it",
    "CreditInsufficient": "the account's credits are used up",
    "FieldLacking": "a required field is missing",
    "FieldUnwanted": "a field this call does not take",
    "FieldInvalid": "a field's value is not allowed",
    "FieldItemCountOutOfRange": "too many or too few items",
    "ImageFormatInvalid": "the image's format is not accepted",
    "ImageDownloadFailure": "Vidu could not read the image",
    "AuditSubmitIllegal": "the input was refused by Vidu's content policy",
    "TaskPromptPolicyViolation": "the prompt was refused by Vidu's content policy",
    "CreationPolicyViolation": "the video was withheld by Vidu's content policy",
    "ModelUnavailable": "the model is not available",
    "QuotaExceeded": "the account's limit of concurrent tasks is reached",
    "TooManyRequests": "rate limited",
    "SystemThrottling": "Vidu is throttling requests",
    "InternalServiceFailure": "Vidu's internal error",
}
"""Vidu's error reasons (its error-code page), in plain words."""

NOT_RETRIED = frozenset({"CreditInsufficient", "Unauthorized", "Forbidden"})

PENDING = frozenset({"created", "queueing", "processing", "scheduled"})


@dataclass(frozen=True)
class ViduModel:
    text: bool
    image: bool
    last_frame: bool
    durations: tuple[int, ...]
    resolutions: tuple[str, ...]
    two_frame_durations: tuple[int, ...] = ()
    """Start-end durations where they differ (q2: 1-8 s)."""
    long_resolutions: tuple[str, ...] = ()
    """Resolutions of its longest duration where they are fewer (2.0, 1.5: 8 s at 720p)."""
    wide_aspects: bool = False
    """Text takes 3:4 and 4:3 besides 16:9, 9:16 and 1:1 (q2)."""


_Q2_DURATIONS, _Q2_TWO = tuple(range(1, 11)), tuple(range(1, 9))
_Q2_RES = ("540p", "720p", "1080p")

MODELS: dict[str, ViduModel] = {
    "viduq2-pro": ViduModel(False, True, True, _Q2_DURATIONS, _Q2_RES, _Q2_TWO),
    "viduq2-turbo": ViduModel(False, True, True, _Q2_DURATIONS, _Q2_RES, _Q2_TWO),
    "viduq2-pro-fast": ViduModel(False, True, True, _Q2_DURATIONS, ("720p", "1080p"), _Q2_TWO),
    "viduq2": ViduModel(
        True, False, False, tuple(range(1, 11)), ("540p", "720p", "1080p"), wide_aspects=True
    ),
    "viduq1": ViduModel(True, True, True, (5,), ("1080p",)),
    "viduq1-classic": ViduModel(False, True, True, (5,), ("1080p",)),
    "vidu2.0": ViduModel(False, True, True, (4, 8), ("360p", "720p", "1080p"), (), ("720p",)),
    "vidu1.5": ViduModel(True, True, True, (4, 8), ("360p", "720p", "1080p"), (), ("720p",)),
}

UNKNOWN_MODEL = ViduModel(True, True, True, (5,), ())
"""A model Kinora has no entry for: 5 s, Vidu's default resolution."""

ASPECTS = ("16:9", "9:16", "1:1")
WIDE_ASPECTS = (*ASPECTS, "3:4", "4:3")
PROMPT_LIMIT = 1500
"""The shorter of the two references' limits (1500 in the English one, 2000 in the Chinese)."""


def vidu_model(model: str) -> ViduModel:
    return MODELS.get(model, UNKNOWN_MODEL)


def amplitude(motion_range: int) -> str:
    """motion_range (1-10) as Vidu's movement_amplitude; the default range is Vidu's auto."""
    if motion_range <= 3:
        return "small"
    if motion_range <= 6:
        return "auto"
    return "medium" if motion_range <= 8 else "large"


def vidu_message(status: int, body: Any) -> tuple[str, str]:
    """``(reason, "HTTP 400 FieldInvalid: <message> (<meaning>)")`` of an error answer."""
    if not isinstance(body, dict):
        return "", f"HTTP {status}"
    reason = str(body.get("reason") or "")
    if not reason and isinstance(body.get("code"), str):
        reason = str(body["code"])  # some answers put the reason in code
    message = str(body.get("message") or "").strip()
    meaning = REASONS.get(reason, "")
    text = f"HTTP {status}" + (f" {reason}" if reason else "") + (f": {message}" if message else "")
    if meaning and meaning.lower() != message.lower():
        text += f" ({meaning})"
    return reason, text


class ViduAdapter(ProviderAdapter):
    name = "vidu"
    default_base_url = "https://api.vidu.com"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.api_key}", "Content-Type": "application/json"}

    @property
    def family(self) -> ViduModel:
        return vidu_model(self.model)

    def honoured(self, config: RenderConfig | None = None) -> frozenset[str]:
        fixed = self.fixed_inputs()
        out = {"prompt", "seed", "motion_range", "camera_control"}
        for field, name in (
            ("prompt", "prompt"),
            ("seed", "seed"),
            ("motion_range", "movement_amplitude"),
        ):
            if name in fixed:
                out.discard(field)
        if "prompt" in fixed:
            out.discard("camera_control")
        return frozenset(out)

    def _call_once(self, method: str, url: str, *, json: Any) -> Any:
        return self._answer(self._send(method, url, json=json))

    def _answer(self, response: httpx.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            reason, text = vidu_message(response.status_code, body)
            retry_after = response.headers.get("retry-after", "")
            raise ProviderHTTPError(
                text,
                retryable=(response.status_code == 429 or response.status_code >= 500)
                and reason not in NOT_RETRIED,
                retry_after=float(retry_after) if retry_after.isdigit() else None,
            )
        if not isinstance(body, dict):
            raise ProviderHTTPError("response is not JSON", retryable=True)
        return body

    # -- the request -----------------------------------------------------------------------

    def durations(self, request: ProviderRequest) -> tuple[int, ...]:
        family = self.family
        if len(request.images) > 1 and family.two_frame_durations:
            return family.two_frame_durations
        return family.durations

    def resolution(self, request: ProviderRequest, duration: int) -> str:
        family = self.family
        allowed = family.resolutions
        if family.long_resolutions and duration == max(family.durations):
            allowed = family.long_resolutions
        if "resolution" in self.options:
            wanted = self.options["resolution"].lower()
            if allowed and wanted not in allowed:
                raise RenderError(
                    f"vidu: {self.model} takes resolution {', '.join(allowed)} here, not {wanted}"
                )
            return wanted
        if not allowed:
            return ""
        short = min(request.width, request.height)
        fits = [r for r in allowed if int(r.removesuffix("p")) <= max(short, 360)]
        return fits[-1] if fits else allowed[0]

    def prompt_text(self, request: ProviderRequest) -> str:
        text = " ".join(p for p in (request.prompt.strip(), camera_sentence(request.camera)) if p)
        return text[:PROMPT_LIMIT]

    def body(self, request: ProviderRequest) -> tuple[str, dict[str, Any]]:
        family = self.family
        if not request.images and not family.text:
            raise RenderError(f"vidu: {self.model} needs a first frame")
        if request.images and not family.image:
            raise RenderError(f"vidu: {self.model} is a text-to-video model")
        if len(request.images) > 1 and not family.last_frame:
            raise RenderError(f"vidu: {self.model} takes no last frame")
        duration = int(nearest(request.duration, self.durations(request)))
        body: dict[str, Any] = {"model": self.model, "duration": duration}
        prompt = self.prompt_text(request)
        if prompt or not request.images:
            body["prompt"] = prompt or "A natural, lifelike scene."
        resolution = self.resolution(request, duration)
        if resolution:
            body["resolution"] = resolution
        if request.seed:
            body["seed"] = int(request.seed) % 2_147_483_648
        body["movement_amplitude"] = amplitude(request.motion_range)
        if self.options.get("bgm", "").lower() == "true":
            body["bgm"] = True
        if request.images:
            body["images"] = list(request.images[:2])
            path = "start-end2video" if len(request.images) > 1 else "img2video"
        else:
            aspects = WIDE_ASPECTS if family.wide_aspects else ASPECTS
            body["aspect_ratio"] = nearest_aspect(request.aspect_ratio, aspects)
            path = "text2video"
        body.update(option_inputs(self.options))
        return path, body

    def submit(self, request: ProviderRequest) -> Submitted:
        path, body = self.body(request)
        data = self.call("POST", f"{self.base_url}/ent/v2/{path}", json=body)
        task = str(data.get("task_id") or "")
        if not task:
            raise RenderError("vidu: the answer has no task_id")
        seed, credits = data.get("seed"), data.get("credits")
        return Submitted(
            job_id=task,
            poll_url=f"{self.base_url}/ent/v2/tasks/{task}/creations",
            model_version=str(data.get("model") or self.model),
            seed=seed if isinstance(seed, int) else body.get("seed"),
            cancel_url=f"{self.base_url}/ent/v2/tasks/{task}/cancel",
            spend={"credits": credits} if isinstance(credits, int) else {},
        )

    def poll(self, job: Submitted) -> Poll:
        data = self.call("GET", job.poll_url)
        state = str(data.get("state") or "")
        if state == "success":
            creations = data.get("creations") or []
            url = str(creations[0].get("url") or "") if creations else ""
            if not url:
                return Poll("failed", error="the task succeeded without a video url")
            credits = data.get("credits")
            return Poll(
                "succeeded",
                video_url=url,
                model_version=job.model_version,
                spend={"credits": credits} if isinstance(credits, int) else {},
            )
        if state == "failed":
            reason = str(data.get("err_code") or "failed")
            meaning = REASONS.get(reason, "")
            return Poll("failed", error=reason + (f" ({meaning})" if meaning else ""))
        if state in PENDING or not state:
            return Poll("pending")
        return Poll("failed", error=f"Vidu answered state {state}")

    def cancel(self, job: Submitted) -> None:
        """POST the task's cancel: Vidu stops a task that has not started."""
        self.call("POST", job.cancel_url, json={"id": job.job_id})


class ViduEngine(ProviderEngine):
    """Vidu with the operator's KINORA_VIDU_API_KEY."""

    adapter_class: ClassVar[type[ProviderAdapter]] = ViduAdapter
    info = EngineInfo(
        name="vidu",
        version="1",
        accepts=frozenset(InputKind),
        min_duration=1.0,
        max_duration=10.0,
        description="Vidu (q2, q1, 2.0, 1.5) on Shengshu's own platform API with the "
        "operator's KINORA_VIDU_API_KEY: text, a first frame, or first and last frames.",
        honours=frozenset({"prompt", "seed", "motion_range", "camera_control"}),
    )

    @classmethod
    def accepts_for(cls, model: str) -> frozenset[InputKind]:
        family = vidu_model(model)
        return input_kinds(text=family.text, image=family.image, last_frame=family.last_frame)

    @classmethod
    def honours_for(cls, model: str) -> frozenset[str]:
        return frozenset({"prompt", "seed", "motion_range", "camera_control"})

    def camera_sent(self, camera: str) -> dict[str, str]:
        """Vidu has no camera parameter: the path's sentence goes in the prompt."""
        sentence = camera_sentence(camera)
        return {"sent_as": "prompt", "text": sentence} if sentence else {}
