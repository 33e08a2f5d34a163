"""PixVerse through PixVerse's own platform API (https://app-api.pixverse.ai).

Every request carries ``API-KEY: <KINORA_PIXVERSE_API_KEY>`` and its own ``Ai-trace-id`` (a
fresh UUID: PixVerse's docs name a reused trace id as the usual cause of a job stuck in
"generating"). Answers are ``{"ErrCode", "ErrMsg", "Resp"}``: a non-zero ``ErrCode`` is an
error even on HTTP 200 (:data:`ERROR_CODES`). The flow (the platform's API reference):

- images are uploaded first: ``POST /openapi/v2/image/upload`` (multipart, field ``image``)
  answers ``Resp.img_id``;
- ``POST /openapi/v2/video/text/generate`` (``aspect_ratio``), ``.../video/img/generate``
  (``img_id``) or ``.../video/transition/generate`` (``first_frame_img``,
  ``last_frame_img``), each with ``model``, ``prompt``, ``duration``, ``quality`` and the
  optional ``negative_prompt``, ``seed``, ``motion_mode`` and ``camera_movement``, answer
  ``Resp.video_id``;
- ``GET /openapi/v2/video/result/{video_id}`` says ``Resp.status``: 5 generating, 1 done
  (``Resp.url``), 7 refused by moderation (PixVerse refunds its credits), 8 failed.

PixVerse has no cancel and no per-request callback in its request schemas: Kinora polls.

Camera paths reach v4 and v4.5 as PixVerse's own ``camera_movement`` values where one does
what the path does (:data:`CAMERA_MOVEMENTS`); every other path, and every path on the
models without the parameter, goes in the prompt as the path's sentence. The history entry
records which. The models' own sound is switched off (``generate_audio_switch`` false on v5.5
and later, which PixVerse wants sent): Kinora lays its own soundtrack on, as for every provider.

Targets (``pixverse:MODEL``): ``v4``, ``v4.5``, ``v5``, ``v5.5``, ``v5.6``, ``v6``, ``c1``.
Route options: ``quality`` (``360p``, ``540p``, ``720p``, ``1080p``), ``motion_mode``
(``normal``, ``fast``) and ``input.NAME=VALUE``. The v5.5+ duration and 1080p limits come from
PixVerse's reference for its China endpoint and were not confirmed on the English one.
"""

from __future__ import annotations

import base64
import uuid
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
    coded_message,
    nearest,
    nearest_aspect,
    option_inputs,
)
from kinora.engines.providers.gemini import camera_sentence
from kinora.errors import RenderError

ERROR_CODES: dict[int, str] = {
    400011: "an empty parameter",
    400012: "invalid account: check the API key",
    400013: "invalid request: a parameter's type or value",
    400017: "invalid parameter",
    500044: "the account's limit of concurrent generations is reached",
    500052: "the image failed moderation",
}
"""PixVerse's ``ErrCode`` values seen in its docs; any other non-zero code is an error too,
reported with PixVerse's ``ErrMsg``."""

RETRYABLE_CODES = frozenset({500044})

DONE, GENERATING, MODERATED, FAILED = 1, 5, 7, 8

CAMERA_MOVEMENTS: dict[str, str] = {
    "Pan left": "horizontal_left",
    "Pan right": "horizontal_right",
    "Crane up": "crane_up",
    "Crane down": "vertical_down",
    "Zoom in": "zoom_in",
    "Zoom out": "zoom_out",
    "Dolly zoom": "hitchcock",
}
"""Kinora's paths in PixVerse's ``camera_movement`` values, by what each does (vocab.py):
Kinora's pans travel sideways (PixVerse's horizontal moves; its pan turns on the spot), a
crane rises or sinks, a dolly zoom is PixVerse's hitchcock. Tilts, orbits, rolls, Rotate 360,
Aerial and Static have no value that does the same: their sentence goes in the prompt."""


@dataclass(frozen=True)
class PixVerseModel:
    durations: tuple[int, ...]
    camera: bool
    """Takes ``camera_movement`` (v4 and v4.5 only)."""
    new_audio: bool
    """``generate_audio_switch`` (v5.5 and later) rather than ``sound_effect_switch``."""
    long_at_1080p: bool = False
    """Whether its longest duration is allowed at 1080p."""


MODELS: dict[str, PixVerseModel] = {
    "v4": PixVerseModel((5, 8), True, False),
    "v4.5": PixVerseModel((5, 8), True, False),
    "v5": PixVerseModel((5, 8), False, False),
    "v5.5": PixVerseModel((5, 8, 10), False, True),
    "v5.6": PixVerseModel((5, 8, 10), False, True),
    "v6": PixVerseModel(tuple(range(1, 16)), False, True, long_at_1080p=True),
    "c1": PixVerseModel(tuple(range(1, 16)), False, True, long_at_1080p=True),
}

UNKNOWN_MODEL = PixVerseModel((5,), False, True)
"""A model Kinora has no entry for: 5 s, no camera_movement."""

QUALITIES = ("360p", "540p", "720p", "1080p")
TEXT_ASPECTS = ("16:9", "4:3", "1:1", "3:4", "9:16")
PROMPT_LIMIT = 2048
DEFAULT_PROMPT = "Natural, lifelike motion."
"""PixVerse requires a prompt: what goes when the request has none (and no camera sentence)."""


def pixverse_model(model: str) -> PixVerseModel:
    return MODELS.get(model.lower(), UNKNOWN_MODEL)


def pixverse_message(code: int, message: str) -> str:
    return coded_message(code, message, ERROR_CODES.get(code, ""), label="ErrCode")


def err_code(body: Any) -> tuple[int, str]:
    """``(ErrCode, ErrMsg)`` of an answer; also the lower-case form of its upload refusals."""
    if not isinstance(body, dict):
        return 0, ""
    code = body.get("ErrCode", body.get("err_code", 0))
    message = body.get("ErrMsg", body.get("err_msg", ""))
    return (int(code) if isinstance(code, int | float) else 0), str(message or "")


def image_file(uri: str) -> tuple[str, bytes, str]:
    """A data URI as a multipart file: name, bytes, content type."""
    head, _, payload = uri.partition(",")
    mime = head.removeprefix("data:").split(";")[0] or "image/jpeg"
    ext = "png" if mime.endswith("png") else "webp" if mime.endswith("webp") else "jpg"
    return f"frame.{ext}", base64.b64decode(payload), mime


class PixVerseAdapter(ProviderAdapter):
    name = "pixverse"
    default_base_url = "https://app-api.pixverse.ai"

    def headers(self) -> dict[str, str]:
        # A trace id per request, retries included (httpx sets the content type).
        return {"API-KEY": self.api_key, "Ai-trace-id": str(uuid.uuid4())}

    @property
    def family(self) -> PixVerseModel:
        return pixverse_model(self.model)

    def honoured(self, config: RenderConfig | None = None) -> frozenset[str]:
        fixed = self.fixed_inputs()
        out = {"prompt", "negative_prompt", "seed", "camera_control"} - {
            name for name in ("prompt", "negative_prompt", "seed") if name in fixed
        }
        if "camera_movement" in fixed:
            out.discard("camera_control")
        return frozenset(out)

    def camera_movement(self, camera: str) -> str:
        return CAMERA_MOVEMENTS.get(camera, "") if self.family.camera else ""

    # -- calls -----------------------------------------------------------------------------

    def _answer(self, response: httpx.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = None
        code, message = err_code(body)
        retry_after = response.headers.get("retry-after", "")
        delay = float(retry_after) if retry_after.isdigit() else None
        if response.status_code >= 400:
            text = pixverse_message(code, message) if code else message
            raise ProviderHTTPError(
                f"HTTP {response.status_code}" + (f": {text}" if text else ""),
                retryable=response.status_code == 429
                or (response.status_code >= 500 and code not in ERROR_CODES)
                or code in RETRYABLE_CODES,
                retry_after=delay,
            )
        if not isinstance(body, dict):
            raise ProviderHTTPError("response is not JSON", retryable=True)
        if code != 0:
            raise ProviderHTTPError(
                pixverse_message(code, message),
                retryable=code in RETRYABLE_CODES,
                retry_after=delay,
            )
        resp = body.get("Resp")
        return resp if isinstance(resp, dict) else {}

    def _call_once(self, method: str, url: str, *, json: Any) -> Any:
        return self._answer(self._send(method, url, json=json))

    def upload(self, uri: str) -> int:
        """One frame uploaded; its ``img_id``."""
        url = f"{self.base_url}/openapi/v2/image/upload"
        resp = self.retrying(
            lambda: self._answer(
                self._send("POST", url, json=None, files={"image": image_file(uri)})
            )
        )
        img_id = resp.get("img_id")
        if not isinstance(img_id, int):
            raise RenderError("pixverse: the upload's answer has no img_id")
        return img_id

    # -- the request -----------------------------------------------------------------------

    def quality(self, request: ProviderRequest) -> str:
        if "quality" in self.options:
            wanted = self.options["quality"].lower()
            if wanted not in QUALITIES:
                raise RenderError(f"pixverse: quality is one of {', '.join(QUALITIES)}")
            return wanted
        short = min(request.width, request.height)
        return "1080p" if short >= 1080 else "720p" if short >= 720 else "540p"

    def prompt_text(self, request: ProviderRequest) -> str:
        sentence = "" if self.camera_movement(request.camera) else camera_sentence(request.camera)
        text = " ".join(p for p in (request.prompt.strip(), sentence) if p)
        return (text or DEFAULT_PROMPT)[:PROMPT_LIMIT]

    def body(self, request: ProviderRequest) -> dict[str, Any]:
        family = self.family
        quality = self.quality(request)
        durations = family.durations
        if quality == "1080p" and not family.long_at_1080p and len(durations) > 1:
            durations = durations[:-1]  # the longest is not made at 1080p
        body: dict[str, Any] = {
            "model": self.model,
            "prompt": self.prompt_text(request),
            "duration": int(nearest(request.duration, durations)),
            "quality": quality,
            "seed": int(request.seed) % 2_147_483_648,
        }
        if request.negative_prompt:
            body["negative_prompt"] = request.negative_prompt[:PROMPT_LIMIT]
        movement = self.camera_movement(request.camera)
        if movement:
            body["camera_movement"] = movement
        if "motion_mode" in self.options:
            body["motion_mode"] = self.options["motion_mode"]
        if family.new_audio:
            body["generate_audio_switch"] = False
        if not request.images:
            body["aspect_ratio"] = nearest_aspect(request.aspect_ratio, TEXT_ASPECTS)
        body.update(option_inputs(self.options))
        return body

    def submit(self, request: ProviderRequest) -> Submitted:
        body = self.body(request)
        if len(request.images) > 1:
            body["first_frame_img"] = self.upload(request.images[0])
            body["last_frame_img"] = self.upload(request.images[1])
            path = "transition"
        elif request.images:
            body["img_id"] = self.upload(request.images[0])
            path = "img"
        else:
            path = "text"
        resp = self.call("POST", f"{self.base_url}/openapi/v2/video/{path}/generate", json=body)
        video_id = resp.get("video_id")
        if not isinstance(video_id, int):
            raise RenderError("pixverse: the answer has no video_id")
        return Submitted(
            job_id=str(video_id),
            poll_url=f"{self.base_url}/openapi/v2/video/result/{video_id}",
            model_version=self.model,
            seed=body["seed"],
        )

    def poll(self, job: Submitted) -> Poll:
        resp = self.call("GET", job.poll_url)
        status = resp.get("status")
        if status == DONE:
            url = str(resp.get("url") or "")
            if not url:
                return Poll("failed", error="the video is done but has no url")
            seed = resp.get("seed")
            return Poll(
                "succeeded",
                video_url=url,
                model_version=self.model,
                seed=seed if isinstance(seed, int) else None,
            )
        if status == MODERATED:
            return Poll("failed", error="refused by PixVerse's content moderation (status 7)")
        if status == FAILED:
            return Poll("failed", error="PixVerse could not generate the video (status 8)")
        if status == GENERATING or status is None:
            return Poll("pending")
        return Poll("failed", error=f"PixVerse answered status {status}")


class PixVerseEngine(ProviderEngine):
    """PixVerse with the operator's KINORA_PIXVERSE_API_KEY."""

    adapter_class: ClassVar[type[ProviderAdapter]] = PixVerseAdapter
    info = EngineInfo(
        name="pixverse",
        version="1",
        accepts=frozenset(InputKind),
        min_duration=1.0,
        max_duration=15.0,
        description="PixVerse (v4 to v6, C1) on PixVerse's own platform API with the "
        "operator's KINORA_PIXVERSE_API_KEY: text, a first frame, or first and last frames.",
        honours=frozenset({"prompt", "negative_prompt", "seed", "camera_control"}),
    )

    @classmethod
    def accepts_for(cls, model: str) -> frozenset[InputKind]:
        return frozenset(InputKind)

    @classmethod
    def honours_for(cls, model: str) -> frozenset[str]:
        return frozenset({"prompt", "negative_prompt", "seed", "camera_control"})

    def camera_sent(self, camera: str) -> dict[str, str]:
        """PixVerse's camera_movement where it has one, else the path's sentence in the prompt."""
        adapter = self.adapter
        if isinstance(adapter, PixVerseAdapter) and adapter.camera_movement(camera):
            return {"sent_as": "camera_movement", "text": adapter.camera_movement(camera)}
        sentence = camera_sentence(camera)
        return {"sent_as": "prompt", "text": sentence} if sentence else {}
