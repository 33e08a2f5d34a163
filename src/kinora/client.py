"""Python clients for Kinora and any Vimmerse-compatible server.

``Client`` (blocking) and ``AsyncClient`` share every request builder and response parser, so
they differ only in how bytes travel. The core calls use only the spec's endpoints (multipart
create, processing-status polling, download), so they work against a real Vimmerse server too.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from kinora.errors import KinoraError

DEFAULT_URL = "http://127.0.0.1:8000"
FINAL = ("success", "fail", "cancel")


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


# --------------------------------------------------------------------------- shared parts


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    params: dict[str, Any] | None = None
    data: dict[str, Any] | None = None
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None
    headers: dict[str, str] | None = None


def _form_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "True" if value else "False"  # what the spec's requests examples send
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return [_form_value(v) for v in value]
    return str(value)


def _image_part(image: str | Path | bytes, index: int) -> tuple[str, tuple[str, bytes, str]]:
    if isinstance(image, bytes):
        name, data = f"image_{index}.png", image
    else:
        path = Path(image)
        name, data = path.name, path.read_bytes()
    ext = name.rsplit(".", 1)[-1].lower()
    ctype = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}
    return ("image_files", (name, data, ctype.get(ext, "image/png")))


def _create_request(
    images: Sequence[str | Path | bytes], idempotency_key: str | None, fields: dict[str, Any]
) -> _Request:
    data = {k: _form_value(v) for k, v in fields.items() if v is not None}
    files = [_image_part(image, i) for i, image in enumerate(images)]
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    return _Request("POST", "/media", data=data, files=files or None, headers=headers)


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


def _progress(data: Mapping[str, Any]) -> Progress:
    return Progress(
        status=str(data.get("processing_status", "")),
        percentage=int(data.get("progress_percentage") or 0),
        stage=str(data.get("stage", "")),
    )


def _download_params(
    object_type: str, index: int, width: int | None, file_size: float | None
) -> dict[str, Any]:
    params: dict[str, Any] = {"object_type": object_type}
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
        )
        _raise_for(response)
        return response

    def create(
        self,
        images: Sequence[str | Path | bytes] = (),
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Media:
        """Start a generation. ``fields`` are the API's (prompt, camera_control, duration...)."""
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
    ) -> Path:
        target = Path(path)
        params = _download_params(object_type, index, width, file_size)
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

    def edit(self, media_id: str, **fields: Any) -> Media:
        data = {k: _form_value(v) for k, v in fields.items() if v is not None}
        response = self._send(_Request("PUT", f"/media/{media_id}/edit", data=data))
        return _media(_unwrap(response.json()))

    def process(self, media_id: str) -> Media:
        return _media(_unwrap(self._send(_Request("POST", f"/media/{media_id}/process")).json()))

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
        )
        _raise_for(response)
        return response

    async def create(
        self,
        images: Sequence[str | Path | bytes] = (),
        *,
        idempotency_key: str | None = None,
        **fields: Any,
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
    ) -> Path:
        target = Path(path)
        params = _download_params(object_type, index, width, file_size)
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

    async def edit(self, media_id: str, **fields: Any) -> Media:
        data = {k: _form_value(v) for k, v in fields.items() if v is not None}
        response = await self._send(_Request("PUT", f"/media/{media_id}/edit", data=data))
        return _media(_unwrap(response.json()))

    async def process(self, media_id: str) -> Media:
        response = await self._send(_Request("POST", f"/media/{media_id}/process"))
        return _media(_unwrap(response.json()))

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

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
