"""MiniMax Hailuo through MiniMax's own API (https://api.minimax.io).

Every request carries ``Authorization: Bearer <KINORA_MINIMAX_API_KEY>``, and every answer a
``base_resp`` ``{"status_code", "status_msg"}``: a non-zero code is an error even on HTTP 200
(:data:`ERROR_CODES`, from MiniMax's error-code page; rate limits and internal errors are
retried with backoff like 429 and 5xx). The flow (MiniMax's video-generation API reference,
as its MCP server MiniMax-AI/MiniMax-MCP calls it):

- ``POST /v1/video_generation`` ``{model, prompt, first_frame_image, last_frame_image,
  duration, resolution, prompt_optimizer}`` answers ``task_id``;
- ``GET /v1/query/video_generation?task_id=`` says ``status``: ``Preparing``, ``Queueing``,
  ``Processing``, then ``Success`` (with ``file_id``) or ``Fail`` (``base_resp`` says why);
- ``GET /v1/files/retrieve?file_id=`` gives ``file.download_url``, a signed URL fetched
  without the key.

Images go inline as ``data:image/jpeg;base64,...`` URLs, which the API takes for both frames.
MiniMax has no cancel: a cancelled generation stops waiting and the task runs out there.

Camera paths reach the model as MiniMax's camera commands in the prompt (``[Truck left]``,
``[Pan right]``, ``[Push in]``, ...; several in one bracket move together), on the models that
follow them (Hailuo 02 and 2.3, the 01 Director models): :data:`CAMERA_COMMANDS`. The render's
history entry records the command sent (``camera``). Roll and Rotate 360 have no command.

Targets (``minimax:MODEL``): ``MiniMax-Hailuo-2.3`` (text or a first frame),
``MiniMax-Hailuo-2.3-Fast`` (a first frame), ``MiniMax-Hailuo-02`` (text, a first frame, or
first and last frames), ``T2V-01-Director``, ``I2V-01-Director``, ``T2V-01``, ``I2V-01``,
``I2V-01-live``. Route options: ``resolution`` (``768P``, ``1080P``, ...),
``prompt_optimizer=false`` and ``input.NAME=VALUE``.
"""

from __future__ import annotations

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
    coded_message,
    input_kinds,
    nearest,
    option_inputs,
)
from kinora.errors import RenderError

ERROR_CODES: dict[int, str] = {
    1000: "unknown error",
    1001: "request timeout",
    1002: "rate limit",
    1004: "authentication failed: check the API key",
    1008: "insufficient balance",
    1013: "internal service error",
    1024: "internal error",
    1026: "the input was flagged as sensitive content",
    1027: "the generated video was flagged as sensitive content",
    1033: "system error",
    1039: "token rate limit",
    1041: "connection limit",
    1042: "too many illegal characters in the input",
    2013: "invalid parameters",
    2038: "real-name verification is required for this account",
    2049: "invalid API key",
}
"""MiniMax's documented ``base_resp.status_code`` values that a video job can meet."""

RETRYABLE_CODES = frozenset({1000, 1001, 1002, 1013, 1024, 1033, 1039, 1041})

PENDING = frozenset({"Preparing", "Queueing", "Processing"})

CAMERA_COMMANDS: dict[str, str] = {
    "Static": "[Static shot]",
    "Crane up": "[Pedestal up]",
    "Crane down": "[Pedestal down]",
    "Tilt up": "[Tilt up]",
    "Tilt down": "[Tilt down]",
    "Pan right": "[Truck right]",
    "Pan left": "[Truck left]",
    "Orbit right": "[Truck right, Pan left]",
    "Orbit left": "[Truck left, Pan right]",
    "Zoom in": "[Push in]",
    "Zoom out": "[Pull out]",
    "Dolly zoom": "[Pull out, Zoom in]",
    "Aerial": "[Push in, Pedestal up]",
}
"""Kinora's camera paths in MiniMax's commands, by what each path does (vocab.py): Kinora's
pans travel sideways (MiniMax's truck; its pan turns the camera on its head), an orbit travels
while turning back to the subject, a zoom in pushes towards the subject, a dolly zoom pulls
back while zooming in, the aerial flies forward and up."""


@dataclass(frozen=True)
class HailuoModel:
    """What one MiniMax video model takes (MiniMax's video-generation reference)."""

    text: bool
    image: bool
    last_frame: bool
    durations: tuple[int, ...]
    resolutions: tuple[str, ...]
    camera: bool
    long_resolutions: tuple[str, ...] = ()
    """Resolutions that allow the longer duration (10 s: 768P only on Hailuo)."""


MODELS: dict[str, HailuoModel] = {
    "MiniMax-Hailuo-2.3": HailuoModel(
        True, True, False, (6, 10), ("768P", "1080P"), True, ("768P",)
    ),
    "MiniMax-Hailuo-2.3-Fast": HailuoModel(
        False, True, False, (6, 10), ("768P", "1080P"), True, ("768P",)
    ),
    "MiniMax-Hailuo-02": HailuoModel(
        True, True, True, (6, 10), ("512P", "768P", "1080P"), True, ("512P", "768P")
    ),
    "T2V-01-Director": HailuoModel(True, False, False, (6,), ("720P",), True),
    "I2V-01-Director": HailuoModel(False, True, False, (6,), ("720P",), True),
    "T2V-01": HailuoModel(True, False, False, (6,), ("720P",), False),
    "I2V-01": HailuoModel(False, True, False, (6,), ("720P",), False),
    "I2V-01-live": HailuoModel(False, True, False, (6,), ("720P",), False),
}

UNKNOWN_MODEL = HailuoModel(True, True, False, (6,), (), False)
"""A model Kinora has no entry for: no last frame, 6 s, no resolution or camera command."""


def hailuo_model(model: str) -> HailuoModel:
    return MODELS.get(model, UNKNOWN_MODEL)


def minimax_message(code: int, message: str) -> str:
    return coded_message(code, message, ERROR_CODES.get(code, ""))


def base_resp(body: Any) -> tuple[int, str]:
    resp = body.get("base_resp") if isinstance(body, dict) else None
    if not isinstance(resp, dict):
        return 0, ""
    code = resp.get("status_code")
    return (int(code) if isinstance(code, int | float) else 0), str(resp.get("status_msg") or "")


class MiniMaxAdapter(ProviderAdapter):
    name = "minimax"
    default_base_url = "https://api.minimax.io"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}

    @property
    def family(self) -> HailuoModel:
        return hailuo_model(self.model)

    def honoured(self, config: RenderConfig | None = None) -> frozenset[str]:
        if "prompt" in self.fixed_inputs():
            return frozenset()
        out = {"prompt"}
        if config is not None and self.camera_command(config.camera):
            out.add("camera_control")
        return frozenset(out)

    def camera_command(self, camera: str) -> str:
        return CAMERA_COMMANDS.get(camera, "") if self.family.camera else ""

    def _call_once(self, method: str, url: str, *, json: Any) -> Any:
        response = self._send(method, url, json=json)
        try:
            body = response.json()
        except ValueError:
            body = None
        code, message = base_resp(body)
        retry_after = response.headers.get("retry-after", "")
        delay = float(retry_after) if retry_after.isdigit() else None
        if response.status_code >= 400:
            text = minimax_message(code, message) if code else message
            raise ProviderHTTPError(
                f"HTTP {response.status_code}" + (f": {text}" if text else ""),
                retryable=response.status_code == 429
                or response.status_code >= 500
                or code in RETRYABLE_CODES,
                retry_after=delay,
            )
        if not isinstance(body, dict):
            raise ProviderHTTPError("response is not JSON", retryable=True)
        # A failed task's query answers its reason in base_resp: poll reads it as the failure.
        if code != 0 and body.get("status") != "Fail":
            raise ProviderHTTPError(
                minimax_message(code, message), retryable=code in RETRYABLE_CODES, retry_after=delay
            )
        return body

    # -- the request -----------------------------------------------------------------------

    def resolution(self, request: ProviderRequest, duration: int) -> str:
        family = self.family
        if "resolution" in self.options:
            wanted = self.options["resolution"].upper()
            if family.resolutions and wanted not in family.resolutions:
                raise RenderError(
                    f"minimax: {self.model} takes resolution {', '.join(family.resolutions)}, "
                    f"not {wanted}"
                )
            return wanted
        if not family.resolutions:
            return ""
        if duration > min(family.durations) and family.long_resolutions:
            return family.long_resolutions[-1]
        if min(request.width, request.height) > 768 and "1080P" in family.resolutions:
            return "1080P"
        return "768P" if "768P" in family.resolutions else family.resolutions[-1]

    def prompt_text(self, request: ProviderRequest) -> str:
        command = self.camera_command(request.camera)
        return " ".join(p for p in (request.prompt.strip(), command) if p)[:2000]

    def body(self, request: ProviderRequest) -> dict[str, Any]:
        family = self.family
        if not request.images and not family.text:
            raise RenderError(f"minimax: {self.model} needs a first frame")
        if request.images and not family.image:
            raise RenderError(f"minimax: {self.model} is a text-to-video model")
        if len(request.images) > 1 and not family.last_frame:
            raise RenderError(f"minimax: {self.model} takes no last frame")
        duration = int(nearest(request.duration, family.durations))
        body: dict[str, Any] = {"model": self.model, "duration": duration}
        prompt = self.prompt_text(request)
        if prompt:
            body["prompt"] = prompt
        if request.images:
            body["first_frame_image"] = request.images[0]
        if len(request.images) > 1:
            body["last_frame_image"] = request.images[1]
        resolution = self.resolution(request, duration)
        if resolution:
            if resolution not in family.long_resolutions and family.long_resolutions:
                body["duration"] = min(family.durations)  # 1080P: 6 s only
            body["resolution"] = resolution
        if "prompt_optimizer" in self.options:
            body["prompt_optimizer"] = self.options["prompt_optimizer"].lower() != "false"
        body.update(option_inputs(self.options))
        return body

    def submit(self, request: ProviderRequest) -> Submitted:
        data = self.call("POST", f"{self.base_url}/v1/video_generation", json=self.body(request))
        task = str(data.get("task_id", ""))
        if not task:
            raise RenderError("minimax: the answer has no task_id")
        return Submitted(
            job_id=task,
            poll_url=f"{self.base_url}/v1/query/video_generation?task_id={task}",
            model_version=self.model,
        )

    def poll(self, job: Submitted) -> Poll:
        data = self.call("GET", job.poll_url)
        status = str(data.get("status", ""))
        if status == "Fail":
            code, message = base_resp(data)
            return Poll("failed", error=minimax_message(code, message) if code else "Fail")
        if status in PENDING or status != "Success":
            return Poll("pending")
        file_id = str(data.get("file_id") or "")
        if not file_id:
            return Poll("failed", error="the task succeeded without a file_id")
        found = self.call("GET", f"{self.base_url}/v1/files/retrieve?file_id={file_id}")
        url = str((found.get("file") or {}).get("download_url") or "")
        if not url:
            return Poll("failed", error=f"file {file_id} has no download_url")
        return Poll("succeeded", video_url=url, model_version=self.model)


class MiniMaxEngine(ProviderEngine):
    """MiniMax Hailuo with the operator's KINORA_MINIMAX_API_KEY."""

    adapter_class: ClassVar[type[ProviderAdapter]] = MiniMaxAdapter
    info = EngineInfo(
        name="minimax",
        version="1",
        accepts=frozenset(InputKind),
        min_duration=6.0,
        max_duration=10.0,
        description="MiniMax Hailuo (2.3, 2.3 Fast, 02, 01 Director) on MiniMax's own API "
        "with the operator's KINORA_MINIMAX_API_KEY.",
        honours=frozenset({"prompt"}),
        can_honour=frozenset({"camera_control"}),
    )

    @classmethod
    def accepts_for(cls, model: str) -> frozenset[InputKind]:
        family = hailuo_model(model)
        return input_kinds(text=family.text, image=family.image, last_frame=family.last_frame)

    @classmethod
    def honours_for(cls, model: str) -> frozenset[str]:
        return frozenset({"prompt"})

    def camera_sent(self, camera: str) -> dict[str, str]:
        """MiniMax's bracketed camera command, sent in the prompt."""
        adapter = self.adapter
        command = adapter.camera_command(camera) if isinstance(adapter, MiniMaxAdapter) else ""
        return {"sent_as": "prompt command", "text": command} if command else {}
