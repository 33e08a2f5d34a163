"""Kling's own API (https://api-singapore.klingai.com), signed per request with a short JWT.

Authentication: the operator's access key and secret key (``KINORA_KLING_ACCESS_KEY``,
``KINORA_KLING_SECRET_KEY``) make an HS256 JWT for each request, ``{"iss": access key, "exp":
now + 30 min, "nbf": now - 5 s}``, sent as ``Authorization: Bearer <jwt>``. A token lives
minutes, so a leaked log line is worth little; it is made here (hashlib/hmac), no JWT package.

Every answer is ``{"code": 0, "message": ..., "request_id": ..., "data": {...}}``; a non-zero
``code`` is an error even on HTTP 200 (:data:`ERROR_CODES` says what each family means).
Create returns ``data.task_id``; ``GET <endpoint>/{task_id}`` says ``data.task_status``
(``submitted``/``processing``/``succeed``/``failed``, ``task_status_msg`` on failure) and, when
done, ``data.task_result.videos[0].url``. Kling has no cancel: a cancelled job runs out there.

Targets (``kling:MODEL``):

- ``kling:kling-v2-1`` (any ``model_name``): ``/v1/videos/image2video`` with ``image`` (and
  ``image_tail`` for the last frame of two-image renders), ``prompt``, ``negative_prompt``,
  ``duration`` ("5"/"10"), ``mode``; ``/v1/videos/text2video`` without images (``aspect_ratio``).
- ``kling:kling-v2-6-motion-control``: ``/v1/videos/motion-control`` with ``image_url`` (the
  character), ``video_url`` (the driving video), ``character_orientation`` (``image``), ``mode``
  and ``keep_original_sound``: character_animate with a driving video.
- ``kling:lip-sync`` (the lip-sync step, ``KINORA_LIPSYNC_TARGET``): ``/v1/videos/lip-sync``
  with ``input: {video_url, mode: "audio2video", audio_type: "file", audio_file}``.
- ``kling-tryon:kolors-virtual-try-on-v1-5`` (TryOnVideo with ``model`` KlingTryOn):
  ``/v1/images/kolors-virtual-try-on`` with ``model_name``, ``human_image`` and ``cloth_image``;
  the answer is an image (``task_result.images[0].url``), animated by kinora-tryon
  (:class:`KlingTryOnEngine`).

Images and audio go base64 without the data-URI prefix (Kling's documented form); videos go in
``video_url`` as data URIs, since Kling has no upload API (an operator whose account refuses
them routes those jobs elsewhere; the refusal is Kling's message, recorded).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from kinora.config import Settings
from kinora.engines.base import EngineInfo, EngineInputs, InputKind, Render, RenderConfig
from kinora.engines.providers.base import (
    Poll,
    ProviderAdapter,
    ProviderEngine,
    ProviderHTTPError,
    ProviderRequest,
    Submitted,
    _setting,
    base_url_overrides,
    nearest,
    nearest_aspect,
    option_inputs,
)
from kinora.engines.providers.faces import LipSyncRequest, PerformanceRequest, performance_render
from kinora.engines.providers.tryon import TRY_ON_HONOURS, TryOnProviderEngine
from kinora.engines.registry import TargetCheck
from kinora.errors import RenderError

TOKEN_SECONDS = 1800
"""A token's lifetime (Kling's sample code uses 30 minutes)."""

ERROR_CODES: dict[int, str] = {
    1000: "authentication failed",
    1001: "authorization header is empty",
    1002: "authorization is invalid",
    1003: "token is not yet valid",
    1004: "token has expired",
    1100: "account exception",
    1101: "account in arrears",
    1102: "resource pack used up or expired",
    1103: "no permission for this resource",
    1200: "invalid request",
    1201: "invalid parameter",
    1202: "invalid request method",
    1203: "requested resource does not exist",
    1300: "platform policy triggered",
    1301: "content security policy triggered",
    1302: "request rate limit exceeded",
    1303: "concurrency or QPS limit exceeded",
    1304: "IP allow-list policy triggered",
    5000: "server internal error",
    5001: "server temporarily unavailable",
    5002: "server internal timeout",
}
"""Kling's documented error codes: 1000s authentication, 1100s account, 1200s parameters,
1300s policy (1302/1303 rate limits), 5000s server. Rate limits and 5000s are retried."""

RETRYABLE_CODES = frozenset({1302, 1303, 5000, 5001, 5002})


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_token(access_key: str, secret_key: str, *, now: float | None = None) -> str:
    """An HS256 JWT as Kling signs requests: ``iss`` the access key, ``exp`` in 30 minutes,
    ``nbf`` five seconds ago (a little clock skew is forgiven)."""
    t = int(time.time() if now is None else now)
    header = {"alg": "HS256", "typ": "JWT"}
    payload = {"iss": access_key, "exp": t + TOKEN_SECONDS, "nbf": t - 5}
    signing = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, payload)
    )
    signature = hmac.new(secret_key.encode(), signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{_b64url(signature)}"


def kling_message(body: Any, status: int) -> tuple[str, int | None]:
    """A clear message for a Kling error body, and its code."""
    if not isinstance(body, dict):
        return f"HTTP {status}", None
    code = body.get("code")
    code = int(code) if isinstance(code, int | float) else None
    message = str(body.get("message") or "").strip()
    meaning = ERROR_CODES.get(code or 0, "")
    parts = [message or meaning or f"HTTP {status}"]
    if code is not None:
        parts.append(f"(code {code}{': ' + meaning if meaning and meaning != message else ''})")
    return " ".join(parts), code


def raw_base64(uri: str) -> str:
    """A data URI's payload alone (Kling takes images and audio as bare base64)."""
    return uri.partition(",")[2] if uri.startswith("data:") else uri


def is_motion_control(model: str) -> bool:
    return model.endswith("motion-control")


def model_name(model: str) -> str:
    """``kling-v2-6-motion-control`` -> ``kling-v2-6`` (Kling's ``model_name``)."""
    return model.removesuffix("-motion-control").removesuffix("/motion-control")


class KlingAdapter(ProviderAdapter):
    name = "kling"
    default_base_url = "https://api-singapore.klingai.com"

    def __init__(self, *, secret_key: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.secret_key = secret_key

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {jwt_token(self.api_key, self.secret_key)}",
            "Content-Type": "application/json",
        }

    def honoured(self, config: RenderConfig | None = None) -> frozenset[str]:
        if is_motion_control(self.model):
            return frozenset({"prompt", "character_animate"})
        fixed = self.fixed_inputs()
        sent = {"prompt": "prompt", "negative_prompt": "negative_prompt"}
        return frozenset(f for f, name in sent.items() if name not in fixed)

    def _call_once(self, method: str, url: str, *, json: Any) -> Any:
        response = self._send(method, url, json=json)
        try:
            body = response.json()
        except ValueError:
            body = None
        code = body.get("code") if isinstance(body, dict) else None
        if response.status_code >= 400 or (isinstance(code, int) and code != 0):
            message, code = kling_message(body, response.status_code)
            retry_after = response.headers.get("retry-after", "")
            raise ProviderHTTPError(
                message,
                retryable=response.status_code in (429, 500, 502, 503, 504)
                or code in RETRYABLE_CODES,
                retry_after=float(retry_after) if retry_after.isdigit() else None,
            )
        if not isinstance(body, dict):
            raise ProviderHTTPError("response is not JSON", retryable=True)
        return body

    # -- the bodies of each endpoint --------------------------------------------------------

    def endpoint_and_body(self, request: ProviderRequest) -> tuple[str, dict[str, Any]]:
        if isinstance(request, LipSyncRequest):
            return "/v1/videos/lip-sync", {
                "input": {
                    "video_url": request.video,
                    "mode": "audio2video",
                    "audio_type": "file",
                    "audio_file": raw_base64(request.audio),
                    **option_inputs(self.options),
                }
            }
        if isinstance(request, PerformanceRequest):
            if not is_motion_control(self.model):
                raise RenderError(f"kling: {self.model} is not a motion-control model")
            body: dict[str, Any] = {
                "model_name": model_name(self.model),
                "image_url": raw_base64(request.images[0]),
                "video_url": request.reference,
                "character_orientation": self.options.get("character_orientation", "image"),
                "mode": self.options.get("mode", "std"),
                "keep_original_sound": "no",
            }
            if request.prompt:
                body["prompt"] = request.prompt[:2500]
            body.update(option_inputs(self.options))
            return "/v1/videos/motion-control", body
        if is_motion_control(self.model):
            raise RenderError(f"kling: {self.model} needs a character image and a driving video")
        body = {
            "model_name": self.model,
            "mode": self.options.get("mode", "std"),
            "duration": str(int(nearest(request.duration, (5, 10)))),
        }
        if request.prompt:
            body["prompt"] = request.prompt[:2500]
        if request.negative_prompt and "negative_prompt" not in self.fixed_inputs():
            body["negative_prompt"] = request.negative_prompt[:2500]
        if request.images:
            body["image"] = raw_base64(request.images[0])
            if len(request.images) > 1:
                body["image_tail"] = raw_base64(request.images[1])
            path = "/v1/videos/image2video"
        else:
            body["aspect_ratio"] = nearest_aspect(request.aspect_ratio, ["16:9", "9:16", "1:1"])
            path = "/v1/videos/text2video"
        body.update(option_inputs(self.options))
        return path, body

    def submit(self, request: ProviderRequest) -> Submitted:
        path, body = self.endpoint_and_body(request)
        data = self.call("POST", f"{self.base_url}{path}", json=body).get("data") or {}
        task = str(data.get("task_id", "")) if isinstance(data, dict) else ""
        if not task:
            raise RenderError("kling: the answer has no task_id")
        return Submitted(
            job_id=task,
            poll_url=f"{self.base_url}{path}/{task}",
            model_version=model_name(self.model) if self.model else path.rsplit("/", 1)[1],
        )

    result_key: ClassVar[str] = "videos"
    """Where a finished task's files are: ``task_result.videos`` (``images`` for try-on)."""

    def poll(self, job: Submitted) -> Poll:
        data = self.call("GET", job.poll_url).get("data") or {}
        status = str(data.get("task_status", ""))
        if status == "failed":
            return Poll("failed", error=str(data.get("task_status_msg") or "the task failed"))
        if status not in ("succeed", "succeeded"):
            return Poll("pending")
        files = (data.get("task_result") or {}).get(self.result_key) or []
        url = files[0].get("url") if files and isinstance(files[0], dict) else ""
        if not url:
            return Poll("failed", error=f"no {self.result_key} in the result: {str(data)[:300]}")
        return Poll("succeeded", video_url=str(url))


def kling_keys(settings: Settings) -> tuple[str, str]:
    """The access key and secret key (settings, or the environment under the same names)."""
    access = _setting(settings, "kling_access_key", "") or os.environ.get(
        "KINORA_KLING_ACCESS_KEY", ""
    )
    secret = _setting(settings, "kling_secret_key", "") or os.environ.get(
        "KINORA_KLING_SECRET_KEY", ""
    )
    return str(access), str(secret)


def kling_problem(settings: Settings) -> str:
    access, secret = kling_keys(settings)
    if not access or not secret:
        return "KINORA_KLING_ACCESS_KEY and KINORA_KLING_SECRET_KEY are not both set"
    return ""


def make_adapter(
    settings: Settings,
    *,
    model: str,
    options: Mapping[str, str],
    adapter_class: type[KlingAdapter] = KlingAdapter,
    sleep: Callable[[float], None] = time.sleep,
) -> KlingAdapter:
    access, secret = kling_keys(settings)
    return adapter_class(
        model=model,
        api_key=access,
        secret_key=secret,
        base_url=base_url_overrides(settings).get("kling", ""),
        options=options,
        timeout=float(_setting(settings, "provider_timeout_seconds", 900.0)),
        poll_interval=float(_setting(settings, "provider_poll_seconds", 2.0)),
        retries=int(_setting(settings, "provider_retries", 4)),
        backoff=float(_setting(settings, "provider_backoff_seconds", 1.0)),
        sleep=sleep,
    )


class KlingEngine(ProviderEngine):
    """Kling image-to-video, text-to-video and (``*-motion-control``) character performance."""

    adapter_class: ClassVar[type[ProviderAdapter]] = KlingAdapter
    info = EngineInfo(
        name="kling",
        version="1",
        accepts=frozenset(InputKind),
        min_duration=5.0,
        max_duration=10.0,
        description="Kling's own API (image2video, text2video, motion control) with the "
        "operator's KINORA_KLING_ACCESS_KEY and KINORA_KLING_SECRET_KEY.",
        honours=frozenset({"prompt"}),
        can_honour=frozenset({"negative_prompt", "character_animate"}),
    )
    """character_animate only for ``*-motion-control`` models (:meth:`honoured_fields`)."""

    @classmethod
    def check_target(
        cls, *, argument: str, options: Mapping[str, str], settings: Settings
    ) -> TargetCheck:
        if not argument:
            return TargetCheck(frozenset(), "kling: no model named (use kling:MODEL)")
        problem = kling_problem(settings)
        if problem:
            return TargetCheck(frozenset(), problem)
        return TargetCheck(cls.accepts_for(argument))

    @classmethod
    def accepts_for(cls, model: str) -> frozenset[InputKind]:
        if is_motion_control(model):
            return frozenset({InputKind.ONE_IMAGE})
        return cls.info.accepts

    @classmethod
    def honours_for(cls, model: str) -> frozenset[str]:
        """What a target of this model honours (character_animate: motion control only)."""
        if is_motion_control(model):
            return frozenset({"prompt", "character_animate"})
        return frozenset({"prompt", "negative_prompt"})

    @classmethod
    def from_target(
        cls, *, argument: str, options: Mapping[str, str], settings: Settings
    ) -> KlingEngine:
        return cls(make_adapter(settings, model=argument, options=options))

    def render(self, inputs: EngineInputs, config: RenderConfig) -> Render:
        if not is_motion_control(self.adapter.model):
            return super().render(inputs, config)
        return performance_render(self, inputs, config)


# --- Kolors virtual try-on: the dressed still, animated by kinora-tryon --------------------

TRY_ON_PATH = "/v1/images/kolors-virtual-try-on"


class KlingTryOnAdapter(KlingAdapter):
    """Kling's Kolors virtual try-on: the person and the garment in, an image out."""

    accepts = frozenset({InputKind.TWO_IMAGES})

    def honoured(self, config: RenderConfig | None = None) -> frozenset[str]:
        return frozenset()  # the endpoint takes no prompt and no seed

    def endpoint_and_body(self, request: ProviderRequest) -> tuple[str, dict[str, Any]]:
        if len(request.images) < 2:
            raise RenderError("kling: a try-on needs the person's and the garment's images")
        body: dict[str, Any] = {
            "model_name": self.model or "kolors-virtual-try-on-v1-5",
            "human_image": raw_base64(request.images[0]),
            "cloth_image": raw_base64(request.images[1]),
        }
        body.update(option_inputs(self.options))
        return TRY_ON_PATH, body

    result_key = "images"


class KlingTryOnEngine(TryOnProviderEngine):
    """TryOnVideo on Kling's own Kolors try-on; the dressed still animated by kinora-tryon."""

    adapter_class: ClassVar[type[ProviderAdapter]] = KlingTryOnAdapter
    info = EngineInfo(
        name="kling-tryon",
        version="1",
        accepts=frozenset({InputKind.TWO_IMAGES}),
        max_duration=10.0,
        description="Virtual try-on on Kling's own API (Kolors virtual try-on) with the "
        "operator's KINORA_KLING_ACCESS_KEY and KINORA_KLING_SECRET_KEY; the dressed still is "
        "animated by kinora-tryon's motion.",
        honours=TRY_ON_HONOURS,
    )

    @classmethod
    def check_target(
        cls, *, argument: str, options: Mapping[str, str], settings: Settings
    ) -> TargetCheck:
        problem = kling_problem(settings)
        if problem:
            return TargetCheck(frozenset(), problem)
        return TargetCheck(cls.accepts_for(argument))

    @classmethod
    def from_target(
        cls, *, argument: str, options: Mapping[str, str], settings: Settings
    ) -> ProviderEngine:
        adapter = make_adapter(
            settings, model=argument, options=options, adapter_class=KlingTryOnAdapter
        )
        return cls.named(cls(adapter), argument, settings)
