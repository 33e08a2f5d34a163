"""Typed dependencies: the runtime, the calling customer, the parsed request body."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser

from kinora.api.jsonbody import JsonBudgetError, loads_bounded
from kinora.db.models import ApiKey, Customer
from kinora.domain.media import Upload
from kinora.errors import AuthError, InputError, PayloadTooLargeError
from kinora.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def get_customer(
    runtime: RuntimeDep,
    x_api_key: Annotated[str | None, Header(alias="X-Api-Key")] = None,
) -> Customer:
    if not x_api_key:
        raise AuthError("missing X-Api-Key header")
    with runtime.db.sessions() as s:
        customer = s.scalars(
            select(Customer).join(ApiKey).where(ApiKey.key_hash == hash_key(x_api_key.strip()))
        ).first()
    if customer is None:
        raise AuthError("unknown API key")
    return customer


CustomerDep = Annotated[Customer, Depends(get_customer)]

LIST_FIELDS = frozenset({"image_urls"})
MAX_FIELDS = 100
MAX_FILES = 4
MAX_JSON_DEPTH = 64
"""No request body needs more than a few levels (media_items, audio_option, metadata)."""
MAX_TEXT_PART = 1024 * 1024
"""A text form part is held in memory: at most this many bytes each ..."""
MAX_TEXT_TOTAL = 2 * 1024 * 1024
"""... and this many in all (the longest field the schema accepts is far shorter)."""


@dataclass
class ParsedBody:
    fields: dict[str, Any] = field(default_factory=dict)
    uploads: list[Upload] = field(default_factory=list)


def _too_large(cap: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"request body is larger than {cap / (1024 * 1024):g} MB")


async def _capped_stream(request: Request, cap: int) -> AsyncGenerator[bytes, None]:
    """The body as it arrives, refused once it passes ``cap`` bytes (a chunked body has no
    Content-Length, so the count is kept while streaming)."""
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise _too_large(cap)
        yield chunk


async def _read_capped(request: Request, cap: int) -> bytes:
    """The body, refused once it passes ``cap`` bytes (a chunked body has no Content-Length)."""
    return b"".join([chunk async for chunk in _capped_stream(request, cap)])


def _decode_json(body: bytes) -> dict[str, Any]:
    """The JSON body as a dict; run in a worker thread. Decoded within budgets
    (:mod:`kinora.api.jsonbody`): 200,000 field names are refused after the 101st, without
    building the rest or holding the GIL for long."""
    try:
        data = loads_bounded(body, depth=MAX_JSON_DEPTH, fields=MAX_FIELDS)
    except JsonBudgetError as exc:
        raise InputError(("body",), exc.message, exc.kind) from None
    except (ValueError, RecursionError):
        raise InputError(("body",), "the body is not valid JSON", "json_invalid") from None
    if not isinstance(data, dict):
        raise InputError(("body",), "the JSON body must be an object", "model_attributes_type")
    return data


class _CappedMultiPartParser(MultiPartParser):
    """Starlette's parser with the bytes of each file part, and of all text parts, counted as
    they stream in: past the limit the upload stops (413) before the part is written out."""

    def __init__(self, *args: Any, file_limit: int, text_limit: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._file_limit = file_limit
        self._text_limit = text_limit
        self._file_bytes = 0
        self._text_bytes = 0

    def on_part_begin(self) -> None:
        super().on_part_begin()
        self._file_bytes = 0

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._current_part.file is None:
            if len(self._current_part.data) + end - start > MAX_TEXT_PART:
                raise PayloadTooLargeError(f"a field is larger than {MAX_TEXT_PART // 1024} KB")
            self._text_bytes += end - start
            if self._text_bytes > self._text_limit:
                raise PayloadTooLargeError(
                    f"the text fields are larger than {self._text_limit // 1024} KB"
                )
        else:
            self._file_bytes += end - start
            if self._file_bytes > self._file_limit:
                raise PayloadTooLargeError(
                    f"file is larger than {self._file_limit / (1024 * 1024):g} MB"
                )
        super().on_part_data(data, start, end)


class _CappedFormParser(FormParser):
    """Starlette's url-encoded parser with the bytes of all fields counted as they arrive."""

    def __init__(self, *args: Any, text_limit: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._text_limit = text_limit
        self._text_bytes = 0

    def _count(self, start: int, end: int) -> None:
        if self._current_field_size + end - start > MAX_TEXT_PART:
            raise PayloadTooLargeError(f"a field is larger than {MAX_TEXT_PART // 1024} KB")
        self._text_bytes += end - start
        if self._text_bytes > self._text_limit:
            raise PayloadTooLargeError(f"the form is larger than {self._text_limit // 1024} KB")

    def on_field_name(self, data: bytes, start: int, end: int) -> None:
        self._count(start, end)
        super().on_field_name(data, start, end)

    def on_field_data(self, data: bytes, start: int, end: int) -> None:
        self._count(start, end)
        super().on_field_data(data, start, end)


async def _read_form(request: Request, ctype: str, *, limit: int, cap: int) -> FormData:
    stream = _capped_stream(request, cap)
    try:
        if ctype == "multipart/form-data":
            parser: MultiPartParser | FormParser = _CappedMultiPartParser(
                request.headers,
                stream,
                max_files=MAX_FILES,
                max_fields=MAX_FIELDS,
                max_part_size=MAX_TEXT_PART + 1,  # checked first, as a 413
                file_limit=limit,
                text_limit=MAX_TEXT_TOTAL,
            )
        else:
            parser = _CappedFormParser(
                request.headers,
                stream,
                max_fields=MAX_FIELDS,
                max_part_size=MAX_TEXT_PART + 1,  # checked first, as a 413
                text_limit=MAX_TEXT_TOTAL,
            )
        return await parser.parse()
    except PayloadTooLargeError:
        raise
    except MultiPartException as exc:
        raise InputError(("body",), f"the form could not be read: {exc.message}") from None
    except Exception as exc:
        raise InputError(("body",), f"the form could not be read: {exc}") from None
    finally:
        await stream.aclose()


async def parse_body(request: Request) -> ParsedBody:
    """One body shape from JSON, url-encoded or multipart requests (as ``requests`` sends them)."""
    runtime: Runtime = request.app.state.runtime
    limit = int(runtime.settings.max_upload_mb * 1024 * 1024)
    length = request.headers.get("content-length", "")
    cap = limit * 2 + 1024 * 1024
    if length.isdigit() and int(length) > cap:
        raise _too_large(cap)
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    parsed = ParsedBody()
    if ctype == "application/json":
        body = await _read_capped(request, cap)
        if not body.strip():
            return parsed
        parsed.fields = await run_in_threadpool(_decode_json, body)
        return parsed
    if ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form = await _read_form(request, ctype, limit=limit, cap=cap)
        try:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    if key != "image_files":
                        raise InputError(("body", key), "files are accepted only as image_files")
                    data = await value.read(limit + 1)
                    if len(data) > limit:
                        raise PayloadTooLargeError(
                            f"file is larger than {runtime.settings.max_upload_mb} MB"
                        )
                    parsed.uploads.append(
                        Upload(value.filename or "", value.content_type or "", data)
                    )
                elif key == "image_files":
                    if value.strip():
                        raise InputError(
                            ("body", "image_files"), "image_files must be file uploads"
                        )
                elif key in LIST_FIELDS:
                    parsed.fields.setdefault(key, []).append(value)
                else:
                    parsed.fields[key] = value
        finally:
            await form.close()
        return parsed
    body = await _read_capped(request, cap)
    if body.strip():
        raise InputError(
            ("body",),
            "send multipart/form-data, application/x-www-form-urlencoded or application/json",
            "content_type",
        )
    return parsed


BodyDep = Annotated[ParsedBody, Depends(parse_body)]
