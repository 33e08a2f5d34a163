"""Google Veo through the Gemini API (https://generativelanguage.googleapis.com/v1beta).

The wire format is the one Google's own SDK sends in Gemini Developer API mode (googleapis
python-genai, ``models.py``: ``_GenerateVideosParameters_to_mldev``,
``_GenerateVideosConfig_to_mldev``, ``_Image_to_mldev``; ``operations.py``): every request
carries the operator's key in ``x-goog-api-key`` (``KINORA_GEMINI_API_KEY``), and

- ``POST /v1beta/models/{model}:predictLongRunning`` with ``{"instances": [{"prompt",
  "image": {"bytesBase64Encoded", "mimeType"}, "lastFrame": {...}}], "parameters":
  {"aspectRatio", "durationSeconds", "resolution", "negativePrompt", "personGeneration"}}``
  answers a long-running operation ``{"name": "models/{model}/operations/{id}"}``;
- ``GET /v1beta/{name}`` says ``done``; a finished operation holds ``error`` (``code``,
  ``message``) or ``response.generateVideoResponse``: ``generatedSamples[0].video.uri`` (a
  ``files/...:download`` URL that also wants the key), or, when Google's safety filters kept
  the video back, ``raiMediaFilteredCount`` and ``raiMediaFilteredReasons`` and no sample.
  That refusal fails the media with Google's reasons, never as "no video".

What the Gemini API does not take, Kinora does not send: ``seed`` and ``generateAudio`` are
Vertex-only (the SDK raises "only supported in Gemini Enterprise Agent Platform mode" for
both), so the request's seed is not honoured, and a Veo 3 model's own soundtrack, which the
Gemini API always makes, is not used: Kinora's soundtrack (narration, music, native_audio's
sound effects) is the one the media carries. There is no cancel call for these operations: a
cancelled generation stops waiting and the operation runs out at Google.

Camera paths have no Veo parameter; they reach the model as the camera sentence of the path
(its description in :data:`kinora.vocab.CAMERA_PATH_INFO`) added to the prompt, and the
render's history entry records that sentence (``camera``).

Targets: ``gemini:veo-3.1-generate-preview``, ``gemini:veo-3.1-fast-generate-preview``,
``gemini:veo-3.1-lite-generate-preview`` (first and last frame), ``gemini:veo-3.0-generate-001``,
``gemini:veo-3.0-fast-generate-001`` and ``gemini:veo-2.0-generate-001`` (first frame only).
Route options: ``resolution`` (else 1080p for outputs taller than 720 px where the model has
it), ``person_generation`` (checked against what the model allows for the input kind) and
``input.NAME=VALUE`` (extra ``parameters``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

import httpx

from kinora.engines.base import EngineInfo, InputKind, RenderConfig
from kinora.engines.providers.base import (
    MAX_VIDEO_BYTES,
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
from kinora.inputs.fetch import check_url, guarded_client
from kinora.vocab import CAMERA_PATH_INFO, CameraControl

log = logging.getLogger(__name__)

API_VERSION = "v1beta"


@dataclass(frozen=True)
class VeoModel:
    """What one Veo family takes on the Gemini API (Google's Veo documentation)."""

    last_frame: bool
    durations: tuple[int, ...]
    resolutions: tuple[str, ...]
    """Empty: the model takes no ``resolution`` (Veo 2 renders 720p)."""
    person_text: tuple[str, ...]
    """``personGeneration`` values allowed for text-to-video."""
    person_image: tuple[str, ...]
    """... and for a first frame (with or without a last frame)."""
    long_for_high_res: bool = False
    """1080p and 4k need ``durationSeconds`` 8 (Veo 3.1)."""
    high_res_wide_only: bool = False
    """1080p only for 16:9 (Veo 3)."""


VEO_MODELS: tuple[tuple[str, VeoModel], ...] = (
    (
        r"^veo-3\.1-lite",
        VeoModel(True, (4, 6, 8), ("720p", "1080p"), ("allow_all",), ("allow_adult",), True),
    ),
    (
        r"^veo-3\.1",
        VeoModel(True, (4, 6, 8), ("720p", "1080p", "4k"), ("allow_all",), ("allow_adult",), True),
    ),
    (
        r"^veo-3\.0",
        VeoModel(
            False,
            (4, 6, 8),
            ("720p", "1080p"),
            ("allow_all",),
            ("allow_adult",),
            high_res_wide_only=True,
        ),
    ),
    (
        r"^veo-2\.0",
        VeoModel(
            False,
            (5, 6, 7, 8),
            (),
            ("allow_all", "allow_adult", "dont_allow"),
            ("allow_adult", "dont_allow"),
        ),
    ),
)
"""Veo families by model id. An id Kinora has no entry for is sent a first frame only, the
durations 4/6/8 and no resolution or person setting the operator did not ask for."""

UNKNOWN_MODEL = VeoModel(False, (4, 6, 8), (), (), ())

RETRYABLE_STATUSES = frozenset(
    {"RESOURCE_EXHAUSTED", "UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED"}
)


def veo_model(model: str) -> VeoModel:
    for pattern, info in VEO_MODELS:
        if re.search(pattern, model.lower()):
            return info
    return UNKNOWN_MODEL


def camera_sentence(camera: str) -> str:
    """The camera path as a sentence for the prompt ("The camera travels to the left."), or ""
    for none (Auto, or a value Kinora does not know)."""
    try:
        path = CameraControl(camera)
    except ValueError:
        return ""
    if path is CameraControl.AUTO:
        return ""
    return CAMERA_PATH_INFO[path].description.split(" (")[0] + "."


def google_message(body: Any, status: int) -> str:
    """``HTTP 400 INVALID_ARGUMENT: <message>`` from Google's error body."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        kind = str(error.get("status") or "").strip()
        message = str(error.get("message") or "").strip()
        return f"HTTP {status}" + (f" {kind}" if kind else "") + (f": {message}" if message else "")
    return f"HTTP {status}"


def inline_image(uri: str) -> dict[str, str]:
    """A data URI as the Gemini API's image: ``bytesBase64Encoded`` and ``mimeType``."""
    head, _, payload = uri.partition(",")
    mime = head.removeprefix("data:").split(";")[0] or "image/jpeg"
    return {"bytesBase64Encoded": payload, "mimeType": mime}


class GeminiAdapter(ProviderAdapter):
    name = "gemini"
    default_base_url = "https://generativelanguage.googleapis.com"

    def headers(self) -> dict[str, str]:
        return {"x-goog-api-key": self.api_key, "Content-Type": "application/json"}

    @property
    def family(self) -> VeoModel:
        return veo_model(self.model)

    def honoured(self, config: RenderConfig | None = None) -> frozenset[str]:
        fixed = self.fixed_inputs()
        out = set() if "prompt" in fixed else {"prompt"}
        if "negativePrompt" not in fixed:
            out.add("negative_prompt")
        if config is not None and camera_sentence(config.camera) and "prompt" not in fixed:
            out.add("camera_control")
        return frozenset(out)

    def _call_once(self, method: str, url: str, *, json: Any) -> Any:
        response = self._send(method, url, json=json)
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            error = body.get("error") if isinstance(body, dict) else None
            kind = str(error.get("status") or "") if isinstance(error, dict) else ""
            retry_after = response.headers.get("retry-after", "")
            raise ProviderHTTPError(
                google_message(body, response.status_code),
                retryable=response.status_code == 429
                or response.status_code >= 500
                or kind in RETRYABLE_STATUSES,
                retry_after=float(retry_after) if retry_after.isdigit() else None,
            )
        if not isinstance(body, dict):
            raise ProviderHTTPError("response is not JSON", retryable=True)
        return body

    # -- the request -----------------------------------------------------------------------

    def resolution(self, request: ProviderRequest, aspect: str) -> str:
        """The route's ``resolution``, else 1080p for an output taller than 720 px where the
        model renders it, else 720p; "" for a model that takes none."""
        family = self.family
        if "resolution" in self.options:
            wanted = self.options["resolution"]
            if family.resolutions and wanted not in family.resolutions:
                raise RenderError(
                    f"gemini: {self.model} takes resolution {', '.join(family.resolutions)}, "
                    f"not {wanted}"
                )
            return wanted
        if not family.resolutions:
            return ""
        tall = min(request.width, request.height) > 720
        wide_enough = not (family.high_res_wide_only and aspect != "16:9")
        if tall and "1080p" in family.resolutions and wide_enough:
            return "1080p"
        return "720p"

    def person_generation(self, request: ProviderRequest) -> str:
        """The route's ``person_generation``, checked against what the model allows for this
        input kind (Google refuses the others with 400)."""
        wanted = self.options.get("person_generation", "")
        if not wanted:
            return ""
        family = self.family
        allowed = family.person_image if request.images else family.person_text
        if allowed and wanted not in allowed:
            kind = "image-to-video" if request.images else "text-to-video"
            raise RenderError(
                f"gemini: {self.model} takes personGeneration {', '.join(allowed)} for "
                f"{kind}, not {wanted}"
            )
        return wanted

    def prompt_text(self, request: ProviderRequest) -> str:
        sentence = camera_sentence(request.camera)
        return " ".join(p for p in (request.prompt.strip(), sentence) if p)

    def body(self, request: ProviderRequest) -> dict[str, Any]:
        family = self.family
        if len(request.images) > 1 and not family.last_frame:
            raise RenderError(f"gemini: {self.model} takes no last frame")
        instance: dict[str, Any] = {}
        prompt = self.prompt_text(request)
        if prompt:
            instance["prompt"] = prompt
        if request.images:
            instance["image"] = inline_image(request.images[0])
        if len(request.images) > 1:
            instance["lastFrame"] = inline_image(request.images[1])
        aspect = nearest_aspect(request.aspect_ratio, ["16:9", "9:16"])
        parameters: dict[str, Any] = {"aspectRatio": aspect}
        resolution = self.resolution(request, aspect)
        if resolution:
            parameters["resolution"] = resolution
        if family.long_for_high_res and resolution in ("1080p", "4k"):
            parameters["durationSeconds"] = 8
        else:
            parameters["durationSeconds"] = int(nearest(request.duration, family.durations))
        if request.negative_prompt:
            parameters["negativePrompt"] = request.negative_prompt
        person = self.person_generation(request)
        if person:
            parameters["personGeneration"] = person
        parameters.update(option_inputs(self.options))
        return {"instances": [instance], "parameters": parameters}

    def submit(self, request: ProviderRequest) -> Submitted:
        url = f"{self.base_url}/{API_VERSION}/models/{self.model}:predictLongRunning"
        data = self.call("POST", url, json=self.body(request))
        operation = str(data.get("name", ""))
        if not operation:
            raise RenderError("gemini: the answer names no operation")
        return Submitted(
            job_id=operation,
            poll_url=f"{self.base_url}/{API_VERSION}/{operation}",
            model_version=self.model,
        )

    def poll(self, job: Submitted) -> Poll:
        data = self.call("GET", job.poll_url)
        if not data.get("done"):
            return Poll("pending")
        error = data.get("error")
        if isinstance(error, dict):
            code = error.get("code")
            message = str(error.get("message") or "the operation failed")
            return Poll("failed", error=f"{message} (code {code})" if code else message)
        answer = (data.get("response") or {}).get("generateVideoResponse") or {}
        samples = answer.get("generatedSamples") or []
        video = samples[0].get("video") if samples and isinstance(samples[0], dict) else None
        uri = str(video.get("uri") or "") if isinstance(video, dict) else ""
        if uri:
            return Poll("succeeded", video_url=uri, model_version=self.model)
        reasons = [str(r) for r in answer.get("raiMediaFilteredReasons") or []]
        if reasons or answer.get("raiMediaFilteredCount"):
            return Poll(
                "failed",
                error="Google's safety filters withheld the video: "
                + ("; ".join(reasons) or "no reason given"),
            )
        return Poll("failed", error=f"the operation finished without a video: {str(data)[:300]}")

    # -- the result ------------------------------------------------------------------------

    def download(self, url: str) -> bytes:
        """The video, with the key sent only to the API's own host: Google's ``files/...
        :download`` URL wants the key and redirects to storage that must not see it."""
        last = ""
        for attempt in range(self.retries + 1):
            try:
                return self._download_once(url)
            except (ProviderHTTPError, RenderError) as exc:
                last = exc.message
                if isinstance(exc, ProviderHTTPError) and not exc.retryable:
                    break
            if attempt < self.retries:
                self.sleep(self.backoff * 2**attempt)
        raise RenderError(f"gemini: could not download the result: {last}")

    def _download_once(self, url: str, max_redirects: int = 5) -> bytes:
        api = urlsplit(self.base_url)
        current = url
        try:
            with guarded_client(
                allow_private=self.allow_private, timeout=max(120.0, self.request_timeout)
            ) as client:
                for _hop in range(max_redirects + 1):
                    check_url(current, field="provider_output")
                    target = urlsplit(current)
                    same_host = (target.scheme, target.netloc) == (api.scheme, api.netloc)
                    headers = {"x-goog-api-key": self.api_key} if same_host else {}
                    with client.stream("GET", current, headers=headers) as response:
                        if response.is_redirect:
                            current = urljoin(current, response.headers.get("location", ""))
                            continue
                        if response.status_code != 200:
                            response.read()
                            raise ProviderHTTPError(
                                google_message(_json_or_none(response), response.status_code),
                                retryable=response.status_code == 429
                                or response.status_code >= 500,
                            )
                        chunks: list[bytes] = []
                        size = 0
                        for chunk in response.iter_bytes():
                            size += len(chunk)
                            if size > MAX_VIDEO_BYTES:
                                raise RenderError("gemini: the video is larger than 1 GB")
                            chunks.append(chunk)
                        return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise ProviderHTTPError(f"{type(exc).__name__}: {exc}", retryable=True) from exc
        raise ProviderHTTPError("too many redirects", retryable=False)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


class GeminiEngine(ProviderEngine):
    """Veo on the Gemini API with the operator's KINORA_GEMINI_API_KEY."""

    adapter_class: ClassVar[type[ProviderAdapter]] = GeminiAdapter
    info = EngineInfo(
        name="gemini",
        version="1",
        accepts=frozenset(InputKind),
        min_duration=4.0,
        max_duration=8.0,
        description="Google Veo (3.1, 3.1 Fast, 3, 2) through the Gemini API with the "
        "operator's KINORA_GEMINI_API_KEY.",
        honours=frozenset({"prompt", "negative_prompt"}),
        can_honour=frozenset({"camera_control"}),
    )

    @classmethod
    def accepts_for(cls, model: str) -> frozenset[InputKind]:
        """Two images (first and last frame) only on the models that take a last frame."""
        if veo_model(model).last_frame:
            return cls.info.accepts
        return cls.info.accepts - {InputKind.TWO_IMAGES}

    @classmethod
    def honours_for(cls, model: str) -> frozenset[str]:
        return frozenset({"prompt", "negative_prompt"})

    def camera_sent(self, camera: str) -> dict[str, str]:
        """Veo has no camera parameter: the path's sentence goes in the prompt."""
        sentence = camera_sentence(camera)
        return {"sent_as": "prompt", "text": sentence} if sentence else {}
