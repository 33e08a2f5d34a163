"""Batches (beyond the spec): many media from one request, charged all or nothing.

The items come as JSON (``{"items": [...]}``) or as a CSV (a ``multipart/form-data`` part
``file``, or a ``text/csv`` body) whose header names ``POST /media``'s fields and whose rows
are the items: each row becomes the dict a JSON item would be, then goes through the same
checks.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from kinora.api.deps import (
    MAX_JSON_DEPTH,
    MAX_TEXT_TOTAL,
    ParsedBody,
    RuntimeDep,
    _read_capped,
    _read_form,
    _too_large,
    parse_body,
)
from kinora.api.idempotency import request_hash, run_once
from kinora.api.jsonbody import JsonBudgetError, loads_bounded
from kinora.api.ratelimit import GenerationCustomer, LimitedCustomer
from kinora.api.routes.media import ERRORS, JSON_STRING_FIELDS, IdempotencyKey, validate_fields
from kinora.api.schemas import (
    BatchEnvelope,
    BatchPublic,
    CreditsRequired,
    MediaCreate,
    MessageResponse,
)
from kinora.db.models import Customer
from kinora.domain import batches as service
from kinora.domain.batchstatus import batch_public, get_batch
from kinora.domain.batchstatus import list_batches as listed_batches
from kinora.domain.media import OnCommit, Upload
from kinora.domain.requests import BatchCreate
from kinora.errors import InputError, PayloadTooLargeError
from kinora.runtime import Runtime

router = APIRouter(tags=["Batches"])

MAX_CSV_BYTES = 1024 * 1024
"""A CSV of items is at most this large (a 413 past it)."""
CSV_FORM_FIELDS = frozenset({"webhook_url", "metadata"})
"""The form fields a CSV upload may carry beside its ``file``."""
_NUMBERED_URL = re.compile(r"image_url_([1-9][0-9]{0,2})")
_URL_SPLIT = re.compile(r"[\s|]+")


def _csv_error(message: str, *loc: str | int) -> InputError:
    return InputError(("body", "file", *loc), message)


def _columns(header: list[str]) -> list[str]:
    """The header's field names, or a 422 naming the first unknown or repeated one."""
    names = [name.strip() for name in header]
    seen: set[str] = set()
    for name in names:
        if name not in MediaCreate.model_fields and not _NUMBERED_URL.fullmatch(name):
            raise InputError(
                ("body", "file", "columns", name[:100]),
                "not a create field (image URLs go in image_urls or image_url_1, image_url_2)",
                "extra_forbidden",
            )
        if name in seen:
            raise InputError(("body", "file", "columns", name[:100]), "column given twice")
        seen.add(name)
    return names


def _cell(index: int, name: str, value: str) -> Any:
    """A cell's value for ``name``: JSON for the JSON-valued fields, else the text."""
    if name not in JSON_STRING_FIELDS:
        return value
    try:
        return loads_bounded(value, depth=MAX_JSON_DEPTH)
    except JsonBudgetError as exc:
        raise InputError(("body", "items", index, name), exc.message, exc.kind) from None
    except (ValueError, RecursionError):
        raise InputError(
            ("body", "items", index, name), f"{name} must be JSON", "json_invalid"
        ) from None


def _item(index: int, names: list[str], row: list[str]) -> dict[str, Any]:
    if len(row) > len(names):
        raise InputError(("body", "items", index), "the row has more cells than the header")
    item: dict[str, Any] = {}
    numbered: list[tuple[int, str]] = []
    for name, value in zip(names, row, strict=False):
        if not value.strip():
            continue
        if name == "image_urls":
            item["image_urls"] = [url for url in _URL_SPLIT.split(value) if url]
        elif match := _NUMBERED_URL.fullmatch(name):
            numbered.append((int(match.group(1)), value.strip()))
        else:
            item[name] = _cell(index, name, value)
    if numbered:
        item["image_urls"] = [*item.get("image_urls", []), *(url for _, url in sorted(numbered))]
    return item


def _rows(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    """The rows that hold anything (blank lines are skipped)."""
    for row in reader:
        if any(cell.strip() for cell in row):
            yield row


def csv_items(data: bytes) -> list[dict[str, Any]]:
    """The items a CSV describes (header row: field names; one item per row); run in a
    worker thread. Stops reading past :data:`~kinora.domain.batches.MAX_ITEMS` rows."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _csv_error("the CSV must be UTF-8 text") from None
    try:
        rows = _rows(csv.reader(io.StringIO(text, newline="")))
        header = next(rows, None)
        if header is None:
            raise _csv_error(f"give a header row and 1 to {service.MAX_ITEMS} rows")
        names = _columns(header)
        items: list[dict[str, Any]] = []
        for row in rows:
            if len(items) == service.MAX_ITEMS:
                raise _csv_error(f"give 1 to {service.MAX_ITEMS} rows")
            items.append(_item(len(items), names, row))
    except csv.Error as exc:
        raise _csv_error(f"the CSV could not be read: {exc}") from None
    if not items:
        raise _csv_error(f"give 1 to {service.MAX_ITEMS} rows")
    return items


async def _csv_body(data: bytes, fields: dict[str, Any]) -> ParsedBody:
    for name in fields:
        if name not in CSV_FORM_FIELDS:
            raise InputError(
                ("body", name[:100]), "Extra inputs are not permitted", "extra_forbidden"
            )
    items = await run_in_threadpool(csv_items, data)
    return ParsedBody(fields={**fields, "items": items})


async def batch_body(request: Request) -> ParsedBody:
    """The batch request as ``POST /media/batch`` validates it: a JSON body as it is, a CSV
    (multipart part ``file`` or a ``text/csv`` body) as its rows under ``items``."""
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    length = request.headers.get("content-length", "")
    if ctype == "text/csv":
        if length.isdigit() and int(length) > MAX_CSV_BYTES:
            raise _too_large(MAX_CSV_BYTES)
        return await _csv_body(await _read_capped(request, MAX_CSV_BYTES), {})
    if ctype != "multipart/form-data":
        return await parse_body(request)
    cap = MAX_CSV_BYTES + MAX_TEXT_TOTAL
    if length.isdigit() and int(length) > cap:
        raise _too_large(cap)
    form = await _read_form(request, ctype, limit=MAX_CSV_BYTES, cap=cap)
    parsed = ParsedBody()
    data: bytes | None = None
    try:
        for key, value in form.multi_items():
            if key == "file":
                if data is not None:
                    raise InputError(("body", "file"), "give one CSV file")
                if isinstance(value, UploadFile):
                    data = await value.read(MAX_CSV_BYTES + 1)
                    if len(data) > MAX_CSV_BYTES:
                        raise PayloadTooLargeError("file is larger than 1 MB")
                else:
                    data = value.encode()
            elif isinstance(value, UploadFile):
                if key == "image_files":
                    parsed.uploads.append(
                        Upload(value.filename or "", value.content_type or "", b"")
                    )
                else:
                    raise InputError(("body", key), "the only file a batch takes is file (a CSV)")
            else:
                parsed.fields[key] = value
    finally:
        await form.close()
    if data is None or parsed.uploads:
        return parsed
    return await _csv_body(data, parsed.fields)


BatchBodyDep = Annotated[ParsedBody, Depends(batch_body)]


def _body_schema() -> dict[str, Any]:
    """JSON (BatchCreate, each item a MediaCreate) or a CSV, as a form part or the body."""
    batch = BatchCreate.model_json_schema()
    batch["properties"]["items"]["items"] = {"$ref": "#/components/schemas/MediaCreate"}
    csv_text = {
        "type": "string",
        "description": "UTF-8 CSV: a header row of MediaCreate field names, then 1 to 100 rows.",
    }
    form = {
        "type": "object",
        "required": ["file"],
        "properties": {
            "file": {**csv_text, "format": "binary"},
            "webhook_url": {"type": "string"},
            "metadata": {"type": "string", "description": "A JSON object."},
        },
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": batch},
                "multipart/form-data": {"schema": form},
                "text/csv": {"schema": csv_text},
            },
        }
    }


_BODY_SCHEMA = _body_schema()


def _items(body: BatchCreate) -> list[MediaCreate]:
    """Each item as ``POST /media`` validates it, its errors located in ``items``."""
    out: list[MediaCreate] = []
    for i, item in enumerate(body.items):
        try:
            out.append(validate_fields(MediaCreate, item))
        except RequestValidationError as exc:
            errors = [
                {**err, "loc": ("body", "items", i, *tuple(err["loc"])[1:])} for err in exc.errors()
            ]
            raise RequestValidationError(errors) from None
    return out


@router.post(
    "/media/batch",
    summary="Create a batch of media",
    response_model=BatchEnvelope | dict[Literal["data"], CreditsRequired],
    responses=ERRORS,
    openapi_extra=_BODY_SCHEMA,
)
def create_batch(
    request: Request,
    runtime: RuntimeDep,
    customer: GenerationCustomer,
    body: BatchBodyDep,
    idempotency_key: IdempotencyKey = None,
    dry_run: Annotated[bool, Query(description="Validate and price; create nothing.")] = False,
) -> dict[str, Any]:
    if body.uploads:
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "image_files"),
                    "msg": "a batch takes image URLs (image_urls, media_items), not uploads",
                    "type": "value_error",
                }
            ]
        )
    fields = validate_fields(BatchCreate, body.fields)
    items = _items(fields)

    def create(on_commit: OnCommit | None) -> dict[str, Any]:
        created = service.create_batch(
            runtime,
            customer=customer,
            items=items,
            webhook_url=fields.webhook_url,
            metadata=fields.metadata,
            dry_run=dry_run,
            on_commit=on_commit,
        )
        if created.batch is None:
            return {"data": {"credits_required": created.credits_required}}
        with runtime.db.sessions() as s:
            return {"data": batch_public(s, created.batch)}

    if dry_run:
        return create(None)
    return run_once(
        runtime,
        customer_id=customer.id,
        key=idempotency_key,
        fingerprint=request_hash("POST", request.url.path, body),
        action=create,
        replay_media=_replayer(runtime, customer),
    )


def _replayer(runtime: Runtime, customer: Customer) -> Callable[[str], dict[str, Any]]:
    """The batch an idempotent attempt committed, as the answer to its retries."""

    def replay(batch_id: str) -> dict[str, Any]:
        with runtime.db.sessions() as s:
            return {"data": batch_public(s, get_batch(s, batch_id=batch_id, customer=customer))}

    return replay


@router.get(
    "/batches/{batch_id}",
    summary="Get a batch",
    response_model=BatchEnvelope,
    responses={
        401: ERRORS[401],
        404: {"model": MessageResponse, "description": "Batch Not Found"},
        429: ERRORS[429],
    },
)
def get(batch_id: str, runtime: RuntimeDep, customer: LimitedCustomer) -> dict[str, Any]:
    with runtime.db.sessions() as s:
        return {"data": batch_public(s, get_batch(s, batch_id=batch_id, customer=customer))}


class BatchList(BaseModel):
    data: list[BatchPublic]
    next_cursor: str | None = None
    """Pass as ``cursor`` for the next page; null on the last."""


@router.get("/batches", summary="List your batches", response_model=BatchList, responses=ERRORS)
def list_batches(
    runtime: RuntimeDep,
    customer: LimitedCustomer,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """Newest first, with each batch's status and items as ``GET /batches/{id}`` shows them."""
    with runtime.db.sessions() as s:
        rows, next_cursor = listed_batches(s, customer=customer, limit=limit, before=cursor)
        return {"data": [batch_public(s, b) for b in rows], "next_cursor": next_cursor}


@router.post(
    "/batches/{batch_id}/cancel",
    summary="Cancel a batch",
    response_model=BatchEnvelope,
    responses={
        401: ERRORS[401],
        404: {"model": MessageResponse, "description": "Batch Not Found"},
        429: ERRORS[429],
    },
)
def cancel(batch_id: str, runtime: RuntimeDep, customer: LimitedCustomer) -> dict[str, Any]:
    """Cancels every media of the batch still queued (full refund) or rendering (finished
    variants kept, the rest refunded); media that already ended stay; the batch's webhook
    fires once the last of them ends."""
    batch = service.cancel_batch(runtime, customer=customer, batch_id=batch_id)
    with runtime.db.sessions() as s:
        return {"data": batch_public(s, get_batch(s, batch_id=batch.id, customer=customer))}
