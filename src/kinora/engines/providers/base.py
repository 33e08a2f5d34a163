"""Hosted video models behind the engine plug point.

A :class:`ProviderAdapter` speaks one provider's documented HTTP API: submit a job, poll it,
and hand back the video URL with the model version and seed the provider reports. The shared
:meth:`ProviderAdapter.generate` loop does the rest the same way for every provider: retries
with exponential backoff on transport errors, 429 and 5xx (honouring Retry-After), a deadline
on the whole wait, and the download of the result through the SSRF-guarded client. A final
failure raises :class:`~kinora.errors.RenderError` carrying the provider's own message; the
runner fails the media with it and refunds the credits.

:class:`ProviderEngine` turns an adapter into a :class:`MotionEngine`: it crops the inputs to
the output shape, asks the provider for one pass of the motion, and retimes and fits the
returned video to exactly the frames Kinora promised (repeating it for ``loop``).
"""

from __future__ import annotations

import base64
import io
import logging
import os
import re
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import httpx
import numpy as np
from PIL import Image

from kinora import telemetry
from kinora.config import Settings
from kinora.engines.base import (
    ENGINE_FIELDS,
    EngineInputs,
    Frame,
    InputKind,
    MotionEngine,
    Render,
    RenderConfig,
    cancel_requested,
)
from kinora.engines.morph.tween import tween
from kinora.engines.registry import TargetCheck
from kinora.errors import CancelledError, FetchError, RenderError
from kinora.inputs.fetch import fetch, guarded_client
from kinora.video.encode import Mp4Writer, iter_frames, probe
from kinora.video.fit import cover_fit

log = logging.getLogger(__name__)

MAX_VIDEO_BYTES = 1 << 30
INLINE_IMAGE_BYTES = 256 * 1024
"""Images are sent inline as data URIs, re-encoded until they fit (Replicate's advice)."""

ASPECTS: dict[str, float] = {"16:9": 16 / 9, "4:3": 4 / 3, "1:1": 1.0, "3:4": 3 / 4, "9:16": 9 / 16}


@dataclass(frozen=True)
class ProviderRequest:
    """One pass of motion, in provider-neutral terms."""

    prompt: str
    images: Sequence[str]
    """Data URIs: none (text), the first frame, or first and last frames."""
    duration: float
    aspect_ratio: str
    width: int
    height: int
    seed: int
    loop: bool = False
    camera: str = ""
    motion_range: int = 5
    negative_prompt: str = ""


@dataclass
class Submitted:
    job_id: str
    poll_url: str
    result_url: str = ""
    model_version: str = ""
    seed: int | None = None
    """The seed sent, when the provider takes one (a seed it reports wins)."""
    cancel_url: str = ""
    """Where the provider takes a cancel, when it says so in its answer."""
    spend: dict[str, Any] = field(default_factory=dict)
    """What the provider says the job costs, in its own units (``{"credits": 20}``)."""


@dataclass
class Poll:
    state: Literal["pending", "succeeded", "failed"]
    video_url: str = ""
    error: str = ""
    model_version: str = ""
    seed: int | None = None
    spend: dict[str, Any] = field(default_factory=dict)
    """What the provider reports the finished job cost or used (its units); merged over the
    submit's."""


@dataclass
class ProviderResult:
    """What came back, recorded with the media (service_version and render metadata)."""

    provider: str
    model: str
    model_version: str
    job_id: str
    seed: int | None
    video_url: str
    video: bytes = field(repr=False, default=b"")
    spend: dict[str, Any] = field(default_factory=dict)
    """The provider's own account of the job's cost or use, recorded with the media (its
    history entry) so an operator can reconcile the bill: credits, tokens, seconds."""

    def metadata(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "provider": self.provider,
            "model": self.model,
            "model_version": self.model_version,
            "job_id": self.job_id,
            "seed": self.seed,
        }
        if self.spend:
            out["spend"] = dict(self.spend)
        return out


class ProviderHTTPError(Exception):
    """An HTTP answer that is not a success; ``retryable`` for 429, 5xx and transport errors."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.message, self.retryable, self.retry_after = message, retryable, retry_after


def provider_message(response: httpx.Response) -> str:
    """The provider's own words for an error response (detail/error/message/failure)."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        for key in ("detail", "error", "message", "failure", "failure_reason", "title"):
            value = body.get(key)
            if value:
                return value if isinstance(value, str) else str(value)[:500]
    return str(body)[:500]


class ProviderAdapter(ABC):
    """One provider's API. Subclasses implement :meth:`submit` and :meth:`poll`."""

    name: ClassVar[str]
    default_base_url: ClassVar[str]
    accepts: ClassVar[frozenset[InputKind]] = frozenset(InputKind)

    def __init__(
        self,
        *,
        model: str,
        api_key: str,
        base_url: str = "",
        options: Mapping[str, str] | None = None,
        timeout: float = 900.0,
        poll_interval: float = 2.0,
        retries: int = 4,
        backoff: float = 1.0,
        request_timeout: float = 30.0,
        allow_private: bool | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.model = model
        self.api_key = api_key
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self.options = dict(options or {})
        self.timeout, self.poll_interval = timeout, poll_interval
        self.retries, self.backoff = retries, backoff
        self.request_timeout = request_timeout
        overridden = bool(base_url) and base_url.rstrip("/") != self.default_base_url
        self.allow_private = overridden if allow_private is None else allow_private
        self.sleep = sleep

    def prompt_and_frames(
        self,
        request: ProviderRequest,
        *,
        image: str,
        last: str | None,
        negative: str | None = None,
    ) -> dict[str, Any]:
        """The inputs most hosted models share: prompt, negative prompt (for models that take
        one: ``negative`` names its input), first frame and optional last frame.

        Route options ``image_input``, ``last_image_input`` and ``negative_input`` rename
        the frame and negative-prompt inputs (``negative_input=`` empty: send none).
        """
        data: dict[str, Any] = {}
        if request.prompt:
            data["prompt"] = request.prompt
        negative_name = self.negative_input(negative)
        if request.negative_prompt and negative_name:
            data[negative_name] = request.negative_prompt
        if request.images:
            data[self.options.get("image_input", image)] = request.images[0]
        if len(request.images) > 1:
            last_name = self.options.get("last_image_input", last)
            if not last_name:
                raise RenderError(f"{self.name}: {self.model} takes no last frame")
            data[last_name] = request.images[1]
        return data

    def negative_input(self, documented: str | None) -> str | None:
        """The model's negative-prompt input: the documented one, or the route option
        ``negative_input`` (for a model Kinora has no table entry for; empty: none)."""
        if "negative_input" in self.options:
            return self.options["negative_input"].strip() or None
        return documented

    def fixed_inputs(self) -> set[str]:
        """Inputs the route fixes (``input.NAME=VALUE``): the request's value does not reach
        the model for these, so the field they carry is not honoured."""
        return set(option_inputs(self.options))

    def honoured(self, config: RenderConfig | None = None) -> frozenset[str]:
        """Which of :data:`~kinora.engines.base.ENGINE_FIELDS` this adapter sends to its
        model (with ``config``: for that render's values). The default: the prompt."""
        return frozenset() if "prompt" in self.fixed_inputs() else frozenset({"prompt"})

    # -- what subclasses provide -----------------------------------------------------------

    @abstractmethod
    def headers(self) -> dict[str, str]:
        """Authentication and version headers."""

    @abstractmethod
    def submit(self, request: ProviderRequest) -> Submitted:
        """Start a job; its id and where to poll it."""

    @abstractmethod
    def poll(self, job: Submitted) -> Poll:
        """The job's state now."""

    def cancel(self, job: Submitted) -> None:
        """Ask the provider to stop the job (when the generation is cancelled). The default
        does nothing: the job runs out at the provider."""
        log.info("%s: no cancel in this API; job %s runs out there", self.name, job.job_id)

    # -- shared machinery ------------------------------------------------------------------

    def call(self, method: str, url: str, *, json: Any = None) -> Any:
        """One API call with retries; returns the decoded JSON body or raises RenderError."""
        return self.retrying(lambda: self._call_once(method, url, json=json))

    def retrying(self, attempt_once: Callable[[], Any]) -> Any:
        """``attempt_once`` until it succeeds, retrying what :class:`ProviderHTTPError` marks
        retryable with backoff (and the provider's Retry-After); RenderError when it gives up."""
        last = ""
        for attempt in range(self.retries + 1):
            try:
                return attempt_once()
            except ProviderHTTPError as exc:
                last = exc.message
                if not exc.retryable or attempt == self.retries:
                    break
                delay = self.backoff * 2**attempt
                if exc.retry_after is not None:
                    delay = max(delay, min(exc.retry_after, 60.0))
                log.warning("%s: %s; retry %d in %.1f s", self.name, last, attempt + 1, delay)
                self.sleep(delay)
        raise RenderError(f"{self.name}: {last}")

    def _send(
        self, method: str, url: str, *, json: Any, files: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        """One request through the SSRF-guarded client; transport failures are retryable.
        ``files``: a multipart upload instead of a JSON body (an API's image upload)."""
        try:
            with guarded_client(
                allow_private=self.allow_private, timeout=self.request_timeout
            ) as client:
                response = client.request(
                    method, url, json=json, files=files, headers=self.headers()
                )
        except httpx.HTTPError as exc:
            telemetry.record_provider_call(self.name, error="transport")
            raise ProviderHTTPError(f"{type(exc).__name__}: {exc}", retryable=True) from exc
        telemetry.record_provider_call(
            self.name, error=telemetry.provider_error_kind(response.status_code)
        )
        return response

    def _call_once(self, method: str, url: str, *, json: Any) -> Any:
        response = self._send(method, url, json=json)
        if response.status_code >= 400:
            retry_after = response.headers.get("retry-after", "")
            raise ProviderHTTPError(
                f"HTTP {response.status_code}: {provider_message(response)}",
                retryable=response.status_code == 429 or response.status_code >= 500,
                retry_after=float(retry_after) if retry_after.isdigit() else None,
            )
        if response.status_code == 204 or not response.content:
            return None  # a success with nothing to say (a DELETE)
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderHTTPError("response is not JSON", retryable=True) from exc

    def generate(self, request: ProviderRequest) -> ProviderResult:
        """Submit, wait (polling) until done or the deadline, and download the video."""
        deadline = time.monotonic() + self.timeout
        if cancel_requested():
            raise CancelledError("the generation was cancelled")
        job = self.submit(request)
        while True:
            if cancel_requested():
                self._cancel_quietly(job)
                raise CancelledError("the generation was cancelled")
            state = self.poll(job)
            if state.state == "failed":
                telemetry.record_provider_error(self.name, "job_failed")
                raise RenderError(f"{self.name}: {state.error or 'the job failed'}")
            if state.state == "succeeded":
                break
            if time.monotonic() >= deadline:
                raise RenderError(
                    f"{self.name}: job {job.job_id} did not finish in {self.timeout:.0f} s"
                )
            self.sleep(self.poll_interval)
        if not state.video_url:
            raise RenderError(f"{self.name}: job {job.job_id} succeeded without a video")
        return ProviderResult(
            provider=self.name,
            model=self.model,
            model_version=state.model_version or job.model_version,
            job_id=job.job_id,
            seed=state.seed if state.seed is not None else job.seed,
            video_url=state.video_url,
            video=self.download(state.video_url),
            spend={**job.spend, **state.spend},
        )

    def _cancel_quietly(self, job: Submitted) -> None:
        """Best effort: a provider that cannot be told still lets the cancel finish here."""
        try:
            self.cancel(job)
        except (RenderError, ProviderHTTPError, httpx.HTTPError) as exc:
            log.warning("%s: could not cancel job %s: %s", self.name, job.job_id, exc)
        else:
            log.info("%s: cancelled job %s", self.name, job.job_id)

    def download(self, url: str) -> bytes:
        last = ""
        for attempt in range(self.retries + 1):
            try:
                return fetch(
                    url,
                    field="provider_output",
                    max_bytes=MAX_VIDEO_BYTES,
                    timeout=max(120.0, self.request_timeout),
                    allow_private=self.allow_private,
                ).content
            except FetchError as exc:
                last = exc.message
            if attempt < self.retries:
                self.sleep(self.backoff * 2**attempt)
        raise RenderError(f"{self.name}: could not download the result: {last}")


# --- shared helpers for adapters ----------------------------------------------------------


def input_kinds(*, text: bool, image: bool, last_frame: bool) -> frozenset[InputKind]:
    """The input kinds of a model that takes text, a first frame and/or a last frame."""
    wanted = {InputKind.TEXT: text, InputKind.ONE_IMAGE: image, InputKind.TWO_IMAGES: last_frame}
    return frozenset(kind for kind, on in wanted.items() if on)


def coded_message(code: int, message: str, meaning: str, *, label: str = "code") -> str:
    """``<message> (<label> N: <meaning>)`` for APIs that answer numbered errors; the
    meaning is left out when the message already says it."""
    text = message.strip() or meaning or "error"
    extra = f": {meaning}" if meaning and meaning.lower() != text.lower() else ""
    return f"{text} ({label} {code}{extra})"


def nearest(value: float, choices: Sequence[float]) -> float:
    return min(choices, key=lambda c: (abs(c - value), c))


def nearest_aspect(aspect_ratio: str, choices: Sequence[str]) -> str:
    want = ASPECTS.get(aspect_ratio, 16 / 9)
    return min(choices, key=lambda c: abs(np.log(ASPECTS.get(c, 1.0) / want)))


def aspect_of(width: int, height: int) -> str:
    return min(ASPECTS, key=lambda r: abs(np.log(ASPECTS[r] / (width / height))))


def data_uri(image: Frame, *, limit: int = INLINE_IMAGE_BYTES, long_side: int = 1280) -> str:
    """A JPEG data URI of ``image``, shrunk and re-encoded until it fits ``limit`` bytes."""
    pil = Image.fromarray(image)
    scale = min(1.0, long_side / max(pil.size))
    quality = 92
    while True:
        size = (max(16, round(pil.width * scale)), max(16, round(pil.height * scale)))
        img = pil.resize(size, Image.Resampling.LANCZOS) if size != pil.size else pil
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=quality)
        if buf.tell() <= limit or (quality <= 60 and scale < 0.3):
            return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()
        if quality > 60:
            quality -= 10
        else:
            scale *= 0.8


def family_names(
    model: str,
    base: Mapping[str, Any],
    table: Sequence[tuple[str, Mapping[str, Any]]],
    exceptions: Sequence[tuple[str, Mapping[str, Any]]] = (),
) -> dict[str, Any]:
    """Input names of ``model``'s family: ``base``, updated by the first ``table`` entry whose
    pattern (a regular expression) occurs in the lower-cased model name, then by every
    matching entry of ``exceptions`` (models of a family that lack an input)."""
    m = model.lower()
    names = dict(base)
    for pattern, values in table:
        if re.search(pattern, m):
            names.update(values)
            break
    for pattern, values in exceptions:
        if re.search(pattern, m):
            names.update(values)
    return names


LUMA_CONCEPTS: dict[str, str] = {
    "Static": "static",
    "Crane up": "crane_up",
    "Crane down": "crane_down",
    "Tilt up": "tilt_up",
    "Tilt down": "tilt_down",
    "Pan right": "pan_right",
    "Pan left": "pan_left",
    "Roll right": "roll_right",
    "Roll left": "roll_left",
    "Orbit right": "orbit_right",
    "Orbit left": "orbit_left",
    "Dolly zoom": "dolly_zoom",
    "Zoom in": "zoom_in",
    "Zoom out": "zoom_out",
    "Aerial": "aerial",
}
"""Kinora's camera paths as Luma camera concepts (Luma's concept keys, as listed in the
``concepts`` input of Luma's Ray 2 models on Replicate). Rotate 360 has no concept."""


def camera_inputs(kind: str, camera: str) -> dict[str, Any]:
    """The documented camera input of a model family for one camera path, or {} when the
    model has no such move: ``concepts`` (Luma Ray 2 on Replicate: a list of concept
    keys), ``camera_fixed`` (Seedance 1.x: only Static, a locked camera)."""
    if kind == "concepts" and camera in LUMA_CONCEPTS:
        return {"concepts": [LUMA_CONCEPTS[camera]]}
    if kind == "camera_fixed" and camera == "Static":
        return {"camera_fixed": True}
    return {}


def honoured_inputs(
    adapter: ProviderAdapter, names: Mapping[str, Any], config: RenderConfig | None
) -> frozenset[str]:
    """What a table-driven adapter (Replicate, fal) sends for its model: the prompt, the
    negative prompt and seed where the family has those inputs, and the camera path where the
    family has that move (only with ``config``: it depends on the path). An input fixed by a
    route option (``input.NAME=VALUE``) carries the operator's value, not the request's."""
    fixed = adapter.fixed_inputs()
    out = set() if "prompt" in fixed else {"prompt"}
    negative = adapter.negative_input(names.get("negative"))
    if negative and negative not in fixed:
        out.add("negative_prompt")
    if names.get("seed") and names["seed"] not in fixed:
        out.add("seed")
    if config is not None and config.camera:
        sent = camera_inputs(str(names.get("camera") or ""), config.camera)
        if sent and not set(sent) & fixed:
            out.add("camera_control")
    return frozenset(out)


def option_inputs(options: Mapping[str, str]) -> dict[str, Any]:
    """Route options ``input.NAME=VALUE`` as extra provider inputs (numbers and booleans typed)."""
    extra: dict[str, Any] = {}
    for key, value in options.items():
        if not key.startswith("input."):
            continue
        typed: Any = value
        if value.lower() in ("true", "false"):
            typed = value.lower() == "true"
        else:
            try:
                typed = int(value)
            except ValueError:
                try:
                    typed = float(value)
                except ValueError:
                    typed = value
        extra[key.removeprefix("input.")] = typed
    return extra


# --- the engine around an adapter ---------------------------------------------------------


def _setting(settings: Settings, name: str, default: Any) -> Any:
    value = getattr(settings, name, None)
    return default if value is None or value == "" else value


def base_url_overrides(settings: Settings) -> dict[str, str]:
    """``KINORA_PROVIDER_BASE_URLS``: ``replicate=http://...,fal=...`` (stand-ins, proxies)."""
    text = str(_setting(settings, "provider_base_urls", ""))
    out: dict[str, str] = {}
    for entry in text.replace(";", ",").split(","):
        key, sep, value = entry.partition("=")
        if sep and key.strip() and value.strip():
            out[key.strip()] = value.strip()
    return out


def api_key(settings: Settings, provider: str) -> str:
    """``KINORA_<PROVIDER>_API_KEY``, from the settings (or the environment, same name)."""
    name = f"{provider}_api_key"
    value = _setting(settings, name, "") or os.environ.get(f"KINORA_{name.upper()}", "")
    return str(value)


class ProviderEngine(MotionEngine):
    """A hosted model as an engine. Subclasses set ``info`` and ``adapter_class``."""

    adapter_class: ClassVar[type[ProviderAdapter]]

    def __init__(self, adapter: ProviderAdapter) -> None:
        self.adapter = adapter

    # -- the TargetEngine protocol of the registry ------------------------------------------

    @classmethod
    def check_target(
        cls, *, argument: str, options: Mapping[str, str], settings: Settings
    ) -> TargetCheck:
        provider = cls.adapter_class.name
        if not argument:
            return TargetCheck(frozenset(), f"{provider}: no model named (use {provider}:MODEL)")
        if not api_key(settings, provider):
            return TargetCheck(frozenset(), f"KINORA_{provider.upper()}_API_KEY is not set")
        return TargetCheck(cls.accepts_for(argument))

    @classmethod
    def accepts_for(cls, model: str) -> frozenset[InputKind]:
        return cls.adapter_class.accepts & cls.info.accepts

    @classmethod
    def from_target(
        cls, *, argument: str, options: Mapping[str, str], settings: Settings
    ) -> ProviderEngine:
        provider = cls.adapter_class.name
        adapter = cls.adapter_class(
            model=argument,
            api_key=api_key(settings, provider),
            base_url=base_url_overrides(settings).get(provider, ""),
            options=options,
            timeout=float(_setting(settings, "provider_timeout_seconds", 900.0)),
            poll_interval=float(_setting(settings, "provider_poll_seconds", 2.0)),
            retries=int(_setting(settings, "provider_retries", 4)),
            backoff=float(_setting(settings, "provider_backoff_seconds", 1.0)),
        )
        return cls(adapter)

    # -- MotionEngine -----------------------------------------------------------------------

    def service_version(self) -> str:
        """The model; each render's :attr:`Render.version` adds the provider's version and
        seed (see :func:`version_of`)."""
        return self.adapter.model

    def version_of(self, results: Sequence[ProviderResult]) -> str:
        """``model@version`` as the provider reported it, and the seeds it used."""
        versions = sorted({r.model_version for r in results if r.model_version})
        text = self.adapter.model + (f"@{','.join(versions)}" if versions else "")
        seeds = [str(r.seed) for r in results if r.seed is not None]
        return text + (f"; seeds {','.join(seeds)}" if seeds else "")

    def honoured_fields(self, config: RenderConfig | None = None) -> frozenset[str]:
        """What the adapter really sends to this target's model (its family's inputs)."""
        return self.adapter.honoured(config) & ENGINE_FIELDS

    def request_for(self, inputs: EngineInputs, config: RenderConfig) -> ProviderRequest:
        images = []
        for image in inputs.images[:2]:
            # Crop to the output shape (at up to 1280 px) so the provider frames it as we do.
            h, w = image.shape[:2]
            ow, oh = _fit_size(w, h, config.width, config.height, min(1.0, 1280 / max(h, w)))
            images.append(data_uri(cover_fit(image, ow, oh)))
        return ProviderRequest(
            prompt=inputs.prompt or config.prompt,
            images=images,
            duration=config.duration,
            aspect_ratio=aspect_of(config.width, config.height),
            width=config.width,
            height=config.height,
            seed=config.seed,
            loop=config.loop > 1,
            camera=config.camera,
            motion_range=config.motion_range,
            negative_prompt=config.negative_prompt
            or str(config.options.get("negative_prompt", "") or ""),
        )

    def camera_sent(self, camera: str) -> dict[str, str]:
        """How this engine sends a camera path to its provider, for the history entry
        (``{"sent_as": ..., "text": ...}``); {} when it sends none or the path is empty.
        Adapters whose API takes the path in another way say so here."""
        return {}

    def render(self, inputs: EngineInputs, config: RenderConfig) -> Render:
        """The provider's job, retimed; its job id, version and seed in the Render, and how
        the camera path was sent (:meth:`camera_sent`)."""
        out = Render(iter(()))
        sent = self.camera_sent(config.camera)
        if sent:
            out.metadata["camera"] = sent

        def frames() -> Iterator[Frame]:
            result = self.adapter.generate(self.request_for(inputs, config))
            out.metadata["provider"] = result.metadata()
            out.version = self.version_of([result])
            yield from self._retimed(result, config)

        out.frames = frames()
        return out

    def frames(self, inputs: EngineInputs, config: RenderConfig) -> Iterator[Frame]:
        yield from self.render(inputs, config).frames

    def _retimed(self, result: ProviderResult, config: RenderConfig) -> Iterator[Frame]:
        with tempfile.TemporaryDirectory(prefix="kinora-provider-") as tmp:
            path = Path(tmp) / "provider.mp4"
            path.write_bytes(result.video)
            yield from retime(path, config)


def _fit_size(w: int, h: int, out_w: int, out_h: int, scale: float) -> tuple[int, int]:
    """The largest size of the output's shape inside the input, scaled by ``scale``."""
    s = min(w / out_w, h / out_h) * scale
    return max(2, round(out_w * s)), max(2, round(out_h * s))


def retime(path: Path, config: RenderConfig) -> Iterator[Frame]:
    """Exactly ``config.total_frames`` frames: the video stretched to one pass, ``loop`` times.

    A video with fewer frames than the pass needs (a provider's 24 fps clip at 60 fps, or
    stretched to a longer duration) gets its missing frames made by optical flow between its
    own (:func:`kinora.engines.morph.tween.tween`), never repeated."""

    try:
        count = int(probe(path).get("frames") or 0)
        if count <= 0:
            count = sum(1 for _ in iter_frames(path))
    except Exception as exc:
        raise RenderError(f"the provider's video cannot be decoded: {exc}") from exc
    if count <= 0:
        raise RenderError("the provider's video has no frames")
    n = config.frames_per_motion
    for _ in range(config.loop):
        fitted = (cover_fit(f, config.width, config.height) for f in iter_frames(path))
        i = 0
        last: Frame | None = None
        for frame in tween(fitted, count, n):
            yield frame
            last = frame
            i += 1
        while i < n:  # the container held no frames at all after its header
            if last is None:
                raise RenderError("the provider's video has no frames")
            yield last
            i += 1


# --- a fake adapter, for tests of everything around providers ---------------------------


class FakeAdapter(ProviderAdapter):
    """No network: jobs finish after ``polls`` polls with a generated MP4 (or ``fail``)."""

    name = "fake"
    default_base_url = "fake://"

    def __init__(self, *, polls: int = 1, fail: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("model", "fake/model")
        kwargs.setdefault("api_key", "fake")
        super().__init__(**kwargs)
        self.polls, self.fail = polls, fail
        self.requests: list[ProviderRequest] = []
        self.cancelled: list[str] = []
        self._seen: dict[str, int] = {}

    def headers(self) -> dict[str, str]:
        return {}

    def submit(self, request: ProviderRequest) -> Submitted:
        self.requests.append(request)
        job = f"job{len(self.requests)}"
        self._seen[job] = 0
        return Submitted(job_id=job, poll_url=job, model_version="fake-1")

    def poll(self, job: Submitted) -> Poll:
        self._seen[job.job_id] += 1
        if self._seen[job.job_id] < self.polls:
            return Poll("pending")
        if self.fail:
            return Poll("failed", error=self.fail)
        return Poll("succeeded", video_url=f"fake://{job.job_id}.mp4", seed=self.requests[-1].seed)

    def cancel(self, job: Submitted) -> None:
        self.cancelled.append(job.job_id)

    def poll_count(self, job_id: str) -> int:
        """How many times the job was polled (tests)."""
        return self._seen.get(job_id, 0)

    def download(self, url: str) -> bytes:
        request = self.requests[-1]
        return fake_video(width=request.width, height=request.height, frames=12, fps=12)


def fake_video(*, width: int, height: int, frames: int, fps: int) -> bytes:
    """A small MP4 whose brightness ramps (what stand-ins and the fake adapter return)."""

    width, height = max(16, width // 2 * 2), max(16, height // 2 * 2)
    with tempfile.TemporaryDirectory(prefix="kinora-fake-") as tmp:
        path = Path(tmp) / "fake.mp4"
        with Mp4Writer(path, width=width, height=height, fps=fps) as writer:
            for i in range(frames):
                value = int(255 * i / max(1, frames - 1))
                writer.write(np.full((height, width, 3), value, dtype=np.uint8))
        return path.read_bytes()
