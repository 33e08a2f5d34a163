"""The spec's media endpoints."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from kinora.api.deps import MAX_JSON_DEPTH, BodyDep, RuntimeDep
from kinora.api.downloads import (
    CONTENT_TYPES,
    Download,
    RenditionPending,
    resolve_download,
    wait_for_rendition,
)
from kinora.api.idempotency import request_hash, run_once
from kinora.api.jsonbody import JsonBudgetError, loads_bounded
from kinora.api.ratelimit import GenerationCustomer, LimitedCustomer
from kinora.api.schemas import (
    CreditsRequired,
    MediaCreate,
    MediaEnvelope,
    MediaExtend,
    MediaList,
    MediaUpdate,
    MessageResponse,
    ProcessingStatusEnvelope,
)
from kinora.api.statuscache import StatusCache
from kinora.db.models import ACTIVE_STATUSES, Customer, Media, MediaStatus, utcnow
from kinora.domain import media as service
from kinora.domain.media import OnCommit
from kinora.domain.views import media_public
from kinora.errors import InputError, MediaNotFoundError, NotFoundError
from kinora.runtime import Runtime

router = APIRouter(tags=["Media"])
Model = TypeVar("Model", bound=BaseModel)

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": MessageResponse, "description": "Bad Request"},
    401: {"model": MessageResponse, "description": "Missing or unknown API key"},
    402: {"model": MessageResponse, "description": "Insufficient Credit"},
    404: {"model": MessageResponse, "description": "Not Found"},
    409: {"model": MessageResponse, "description": "Same Idempotency-Key still in progress"},
    413: {"model": MessageResponse, "description": "Request body too large"},
    429: {"model": MessageResponse, "description": "Rate limited (see Retry-After)"},
    503: {"model": MessageResponse, "description": "Storage unavailable (see Retry-After)"},
}
FILE_CONTENT: dict[str, Any] = {
    ctype: {} for ctype in sorted({*CONTENT_TYPES.values(), "application/octet-stream"})
}
"""What a download may be: a rendered video, GIF or thumbnail, or an uploaded source file."""
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key", description="Retries with the same key replay the first answer."
    ),
]


def _body_schema(name: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{name}"}
    return {
        "requestBody": {
            "content": {
                "multipart/form-data": {"schema": ref},
                "application/x-www-form-urlencoded": {"schema": ref},
                "application/json": {"schema": ref},
            }
        }
    }


MAX_ERRORS = 20
"""Validation errors listed in a 422 at most (the rest are counted): an answer is never
larger than the attack that caused it."""


def validate_fields(model: type[Model], fields: dict[str, Any]) -> Model:
    """``fields`` as ``model``, or a 422. Routes are sync, so this runs in a worker thread.

    Unknown names are refused before pydantic sees them (it would build one error per name),
    and at most :data:`MAX_ERRORS` errors are listed, with a count of the rest.
    """
    from fastapi.exceptions import RequestValidationError

    known = model.model_fields
    unknown = [name for name in fields if name not in known]
    if unknown:
        errors: list[dict[str, Any]] = [
            {
                "loc": ("body", str(name)[:100]),
                "msg": "Extra inputs are not permitted",
                "type": "extra_forbidden",
            }
            for name in unknown[:MAX_ERRORS]
        ]
        if len(unknown) > MAX_ERRORS:
            errors.append(_more_errors(len(unknown) - MAX_ERRORS, "unknown fields"))
        raise RequestValidationError(errors)
    for name in JSON_STRING_FIELDS:
        value = fields.get(name)
        problem = _json_budget(value) if isinstance(value, str | bytes) else None
        if problem is not None:
            raise RequestValidationError(
                [{"loc": ("body", name), "msg": problem.message, "type": problem.kind}]
            )
    try:
        return model.model_validate(fields)
    except RecursionError:  # absurd nesting inside a JSON string field
        raise RequestValidationError(
            [{"loc": ("body",), "msg": "the body nests too deeply", "type": "value_error"}]
        ) from None
    except ValidationError as exc:
        found = exc.errors(include_url=False, include_context=False)
        errors = [{**err, "loc": ("body", *err["loc"])} for err in found[:MAX_ERRORS]]
        if len(found) > MAX_ERRORS:
            errors.append(_more_errors(len(found) - MAX_ERRORS, "errors"))
        raise RequestValidationError(errors) from None


JSON_STRING_FIELDS = ("media_items", "audio_option", "metadata")
"""Fields a form sends as JSON strings (a JSON body's nesting is checked as it is parsed)."""


def _json_budget(value: str | bytes) -> JsonBudgetError | None:
    """Why a form's JSON string is larger or deeper than any request needs (it would take
    long to validate, or validate and then fail to serialise), or None; what does not decode
    is left to the schema's own error."""
    try:
        loads_bounded(value, depth=MAX_JSON_DEPTH)
    except JsonBudgetError as exc:
        return exc
    except (ValueError, RecursionError):
        return None
    return None


def _more_errors(count: int, what: str) -> dict[str, Any]:
    return {
        "loc": ("body",),
        "msg": f"{count} more {what} not listed (the first {MAX_ERRORS} are)",
        "type": "too_many_errors",
        "input": count,
    }


def _public(media: Media, runtime: Runtime, *, owner: bool = True) -> dict[str, Any]:
    """The media object as JSON data (responses are also stored for Idempotency-Key replay)."""
    return media_public(media, runtime, owner=owner).model_dump(mode="json")


@router.post(
    "/media",
    summary="Create Media",
    response_model=MediaEnvelope | dict[Literal["data"], CreditsRequired],
    responses=ERRORS,
    openapi_extra=_body_schema("MediaCreate"),
)
def create_media(
    request: Request,
    runtime: RuntimeDep,
    customer: GenerationCustomer,
    body: BodyDep,
    idempotency_key: IdempotencyKey = None,
    dry_run: Annotated[bool, Query(description="Validate and price; create nothing.")] = False,
) -> dict[str, Any]:
    fields = validate_fields(MediaCreate, body.fields)

    def create(on_commit: OnCommit | None) -> dict[str, Any]:
        created = service.create_media(
            runtime,
            customer=customer,
            request=fields,
            uploads=body.uploads,
            dry_run=dry_run,
            on_commit=on_commit,
        )
        if created.media is None:
            return {"data": {"credits_required": created.credits_required}}
        return {"data": _public(created.media, runtime)}

    if dry_run:
        return create(None)
    fingerprint = request_hash("POST", request.url.path, body)
    return run_once(
        runtime,
        customer_id=customer.id,
        key=idempotency_key,
        fingerprint=fingerprint,
        action=create,
        replay_media=_replayer(runtime, customer),
    )


def _replayer(runtime: Runtime, customer: Customer) -> Callable[[str], dict[str, Any]]:
    """The media an idempotent attempt committed, as the answer to its retries."""

    def replay(media_id: str) -> dict[str, Any]:
        with runtime.db.sessions() as s:
            media = service.get_owned_media(s, media_id=media_id, customer=customer, lock=False)
            return {"data": _public(media, runtime)}

    return replay


@router.get(
    "/media/{media_id}/processing-status",
    summary="Get Media Processing Status",
    response_model=ProcessingStatusEnvelope,
    responses={404: ERRORS[404]},
)
async def processing_status(request: Request, media_id: str, runtime: RuntimeDep) -> Response:
    """Open without a key, as in the spec: anyone holding the id may poll progress.

    What clients poll most, so it is kept cheap (bench/bench_load.py): a fresh answer is
    served again from :mod:`kinora.api.statuscache`; else the read runs on a worker thread,
    and the answer, built from plain values, is serialised here rather than validated
    against the response model again (which documents it)."""
    cache: StatusCache = request.app.state.status_cache
    body = cache.get(media_id)
    if body is None:
        data = await run_in_threadpool(_status, runtime, media_id)
        body = json.dumps({"data": data}, separators=(",", ":")).encode()
        cache.put(media_id, body)
    return Response(body, media_type="application/json")


def forget_status(request: Request, media_id: str) -> None:
    """What this process just changed must show at the next poll."""
    cache: StatusCache = request.app.state.status_cache
    cache.forget(media_id)


def _status(runtime: Runtime, media_id: str) -> dict[str, Any]:
    # Only the columns the answer needs: what clients poll most is not worth loading (and
    # decoding) the media's spec and history for (bench/bench_load.py).
    columns = (Media.status, Media.progress, Media.stage, Media.enqueued_at, Media.started_at)
    with runtime.db.sessions() as s:
        media = s.execute(select(*columns).where(Media.id == media_id)).one_or_none()
        if media is None:
            raise NotFoundError()
        position = eta = None
        if media.status == MediaStatus.QUEUED and media.enqueued_at is not None:
            ahead = s.scalar(
                select(func.count())
                .select_from(Media)
                .where(Media.status == MediaStatus.QUEUED, Media.enqueued_at < media.enqueued_at)
            )
            position = int(ahead or 0) + 1
        elif media.status == MediaStatus.PROCESSING and media.started_at is not None:
            started = media.started_at
            if started.tzinfo is None:
                started = started.replace(tzinfo=dt.UTC)
            elapsed = (utcnow() - started).total_seconds()
            done = max(1, media.progress - 5) / 95
            eta = max(0, round(elapsed / done - elapsed))
        return {
            "progress_percentage": str(media.progress),
            "processing_status": media.status,
            "stage": media.stage,
            "queue_position": position,
            "eta_seconds": eta,
        }


@router.get(
    "/media/{media_id}/events",
    summary="Live progress (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, 404: ERRORS[404]},
)
async def events(media_id: str, runtime: RuntimeDep) -> StreamingResponse:
    """Status, progress, stage and queue position as they change, until the media ends.

    Open like processing-status (an EventSource cannot send headers).
    """
    first = await run_in_threadpool(_status, runtime, media_id)

    async def stream() -> AsyncIterator[str]:
        last: dict[str, Any] | None = None
        state = first
        quiet = 0.0
        while True:
            if state != last:
                yield f"event: status\ndata: {json.dumps(state)}\n\n"
                last = state
                quiet = 0.0
            if state["processing_status"] not in ACTIVE_STATUSES:
                yield f"event: end\ndata: {json.dumps(state)}\n\n"
                return
            await asyncio.sleep(0.25)
            quiet += 0.25
            if quiet >= 15:
                yield ": keep-alive\n\n"
                quiet = 0.0
            try:
                state = await run_in_threadpool(_status, runtime, media_id)
            except NotFoundError:
                yield 'event: end\ndata: {"processing_status": "deleted"}\n\n'
                return

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/media/{media_id}",
    summary="Get Media",
    response_model=MediaEnvelope,
    responses={
        401: ERRORS[401],
        404: {"model": MessageResponse, "description": "Media Not Found"},
        429: ERRORS[429],
    },
)
def get_media(media_id: str, runtime: RuntimeDep, customer: LimitedCustomer) -> dict[str, Any]:
    with runtime.db.sessions() as s:
        media = service.get_media(s, media_id=media_id, customer=customer)
        owner = media.customer_id == customer.id
        return {"data": _public(media, runtime, owner=owner)}


def _update(
    media_id: str,
    request: Request,
    runtime: RuntimeDep,
    customer: LimitedCustomer,
    body: BodyDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    fields = validate_fields(MediaUpdate, body.fields)
    if body.uploads:
        raise InputError(("body", "image_files"), "send new inputs as media_items on edit")
    if fields.regenerates:
        limits = request.app.state.rate_limits
        limits.hit(limits.generation, f"gen:{customer.id}", None)

    def update(on_commit: OnCommit | None) -> dict[str, Any]:
        media = service.update_media(
            runtime, customer=customer, media_id=media_id, request=fields, on_commit=on_commit
        )
        forget_status(request, media_id)
        return {"data": _public(media, runtime)}

    fingerprint = request_hash("PUT", f"/media/{media_id}", body)
    return run_once(
        runtime,
        customer_id=customer.id,
        key=idempotency_key,
        fingerprint=fingerprint,
        action=update,
        replay_media=_replayer(runtime, customer),
    )


router.add_api_route(
    "/media/{media_id}",
    _update,
    methods=["PUT"],
    summary="Update Media",
    response_model=MediaEnvelope,
    responses=ERRORS,
    openapi_extra=_body_schema("MediaUpdate"),
    operation_id="update_media_put",
)
router.add_api_route(
    "/media/{media_id}/edit",
    _update,
    methods=["PUT"],
    summary="Update Media (edit)",
    response_model=MediaEnvelope,
    responses=ERRORS,
    openapi_extra=_body_schema("MediaUpdate"),
    operation_id="update_media_edit_put",
)


@router.get(
    "/media/{media_id}/download",
    summary="Download File",
    response_class=FileResponse,
    responses={
        200: {"content": FILE_CONTENT, "description": "The file"},
        307: {"description": "Redirect to a presigned storage URL (download_mode=redirect)"},
        400: ERRORS[400],
        401: ERRORS[401],
        404: ERRORS[404],
        429: ERRORS[429],
    },
)
async def download(
    media_id: str,
    runtime: RuntimeDep,
    customer: LimitedCustomer,
    object_type: Literal[
        "bullet_video_mp4",
        "bullet_video_gif",
        "thumbnail_jpg",
        "source",
        "bullet_video_webm",
        "frames_png_zip",
        "bullet_video_webm_alpha",
        "bullet_video_mov_alpha",
    ] = "bullet_video_mp4",
    motion_type: str | None = None,
    width: Annotated[int | None, Query(ge=16, le=3840)] = None,
    file_size: Annotated[float | None, Query(gt=0, le=1000)] = None,
    index: Annotated[int, Query(ge=0, le=3)] = 0,
    bullet_version: Annotated[
        str | None,
        Query(
            max_length=8,
            description="An earlier version's video (video_history's bullet_version); "
            "default: the current result",
        ),
    ] = None,
) -> FileResponse:
    def find() -> Download:
        with runtime.db.sessions() as s:
            try:
                media = service.get_media(s, media_id=media_id, customer=customer)
            except MediaNotFoundError:
                raise NotFoundError() from None
            if object_type == "source" and media.customer_id != customer.id:
                raise NotFoundError()  # the inputs are the owner's alone, even of public media
        return resolve_download(
            runtime,
            media,
            object_type=object_type,
            width=width,
            file_size=file_size,
            index=index,
            bullet_version=bullet_version,
        )

    # Async, so that waiting for a worker's rendition holds no thread (the work runs in one).
    try:
        found = await run_in_threadpool(find)
    except RenditionPending as pending:
        found = await wait_for_rendition(runtime, pending)
    if runtime.settings.download_mode == "redirect":
        url = await run_in_threadpool(runtime.storage.presigned_url, found.key, ttl_seconds=300)
        if url:
            return RedirectResponse(url, status_code=307)  # type: ignore[return-value]
    path = await run_in_threadpool(lambda: found.path)  # may fetch from remote storage
    return FileResponse(
        path,
        media_type=found.media_type,
        filename=found.filename,
        content_disposition_type="inline",
    )


@router.post(
    "/media/{media_id}/process",
    summary="Process Media",
    response_model=MediaEnvelope,
    responses=ERRORS,
)
def process(
    request: Request,
    media_id: str,
    runtime: RuntimeDep,
    customer: GenerationCustomer,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    def run(on_commit: OnCommit | None) -> dict[str, Any]:
        media = service.process_media(
            runtime, customer=customer, media_id=media_id, on_commit=on_commit
        )
        forget_status(request, media_id)
        return {"data": _public(media, runtime)}

    return run_once(
        runtime,
        customer_id=customer.id,
        key=idempotency_key,
        fingerprint=request_hash("POST", f"/media/{media_id}/process", None),
        action=run,
        replay_media=_replayer(runtime, customer),
    )


@router.post(
    "/media/{media_id}/extend",
    summary="Extend Media",
    response_model=MediaEnvelope,
    responses=ERRORS,
    openapi_extra=_body_schema("MediaExtend"),
)
def extend(
    request: Request,
    media_id: str,
    runtime: RuntimeDep,
    customer: GenerationCustomer,
    body: BodyDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """More seconds after a finished media's video, from its last frame (charged for the new
    seconds only); the result becomes the longer video, a video_history entry with
    generate_type EXTEND_VIDEO records it, and the version before stays downloadable
    (``download?bullet_version=``)."""
    fields = validate_fields(MediaExtend, body.fields)
    if body.uploads:
        raise InputError(("body", "image_files"), "an extension continues the media's own video")

    def run(on_commit: OnCommit | None) -> dict[str, Any]:
        media = service.extend_media(
            runtime, customer=customer, media_id=media_id, request=fields, on_commit=on_commit
        )
        forget_status(request, media_id)
        return {"data": _public(media, runtime)}

    return run_once(
        runtime,
        customer_id=customer.id,
        key=idempotency_key,
        fingerprint=request_hash("POST", f"/media/{media_id}/extend", body),
        action=run,
        replay_media=_replayer(runtime, customer),
    )


@router.post(
    "/media/{media_id}/cancel",
    summary="Cancel a generation",
    response_model=MediaEnvelope,
    responses=ERRORS,
)
def cancel(
    request: Request, media_id: str, runtime: RuntimeDep, customer: LimitedCustomer
) -> dict[str, Any]:
    """Queued: never starts, full refund. Running: stops within about a second; finished
    variants are kept and unfinished ones refunded."""
    media = service.cancel_media(runtime, customer=customer, media_id=media_id)
    forget_status(request, media_id)
    return {"data": _public(media, runtime)}


@router.get("/media", summary="List your media", response_model=MediaList, responses=ERRORS)
def list_media(
    runtime: RuntimeDep,
    customer: LimitedCustomer,
    status: Annotated[
        Literal["queue_bullet", "processing_bullet", "success", "fail", "cancel"] | None, Query()
    ] = None,
    visibility_status: Annotated[Literal["0", "1", "2"] | None, Query()] = None,
    created_after: dt.datetime | None = None,
    created_before: dt.datetime | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Title contains.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    page = service.list_media(
        runtime,
        customer=customer,
        status=status,
        visibility_status=visibility_status,
        created_after=created_after,
        created_before=created_before,
        q=q,
        limit=limit,
        cursor=cursor,
    )
    return {
        "data": [_public(m, runtime) for m in page.items],
        "next_cursor": page.next_cursor,
    }


@router.delete(
    "/media/{media_id}",
    summary="Delete a media and its files",
    status_code=204,
    response_class=Response,
    responses=ERRORS,
)
def delete_media(
    request: Request, media_id: str, runtime: RuntimeDep, customer: LimitedCustomer
) -> Response:
    service.delete_media(runtime, customer=customer, media_id=media_id)
    forget_status(request, media_id)
    return Response(status_code=204)
