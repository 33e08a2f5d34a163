"""Python clients for Kinora and any Vimmerse-compatible server.

``Client`` (blocking) and ``AsyncClient`` share every request builder and response parser, so
they differ only in how bytes travel. The core calls use only the spec's endpoints (multipart
create, processing-status polling, download), so they work against a real Vimmerse server too.

Keyword arguments are the API's own field names (``negative_prompt``, ``image_urls``,
``media_items``, ``audio_option``...), plus two shorthands (``camera``, ``aspect``) and the
positional ``images`` for ``image_files``. A name that is neither raises ``TypeError`` naming the
nearest valid one, rather than being sent and ignored. The names are listed here, not imported
from ``kinora.api.schemas``: the client must import without the server's dependencies (FastAPI,
SQLAlchemy, NumPy) and must keep working against servers that are not Kinora;
``tests/test_client.py`` checks that the lists match the server's request models.
"""

from __future__ import annotations

import asyncio
import dataclasses
import difflib
import enum
import json
import os
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, TypeAlias, TypedDict, Unpack

import httpx

from kinora.errors import KinoraError

DEFAULT_URL = "http://127.0.0.1:8000"
FINAL = ("success", "fail", "cancel")
BATCH_FINAL = ("success", "partial", "fail")
"""The statuses a batch ends in; it is ``processing`` until then."""


class APIError(KinoraError):
    """An error answer from the server, carrying its status, code and message."""

    def __init__(self, status_code: int, code: str, message: str, body: Any = None) -> None:
        super().__init__(message or code)
        self.http_status = status_code
        self.api_code = code
        self.body = body

    def __str__(self) -> str:
        return f"{self.http_status} {self.api_code}: {self.message}"


class GenerationFailed(KinoraError):
    """The media ended in ``fail`` (or ``cancel``); ``media.error`` says why."""

    def __init__(self, media: Media) -> None:
        super().__init__(f"media {media.id} ended {media.status}: {media.error or 'no reason'}")
        self.media = media


@dataclass(frozen=True)
class Video:
    url: str
    index: int = 0
    seed: int | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    thumbnail_url: str | None = None


@dataclass(frozen=True)
class Progress:
    status: str
    percentage: int
    stage: str = ""

    @property
    def done(self) -> bool:
        return self.status in FINAL


@dataclass(frozen=True)
class Media:
    id: str
    status: str
    progress: int
    title: str = ""
    videos: list[Video] = field(default_factory=list)
    service_name: str = ""
    service_version: str = ""
    error: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.status in FINAL


@dataclass(frozen=True)
class MediaPage:
    items: list[Media]
    next_cursor: str | None


@dataclass(frozen=True)
class BatchItem:
    """One media of a batch, in the request's order."""

    index: int
    media_id: str
    status: str
    """The media's ``processing_status``."""
    progress_percentage: int = 0


@dataclass(frozen=True)
class Batch:
    """A batch (POST /media/batch, GET /batches/{id}); ``raw`` is the API's object.

    A dry run (``create_batch(..., dry_run=True)``) creates nothing: its ``id`` and ``status``
    are empty and ``credits_required`` is the price.
    """

    id: str
    status: str
    """``processing``, then ``success`` (every media succeeded), ``partial`` or ``fail``."""
    size: int = 0
    finished: int = 0
    counts: Mapping[str, int] = field(default_factory=dict)
    """Media per ``processing_status``."""
    progress_percentage: int = 0
    credits_charged: int = 0
    items: list[BatchItem] = field(default_factory=list)
    credits_required: int | None = None
    """The price, for a dry run only."""
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.status in BATCH_FINAL

    @property
    def media_ids(self) -> list[str]:
        return [item.media_id for item in self.items]


# --------------------------------------------------------------------------- request fields


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    params: dict[str, Any] | None = None
    data: dict[str, Any] | None = None
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None
    headers: dict[str, str] | None = None
    json: Any = None


@dataclass(frozen=True)
class MediaItem:
    """One entry of ``media_items``: an image or video URL as the First or Last frame, or an
    image keyframe (:meth:`keyframe`) placed in time."""

    type: Literal["image", "video"]
    url: str
    position: Literal["First", "Last"] | None = "First"
    at: float | None = None
    """Keyframes: the second of the video that shows this image."""
    hold: float | None = None
    """Keyframes: seconds the video stays on it from ``at``."""

    @classmethod
    def image(cls, url: str, position: Literal["First", "Last"] = "First") -> MediaItem:
        return cls("image", url, position)

    @classmethod
    def keyframe(cls, url: str, at: float | None = None, hold: float | None = None) -> MediaItem:
        """An image the video passes through at ``at`` seconds (unset: spaced evenly), held
        ``hold`` seconds. Keyframes play in list order; send up to 10."""
        return cls("image", url, None, at, hold)

    @classmethod
    def video(cls, url: str, position: Literal["First", "Last"] = "First") -> MediaItem:
        return cls("video", url, position)


@dataclass(frozen=True)
class AudioOption:
    """``audio_option``; fields left ``None`` are not sent."""

    narrator: str | None = None
    narration: str | None = None
    narration_url: str | None = None
    bg_music_prompt: str | None = None
    bg_music_url: str | None = None
    speaker: str | None = None
    """Which face speaks when there are several: largest (default), left, right, center."""


ImageData: TypeAlias = bytes | IO[bytes]
ImageFile: TypeAlias = (
    str | os.PathLike[str] | bytes | IO[bytes] | tuple[str, ImageData] | tuple[str, ImageData, str]
)
"""One of ``image_files``: a path, raw bytes, a file opened ``"rb"``, or ``(filename, bytes or
file[, content type])``."""
Images: TypeAlias = ImageFile | Sequence[ImageFile]
MediaItemLike: TypeAlias = MediaItem | Mapping[str, Any]


class _MediaFields(TypedDict, total=False):
    """Fields of both create and update/edit. ``None`` means "not sent"."""

    title: str | None
    description: str | None
    visibility_status: str | int | None
    media_items: Sequence[MediaItemLike] | MediaItemLike | str | None
    prompt: str | None
    negative_prompt: str | None
    motion_type: str | None
    camera_control: str | None
    quantity: int | None
    duration: int | None
    loop: int | None
    fps: int | None
    """Frames a second: 24, 25, 30, 48, 50 or 60."""
    motion_range: int | None
    aspect_ratio: str | None
    native_audio: bool | None
    sound_effects: bool | None
    """The older spelling of ``native_audio``."""
    audio_option: AudioOption | Mapping[str, Any] | str | None
    narration: str | None
    narrator: str | None
    bg_music_prompt: str | None
    model: str | None
    """The try-on model (``FashnTryOn``...) of motion_type ``TryOnVideo``."""
    character_animate: bool | None
    seed: int | None
    webhook_url: str | None
    metadata: Mapping[str, Any] | str | None
    camera: str | None
    """Shorthand of ``camera_control``."""
    aspect: str | None
    """Shorthand of ``aspect_ratio``."""


class CreateFields(_MediaFields, total=False):
    """The keyword arguments of ``create``: the POST /media form fields."""

    image_files: Images | None
    image_urls: Sequence[str] | str | None


class UpdateFields(_MediaFields, total=False):
    """The keyword arguments of ``update`` and ``edit``: the PUT /media/{id} form fields."""

    rating: str | int | None


SHORTHANDS: Mapping[str, str] = {"camera": "camera_control", "aspect": "aspect_ratio"}
CREATE_FIELDS: frozenset[str] = frozenset(CreateFields.__optional_keys__) - SHORTHANDS.keys()
"""The API's names ``create`` accepts (POST /media)."""
UPDATE_FIELDS: frozenset[str] = frozenset(UpdateFields.__optional_keys__) - SHORTHANDS.keys()
"""The API's names ``update`` and ``edit`` accept (PUT /media/{id}, PUT /media/{id}/edit)."""

_JSON_FIELDS = frozenset({"audio_option", "metadata"})
_BOOL_FIELDS = frozenset({"native_audio", "sound_effects", "character_animate"})
_INT_FIELDS = frozenset({"quantity", "duration", "loop", "fps", "motion_range", "seed"})


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name.strip()).lower().replace("-", "_")


def _unknown(call: str, name: str, valid: frozenset[str]) -> TypeError:
    message = f"{call}() got an unexpected keyword argument {name!r}"
    if call != "create" and name in CREATE_FIELDS:
        hint = "; send new inputs as media_items" if name.startswith("image_") else ""
        return TypeError(f"{message}: {name} is a field of create() only{hint}")
    if call == "create" and name in UPDATE_FIELDS:
        return TypeError(f"{message}: {name} is set by update() or edit(), not create()")
    names = sorted(valid | {short for short, full in SHORTHANDS.items() if full in valid})
    snake = _snake(name)
    close = [snake] if snake in names else difflib.get_close_matches(snake, names, n=1)
    if close:
        return TypeError(f"{message}; did you mean {close[0]!r}?")
    return TypeError(f"{message}; the API's fields are: {', '.join(sorted(valid))}")


def _api_fields(call: str, given: Mapping[str, Any], valid: frozenset[str]) -> dict[str, Any]:
    """``given`` under the API's names, without the ``None`` (not sent) ones."""
    out: dict[str, Any] = {}
    for name, value in given.items():
        api_name = SHORTHANDS.get(name, name)
        if api_name not in valid:
            raise _unknown(call, name, valid)
        if value is None:
            continue
        if api_name in out:
            short = next(s for s, full in SHORTHANDS.items() if full == api_name)
            raise TypeError(f"{call}() got both {api_name!r} and its shorthand {short!r}")
        out[api_name] = value
    return out


_TYPED = {"media_items": "MediaItem", "audio_option": "AudioOption"}


def _plain(value: Any, name: str) -> dict[str, Any]:
    """A dict from a mapping, a dataclass (its ``None`` fields dropped) or a pydantic model."""
    if isinstance(value, Mapping):
        return dict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: v for k, v in dataclasses.asdict(value).items() if v is not None}
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dict(dump(mode="json", exclude_none=True))
    raise TypeError(f"{name} takes a dict (or {_TYPED.get(name, 'a typed object')}), not {value!r}")


def _scalar(name: str, value: Any) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if name in _BOOL_FIELDS:
        if isinstance(value, bool):
            return "True" if value else "False"  # what the spec's requests examples send
        if isinstance(value, str):
            return value
        raise TypeError(f"{name} must be a bool, not {type(value).__name__}")
    if isinstance(value, bool) or not isinstance(value, str | int):
        kind = "an int" if name in _INT_FIELDS else "a str"
        raise TypeError(f"{name} must be {kind}, not {type(value).__name__}")
    return str(value)


def _form_value(name: str, value: Any) -> str | list[str]:
    """One field as the spec's form sends it: JSON strings, repeated keys, "True"/"False"."""
    if name == "media_items":
        if isinstance(value, str):
            return value
        many = isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray))
        items = list(value) if many else [value]
        return json.dumps([_plain(item, name) for item in items])
    if name in _JSON_FIELDS:
        return value if isinstance(value, str) else json.dumps(_plain(value, name))
    if name == "image_urls":
        urls = [value] if isinstance(value, str) else list(value)
        if not all(isinstance(url, str) for url in urls):
            raise TypeError(f"image_urls takes URL strings, not {urls!r}")
        return urls
    return _scalar(name, value)


_CONTENT_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
}


def _sniff(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    return ""


def _read(data: Any) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    read = getattr(data, "read", None)
    if callable(read):
        content = read()
        if not isinstance(content, bytes):
            raise TypeError("image files must be opened in binary mode ('rb')")
        return content
    raise TypeError(f"an image must be a path, bytes or a binary file, not {type(data).__name__}")


def _is_single_image(value: Any) -> bool:
    if isinstance(value, str | bytes | bytearray | memoryview | os.PathLike):
        return True
    if callable(getattr(value, "read", None)):
        return True
    # (filename, bytes or file[, content type]); a tuple of paths is a sequence of images
    return (
        isinstance(value, tuple)
        and len(value) in (2, 3)
        and isinstance(value[0], str)
        and not isinstance(value[1], str | os.PathLike)
    )


def _image_part(image: Any, index: int) -> tuple[str, tuple[str, bytes, str]]:
    ctype = ""
    if isinstance(image, tuple):
        name, data = str(image[0]), _read(image[1])
        ctype = str(image[2]) if len(image) == 3 else ""
    elif isinstance(image, str | os.PathLike):
        path = Path(image)
        name, data = path.name, path.read_bytes()
    else:
        data = _read(image)
        label = getattr(image, "name", None)
        name = Path(label).name if isinstance(label, str) and label else ""
        name = name or f"image_{index}.{_sniff(data) or 'png'}"
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    guessed = _CONTENT_TYPES.get(ext) or _CONTENT_TYPES.get(_sniff(data), "image/png")
    return ("image_files", (name, data, ctype or guessed))


def _create_request(
    images: Images | None, idempotency_key: str | None, fields: Mapping[str, Any]
) -> _Request:
    api = _api_fields("create", fields, CREATE_FIELDS)
    named = api.pop("image_files", None)
    if named is not None and images:
        raise TypeError("create() got images twice: positionally and as image_files")
    chosen: Any = named if named is not None else images
    listed = [] if not chosen else [chosen] if _is_single_image(chosen) else list(chosen)
    files = [_image_part(image, i) for i, image in enumerate(listed)]
    data = {name: _form_value(name, value) for name, value in api.items()}
    return _Request(
        "POST", "/media", data=data, files=files or None, headers=_idempotency(idempotency_key)
    )


def _update_request(
    call: str, media_id: str, idempotency_key: str | None, fields: Mapping[str, Any]
) -> _Request:
    api = _api_fields(call, fields, UPDATE_FIELDS)
    data = {name: _form_value(name, value) for name, value in api.items()}
    path = f"/media/{media_id}" + ("/edit" if call == "edit" else "")
    return _Request("PUT", path, data=data, headers=_idempotency(idempotency_key))


BATCH_ITEM_FIELDS: frozenset[str] = CREATE_FIELDS - {"image_files"}
"""The API's names one item of ``create_batch`` accepts: ``create``'s, but uploads."""


def _json_value(name: str, value: Any) -> Any:
    """One field of a batch item as POST /media takes it in JSON: lists and objects as such."""
    if name == "media_items":
        if isinstance(value, str):
            return value
        many = isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray))
        return [_plain(item, name) for item in (list(value) if many else [value])]
    if name in _JSON_FIELDS:
        return value if isinstance(value, str) else _plain(value, name)
    if name == "image_urls":
        return _form_value(name, value)
    if isinstance(value, enum.Enum):
        value = value.value
    _scalar(name, value)  # the same type checks as a form field; JSON keeps the value's type
    return value


def _batch_item(index: int, item: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise TypeError(f"batch item {index} must be a mapping of create fields, not {item!r}")
    try:
        if item.get("image_files") is not None:
            raise TypeError(
                "a batch takes image URLs (image_urls, media_items), not image_files uploads"
            )
        api = _api_fields(
            "create", {k: v for k, v in item.items() if k != "image_files"}, BATCH_ITEM_FIELDS
        )
        return {name: _json_value(name, value) for name, value in api.items()}
    except TypeError as exc:
        raise TypeError(f"batch item {index}: {exc}") from None


def _batch_request(
    items: Sequence[Mapping[str, Any]],
    *,
    webhook_url: str | None,
    metadata: Mapping[str, Any] | None,
    dry_run: bool,
    idempotency_key: str | None,
) -> _Request:
    if isinstance(items, Mapping | str) or not isinstance(items, Sequence):
        raise TypeError("create_batch() takes a list of create-field mappings")
    body: dict[str, Any] = {"items": [_batch_item(i, item) for i, item in enumerate(items)]}
    if webhook_url is not None:
        body["webhook_url"] = webhook_url
    if metadata is not None:
        body["metadata"] = _plain(metadata, "metadata")
    return _Request(
        "POST",
        "/media/batch",
        params={"dry_run": "true"} if dry_run else None,
        json=body,
        headers=_idempotency(idempotency_key),
    )


def _idempotency(key: str | None) -> dict[str, str] | None:
    return {"Idempotency-Key": key} if key else None


# --------------------------------------------------------------------------- responses


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict) and isinstance(body.get("detail"), list):
        parts = [
            f"{'.'.join(str(x) for x in d.get('loc', []) if x != 'body')}: {d.get('msg', '')}"
            for d in body["detail"]
        ]
        raise APIError(response.status_code, "VALIDATION_ERROR", "; ".join(parts), body)
    if isinstance(body, dict):
        code = str(body.get("message", "ERROR"))
        detail = body.get("detail")
        raise APIError(response.status_code, code, str(detail) if detail else code, body)
    raise APIError(response.status_code, "ERROR", str(body)[:500], body)


def _unwrap(payload: Any) -> dict[str, Any]:
    """{"data": {...}}; the spec's OpenAPI example of GET /media/{id} nests "data" twice."""
    data = payload.get("data", payload) if isinstance(payload, dict) else {}
    if isinstance(data, dict) and set(data) == {"data"} and isinstance(data["data"], dict):
        data = data["data"]
    return dict(data)


def _media(data: Mapping[str, Any]) -> Media:
    videos = [
        Video(
            url=str(item.get("url", "")),
            index=int(item.get("index", i)),
            seed=item.get("seed"),
            width=item.get("width"),
            height=item.get("height"),
            duration=item.get("duration"),
            thumbnail_url=item.get("thumbnail_url"),
        )
        for i, item in enumerate(data.get("result") or [])
        if isinstance(item, dict)
    ]
    return Media(
        id=str(data.get("id", "")),
        status=str(data.get("processing_status", "")),
        progress=int(data.get("progress_percentage") or 0),
        title=str(data.get("title", "")),
        videos=videos,
        service_name=str(data.get("service_name", "")),
        service_version=str(data.get("service_version", "")),
        error=str(data.get("error", "")),
        raw=dict(data),
    )


def _batch(data: Mapping[str, Any], *, size: int = 0) -> Batch:
    if "id" not in data and "credits_required" in data:  # a dry run: the price, nothing made
        required = int(data.get("credits_required") or 0)
        return Batch(id="", status="", size=size, credits_required=required, raw=dict(data))
    items = [
        BatchItem(
            index=int(item.get("index", i)),
            media_id=str(item.get("media_id", "")),
            status=str(item.get("status", "")),
            progress_percentage=int(item.get("progress_percentage") or 0),
        )
        for i, item in enumerate(data.get("items") or [])
        if isinstance(item, dict)
    ]
    counts = data.get("counts")
    return Batch(
        id=str(data.get("id", "")),
        status=str(data.get("status", "")),
        size=int(data.get("size") or len(items)),
        finished=int(data.get("finished") or 0),
        counts={str(k): int(v) for k, v in counts.items()} if isinstance(counts, dict) else {},
        progress_percentage=int(data.get("progress_percentage") or 0),
        credits_charged=int(data.get("credits_charged") or 0),
        items=items,
        raw=dict(data),
    )


def _progress(data: Mapping[str, Any]) -> Progress:
    return Progress(
        status=str(data.get("processing_status", "")),
        percentage=int(data.get("progress_percentage") or 0),
        stage=str(data.get("stage", "")),
    )


def _extend_request(
    media_id: str,
    duration: int,
    prompt: str | None,
    camera_control: str | None,
    motion_type: str | None,
    index: int,
    idempotency_key: str | None,
) -> _Request:
    body: dict[str, Any] = {"duration": duration, "index": index}
    for name, value in (
        ("prompt", prompt),
        ("camera_control", camera_control),
        ("motion_type", motion_type),
    ):
        if value is not None:
            body[name] = value
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    return _Request("POST", f"/media/{media_id}/extend", json=body, headers=headers)


def _download_params(
    object_type: str,
    index: int,
    width: int | None,
    file_size: float | None,
    bullet_version: str | int | None = None,
) -> dict[str, Any]:
    params: dict[str, Any] = {"object_type": object_type}
    if bullet_version is not None:
        params["bullet_version"] = str(bullet_version)
    if index:
        params["index"] = index
    if width:
        params["width"] = width
    if file_size:
        params["file_size"] = file_size
    return params


def _headers(api_key: str | None) -> dict[str, str]:
    return {"X-Api-Key": api_key} if api_key else {}


# --------------------------------------------------------------------------- clients


class Client:
    """``Client("http://127.0.0.1:8000", "kin_...")``; also a context manager."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        timeout: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=_headers(api_key),
            timeout=timeout,
            transport=transport,
        )

    def _send(self, request: _Request) -> httpx.Response:
        response = self._http.request(
            request.method,
            request.path,
            params=request.params,
            data=request.data,
            files=request.files,
            headers=request.headers,
            json=request.json,
        )
        _raise_for(response)
        return response

    def create(
        self,
        images: Images | None = (),
        *,
        idempotency_key: str | None = None,
        **fields: Unpack[CreateFields],
    ) -> Media:
        """Start a generation (POST /media).

        ``images`` are the ``image_files`` (or pass ``image_files=``); ``fields`` are the API's
        own names (``prompt``, ``negative_prompt``, ``image_urls``, ``media_items``,
        ``camera_control``, ``duration``, ``audio_option``...; see ``CreateFields``).
        """
        return _media(_unwrap(self._send(_create_request(images, idempotency_key, fields)).json()))

    def get(self, media_id: str) -> Media:
        return _media(_unwrap(self._send(_Request("GET", f"/media/{media_id}")).json()))

    def status(self, media_id: str) -> Progress:
        path = f"/media/{media_id}/processing-status"
        return _progress(_unwrap(self._send(_Request("GET", path)).json()))

    def wait(
        self,
        media_id: str,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        poll_interval: float = 1.0,
        timeout: float = 1800.0,
        raise_on_failure: bool = True,
    ) -> Media:
        """Poll until the media ends; ``on_progress`` sees every new status."""
        deadline = time.monotonic() + timeout
        last: Progress | None = None
        while True:
            progress = self.status(media_id)
            if progress != last and on_progress is not None:
                on_progress(progress)
            last = progress
            if progress.done:
                media = self.get(media_id)
                if raise_on_failure and media.status != "success":
                    raise GenerationFailed(media)
                return media
            if time.monotonic() > deadline:
                raise TimeoutError(f"media {media_id} still {progress.status} after {timeout} s")
            time.sleep(poll_interval)

    def download(
        self,
        media_id: str,
        path: str | Path,
        *,
        object_type: str = "bullet_video_mp4",
        index: int = 0,
        width: int | None = None,
        file_size: float | None = None,
        bullet_version: str | int | None = None,
    ) -> Path:
        """Save a file of the media; ``bullet_version`` names an earlier version's video
        (after an edit or an extension)."""
        target = Path(path)
        params = _download_params(object_type, index, width, file_size, bullet_version)
        with self._http.stream(
            "GET", f"/media/{media_id}/download", params=params, follow_redirects=True
        ) as response:
            if response.status_code >= 400:
                response.read()
                _raise_for(response)
            tmp = target.with_name(target.name + ".part")
            with tmp.open("wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
            tmp.replace(target)
        return target

    def update(
        self,
        media_id: str,
        *,
        idempotency_key: str | None = None,
        **fields: Unpack[UpdateFields],
    ) -> Media:
        """PUT /media/{id}: change the given fields; generation fields re-render (and charge)."""
        request = _update_request("update", media_id, idempotency_key, fields)
        return _media(_unwrap(self._send(request).json()))

    def edit(
        self,
        media_id: str,
        *,
        idempotency_key: str | None = None,
        **fields: Unpack[UpdateFields],
    ) -> Media:
        """PUT /media/{id}/edit, the spec's spelling of ``update``."""
        request = _update_request("edit", media_id, idempotency_key, fields)
        return _media(_unwrap(self._send(request).json()))

    def process(self, media_id: str) -> Media:
        return _media(_unwrap(self._send(_Request("POST", f"/media/{media_id}/process")).json()))

    def extend(
        self,
        media_id: str,
        *,
        duration: int = 5,
        prompt: str | None = None,
        camera_control: str | None = None,
        motion_type: str | None = None,
        index: int = 0,
        idempotency_key: str | None = None,
    ) -> Media:
        """Add ``duration`` seconds after a finished media's video (POST /media/{id}/extend);
        charged for the new seconds only. Wait for it as for a create."""
        request = _extend_request(
            media_id, duration, prompt, camera_control, motion_type, index, idempotency_key
        )
        return _media(_unwrap(self._send(request).json()))

    def cancel(self, media_id: str) -> Media:
        return _media(_unwrap(self._send(_Request("POST", f"/media/{media_id}/cancel")).json()))

    def delete(self, media_id: str) -> None:
        self._send(_Request("DELETE", f"/media/{media_id}"))

    def list(self, *, limit: int = 20, cursor: str | None = None, **filters: Any) -> MediaPage:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {}), **filters}
        body = self._send(_Request("GET", "/media", params=params)).json()
        return MediaPage([_media(m) for m in body.get("data", [])], body.get("next_cursor"))

    def credits(self) -> int:
        return int(_unwrap(self._send(_Request("GET", "/credits")).json())["credits"])

    def create_batch(
        self,
        items: Sequence[Mapping[str, Any]],
        *,
        webhook_url: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        dry_run: bool = False,
        idempotency_key: str | None = None,
    ) -> Batch:
        """Create 1 to 100 media at once (POST /media/batch), charged all or nothing.

        Each item is a mapping of ``create``'s fields under the API's names (the shorthands
        ``camera`` and ``aspect`` too); inputs go by URL (``image_urls``, ``media_items``),
        never ``image_files``. ``dry_run`` prices the batch and creates nothing.
        """
        request = _batch_request(
            items,
            webhook_url=webhook_url,
            metadata=metadata,
            dry_run=dry_run,
            idempotency_key=idempotency_key,
        )
        return _batch(_unwrap(self._send(request).json()), size=len(items))

    def get_batch(self, batch_id: str) -> Batch:
        return _batch(_unwrap(self._send(_Request("GET", f"/batches/{batch_id}")).json()))

    def list_batches(self, *, limit: int = 20, cursor: str | None = None) -> Sequence[Batch]:
        """Your batches, newest first (``cursor``: the last batch id of the page before)."""
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        body = self._send(_Request("GET", "/batches", params=params)).json()
        return [_batch(b) for b in body.get("data", [])]

    def cancel_batch(self, batch_id: str) -> Batch:
        """Cancel every media of the batch still queued or rendering."""
        response = self._send(_Request("POST", f"/batches/{batch_id}/cancel"))
        return _batch(_unwrap(response.json()))

    def wait_batch(
        self,
        batch_id: str,
        *,
        on_progress: Callable[[Batch], None] | None = None,
        poll_interval: float = 1.0,
        timeout: float = 1800.0,
    ) -> Batch:
        """Poll until every media of the batch has ended; the batch's ``status`` then says
        how it went (``success``, ``partial`` or ``fail``): nothing is raised for it."""
        deadline = time.monotonic() + timeout
        last: Batch | None = None
        while True:
            batch = self.get_batch(batch_id)
            if batch != last and on_progress is not None:
                on_progress(batch)
            last = batch
            if batch.done:
                return batch
            if time.monotonic() > deadline:
                raise TimeoutError(f"batch {batch_id} still {batch.status} after {timeout} s")
            time.sleep(poll_interval)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient:
    """The same calls as ``Client``, awaitable."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        timeout: float = 120.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=_headers(api_key),
            timeout=timeout,
            transport=transport,
        )

    async def _send(self, request: _Request) -> httpx.Response:
        response = await self._http.request(
            request.method,
            request.path,
            params=request.params,
            data=request.data,
            files=request.files,
            headers=request.headers,
            json=request.json,
        )
        _raise_for(response)
        return response

    async def create(
        self,
        images: Images | None = (),
        *,
        idempotency_key: str | None = None,
        **fields: Unpack[CreateFields],
    ) -> Media:
        response = await self._send(_create_request(images, idempotency_key, fields))
        return _media(_unwrap(response.json()))

    async def get(self, media_id: str) -> Media:
        return _media(_unwrap((await self._send(_Request("GET", f"/media/{media_id}"))).json()))

    async def status(self, media_id: str) -> Progress:
        path = f"/media/{media_id}/processing-status"
        return _progress(_unwrap((await self._send(_Request("GET", path))).json()))

    async def wait(
        self,
        media_id: str,
        *,
        on_progress: Callable[[Progress], Awaitable[None] | None] | None = None,
        poll_interval: float = 1.0,
        timeout: float = 1800.0,
        raise_on_failure: bool = True,
    ) -> Media:
        deadline = time.monotonic() + timeout
        last: Progress | None = None
        while True:
            progress = await self.status(media_id)
            if progress != last and on_progress is not None:
                result = on_progress(progress)
                if asyncio.iscoroutine(result):
                    await result
            last = progress
            if progress.done:
                media = await self.get(media_id)
                if raise_on_failure and media.status != "success":
                    raise GenerationFailed(media)
                return media
            if time.monotonic() > deadline:
                raise TimeoutError(f"media {media_id} still {progress.status} after {timeout} s")
            await asyncio.sleep(poll_interval)

    async def download(
        self,
        media_id: str,
        path: str | Path,
        *,
        object_type: str = "bullet_video_mp4",
        index: int = 0,
        width: int | None = None,
        file_size: float | None = None,
        bullet_version: str | int | None = None,
    ) -> Path:
        """Save a file of the media; ``bullet_version`` names an earlier version's video
        (after an edit or an extension)."""
        target = Path(path)
        params = _download_params(object_type, index, width, file_size, bullet_version)
        async with self._http.stream(
            "GET", f"/media/{media_id}/download", params=params, follow_redirects=True
        ) as response:
            if response.status_code >= 400:
                await response.aread()
                _raise_for(response)
            tmp = target.with_name(target.name + ".part")
            with tmp.open("wb") as out:
                async for chunk in response.aiter_bytes():
                    out.write(chunk)
            tmp.replace(target)
        return target

    async def update(
        self,
        media_id: str,
        *,
        idempotency_key: str | None = None,
        **fields: Unpack[UpdateFields],
    ) -> Media:
        request = _update_request("update", media_id, idempotency_key, fields)
        return _media(_unwrap((await self._send(request)).json()))

    async def edit(
        self,
        media_id: str,
        *,
        idempotency_key: str | None = None,
        **fields: Unpack[UpdateFields],
    ) -> Media:
        request = _update_request("edit", media_id, idempotency_key, fields)
        return _media(_unwrap((await self._send(request)).json()))

    async def process(self, media_id: str) -> Media:
        response = await self._send(_Request("POST", f"/media/{media_id}/process"))
        return _media(_unwrap(response.json()))

    async def extend(
        self,
        media_id: str,
        *,
        duration: int = 5,
        prompt: str | None = None,
        camera_control: str | None = None,
        motion_type: str | None = None,
        index: int = 0,
        idempotency_key: str | None = None,
    ) -> Media:
        """:meth:`Client.extend`."""
        request = _extend_request(
            media_id, duration, prompt, camera_control, motion_type, index, idempotency_key
        )
        return _media(_unwrap((await self._send(request)).json()))

    async def cancel(self, media_id: str) -> Media:
        response = await self._send(_Request("POST", f"/media/{media_id}/cancel"))
        return _media(_unwrap(response.json()))

    async def delete(self, media_id: str) -> None:
        await self._send(_Request("DELETE", f"/media/{media_id}"))

    async def list(
        self, *, limit: int = 20, cursor: str | None = None, **filters: Any
    ) -> MediaPage:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {}), **filters}
        body = (await self._send(_Request("GET", "/media", params=params))).json()
        return MediaPage([_media(m) for m in body.get("data", [])], body.get("next_cursor"))

    async def credits(self) -> int:
        return int(_unwrap((await self._send(_Request("GET", "/credits"))).json())["credits"])

    async def create_batch(
        self,
        items: Sequence[Mapping[str, Any]],
        *,
        webhook_url: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        dry_run: bool = False,
        idempotency_key: str | None = None,
    ) -> Batch:
        request = _batch_request(
            items,
            webhook_url=webhook_url,
            metadata=metadata,
            dry_run=dry_run,
            idempotency_key=idempotency_key,
        )
        return _batch(_unwrap((await self._send(request)).json()), size=len(items))

    async def get_batch(self, batch_id: str) -> Batch:
        response = await self._send(_Request("GET", f"/batches/{batch_id}"))
        return _batch(_unwrap(response.json()))

    async def list_batches(self, *, limit: int = 20, cursor: str | None = None) -> Sequence[Batch]:
        """:meth:`Client.list_batches`."""
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        body = (await self._send(_Request("GET", "/batches", params=params))).json()
        return [_batch(b) for b in body.get("data", [])]

    async def cancel_batch(self, batch_id: str) -> Batch:
        """:meth:`Client.cancel_batch`."""
        response = await self._send(_Request("POST", f"/batches/{batch_id}/cancel"))
        return _batch(_unwrap(response.json()))

    async def wait_batch(
        self,
        batch_id: str,
        *,
        on_progress: Callable[[Batch], Awaitable[None] | None] | None = None,
        poll_interval: float = 1.0,
        timeout: float = 1800.0,
    ) -> Batch:
        deadline = time.monotonic() + timeout
        last: Batch | None = None
        while True:
            batch = await self.get_batch(batch_id)
            if batch != last and on_progress is not None:
                result = on_progress(batch)
                if asyncio.iscoroutine(result):
                    await result
            last = batch
            if batch.done:
                return batch
            if time.monotonic() > deadline:
                raise TimeoutError(f"batch {batch_id} still {batch.status} after {timeout} s")
            await asyncio.sleep(poll_interval)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
