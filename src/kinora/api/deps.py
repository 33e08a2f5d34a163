"""Typed dependencies: the runtime, the calling customer, the parsed request body."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy import select
from starlette.datastructures import UploadFile

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


@dataclass
class ParsedBody:
    fields: dict[str, Any] = field(default_factory=dict)
    uploads: list[Upload] = field(default_factory=list)


async def _read_capped(request: Request, cap: int) -> bytes:
    """The body, refused once it passes ``cap`` bytes (a chunked body has no Content-Length)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise PayloadTooLargeError(f"request body is larger than {cap // (1024 * 1024)} MB")
        chunks.append(chunk)
    return b"".join(chunks)


async def parse_body(request: Request) -> ParsedBody:
    """One body shape from JSON, url-encoded or multipart requests (as ``requests`` sends them)."""
    runtime: Runtime = request.app.state.runtime
    limit = int(runtime.settings.max_upload_mb * 1024 * 1024)
    length = request.headers.get("content-length", "")
    cap = limit * 2 + 1024 * 1024
    if length.isdigit() and int(length) > cap:
        raise PayloadTooLargeError(
            f"request body is larger than {2 * runtime.settings.max_upload_mb} MB"
        )
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    parsed = ParsedBody()
    if ctype == "application/json":
        body = await _read_capped(request, cap)
        if not body.strip():
            return parsed
        try:
            import json

            data = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            raise InputError(("body",), "the body is not valid JSON", "json_invalid") from None
        if not isinstance(data, dict):
            raise InputError(("body",), "the JSON body must be an object", "model_attributes_type")
        parsed.fields = data
        return parsed
    if ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        try:
            form = await request.form(
                max_files=MAX_FILES, max_fields=MAX_FIELDS, max_part_size=limit
            )
        except Exception as exc:
            raise InputError(("body",), f"the form could not be read: {exc}") from None
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key != "image_files":
                    raise InputError(("body", key), "files are accepted only as image_files")
                data = await value.read(limit + 1)
                if len(data) > limit:
                    raise InputError(
                        ("body", "image_files", len(parsed.uploads)),
                        f"file is larger than {runtime.settings.max_upload_mb} MB",
                    )
                parsed.uploads.append(Upload(value.filename or "", value.content_type or "", data))
            elif key == "image_files":
                if value.strip():
                    raise InputError(("body", "image_files"), "image_files must be file uploads")
            elif key in LIST_FIELDS:
                parsed.fields.setdefault(key, []).append(value)
            else:
                parsed.fields[key] = value
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
