"""Media use cases as keyword-only functions: create, update, process, read, download.

Each writes the Media row and the credit debit in one transaction, and enqueues only after the
commit, so a job the queue carries always has its row, and a 402 or 4xx leaves nothing behind.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from kinora.db.models import ACTIVE_STATUSES, Customer, Media, MediaStatus, utcnow
from kinora.errors import BadRequestError, InputError, MediaNotFoundError, NotFoundError
from kinora.inputs.decode import decode_image, decode_video
from kinora.inputs.fetch import check_webhook_url, fetch
from kinora.jobs.tasks import enqueue_render, render_priority
from kinora.media import credits
from kinora.media.schemas import MediaCreate, MediaItem, MediaUpdate
from kinora.render.pipeline import new_seeds

if TYPE_CHECKING:
    from kinora.runtime import Runtime

log = logging.getLogger(__name__)

MB = 1024 * 1024


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class PreparedInput:
    """A validated input, held in memory until the request is accepted."""

    kind: str
    position: str
    name: str
    data: bytes
    extension: str


# --------------------------------------------------------------------------- inputs


def _prepare_image(
    runtime: Runtime, data: bytes, *, name: str, position: str, field: Any
) -> PreparedInput:
    image = decode_image(data, field=field, max_pixels=runtime.settings.max_image_pixels)
    return PreparedInput("image", position, name, data, image.extension)


def _fetch(runtime: Runtime, url: str, field: Any) -> bytes:
    settings = runtime.settings
    return fetch(
        url,
        field=field,
        max_bytes=int(settings.max_upload_mb * MB),
        timeout=settings.fetch_timeout_seconds,
        allow_private=settings.allow_private_urls,
    ).content


def _name_from_url(url: str, fallback: str) -> str:
    tail = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return tail[:100] or fallback


def prepare_inputs(
    runtime: Runtime,
    *,
    uploads: Sequence[Upload],
    image_urls: Sequence[str],
    media_items: Sequence[MediaItem] | None,
) -> list[PreparedInput]:
    """media_items wins over image_files, which win over image_urls (as the spec says)."""
    limit = int(runtime.settings.max_upload_mb * MB)
    if media_items:
        prepared = []
        for i, item in enumerate(media_items):
            field: tuple[str | int, ...] = ("body", "media_items", i, "url")
            data = _fetch(runtime, item.url, field)
            name = _name_from_url(item.url, f"item_{i}")
            if item.type == "video":
                decode_video(data, field=field, max_pixels=runtime.settings.max_image_pixels)
                ext = name.rsplit(".", 1)[-1].lower() if "." in name else "mp4"
                prepared.append(PreparedInput("video", item.position, name, data, ext[:5]))
            else:
                prepared.append(
                    _prepare_image(runtime, data, name=name, position=item.position, field=field)
                )
        return sorted(prepared, key=lambda p: p.position != "First")
    if len(uploads) > 2:
        raise InputError(("body", "image_files"), "at most two images (start and end frame)")
    if uploads:
        out = []
        for i, upload in enumerate(uploads):
            field = ("body", "image_files", i)
            if len(upload.data) > limit:
                raise InputError(field, f"file is larger than {runtime.settings.max_upload_mb} MB")
            position = "First" if i == 0 else "Last"
            out.append(
                _prepare_image(
                    runtime,
                    upload.data,
                    name=upload.filename or f"image_{i}",
                    position=position,
                    field=field,
                )
            )
        return out
    out = []
    for i, url in enumerate(image_urls):
        field = ("body", "image_urls", i)
        data = _fetch(runtime, url, field)
        position = "First" if i == 0 else "Last"
        out.append(
            _prepare_image(
                runtime,
                data,
                name=_name_from_url(url, f"image_{i}"),
                position=position,
                field=field,
            )
        )
    return out


def prepare_audio(runtime: Runtime, audio: dict[str, Any]) -> list[PreparedInput]:
    """Download narration_url / bg_music_url once, at request time, and check they decode."""
    from kinora.audio.decode import decode_audio
    from kinora.errors import RenderError

    out = []
    for role, name in (("narration", "narration_url"), ("music", "bg_music_url")):
        url = audio.get(name)
        if not url:
            continue
        field: tuple[str | int, ...] = ("body", "audio_option", name)
        data = _fetch(runtime, url, field)
        try:
            decode_audio(data, what=name)
        except RenderError as exc:
            raise InputError(field, exc.message) from None
        filename = _name_from_url(url, role)
        ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "audio"
        out.append(PreparedInput("audio", role, filename, data, ext[:5]))
    return out


def _stored_as_prepared(runtime: Runtime, item: dict[str, Any]) -> PreparedInput:
    ext = item["key"].rsplit(".", 1)[-1]
    data = runtime.storage.get_bytes(item["key"])
    return PreparedInput(item["kind"], item["position"], item["name"], data, ext)


def _store_inputs(
    runtime: Runtime,
    *,
    customer_id: str,
    media_id: str,
    generation: int,
    prepared: Sequence[PreparedInput],
) -> list[dict[str, Any]]:
    stored: list[dict[str, Any]] = []
    try:
        for i, item in enumerate(prepared):
            unique = uuid.uuid4().hex[:8]  # two concurrent edits never share a file
            key = f"{customer_id}/{media_id}/source/g{generation}_{unique}_{i}.{item.extension}"
            runtime.storage.put_bytes(key, item.data)
            stored.append(
                {"kind": item.kind, "position": item.position, "name": item.name, "key": key}
            )
    except Exception:
        # All or nothing: files of a create or edit that failed would never be referenced.
        for done in stored:
            with contextlib.suppress(Exception):
                runtime.storage.delete(done["key"])
        raise
    return stored


# --------------------------------------------------------------------------- params


def _generation_params(
    request: MediaCreate | MediaUpdate, base: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The stored, normalised parameters of a generation (top-level audio folded in)."""
    params: dict[str, Any] = dict(base or {})
    fields = request.model_fields_set if base is not None else set(type(request).model_fields)
    for name in (
        "prompt",
        "negative_prompt",
        "motion_type",
        "camera_control",
        "quantity",
        "duration",
        "loop",
        "motion_range",
        "aspect_ratio",
        "native_audio",
        "model",
    ):
        if name in fields and (base is None or getattr(request, name) is not None):
            value = getattr(request, name)
            params[name] = value.value if hasattr(value, "value") else value
    if base is None:
        params["character_animate"] = getattr(request, "character_animate", False)
    if request.sound_effects is not None and "native_audio" not in request.model_fields_set:
        params["native_audio"] = request.sound_effects
    audio: dict[str, Any] = dict(params.get("audio_option") or {})
    if request.audio_option is not None:
        audio = request.audio_option.model_dump(exclude_none=True)
    for name in ("narration", "narrator", "bg_music_prompt"):
        value = getattr(request, name)
        if value is not None:
            if base is not None and request.audio_option is None:
                audio[name] = value  # an edit of a top-level audio field replaces it
            else:
                audio.setdefault(name, value)
    params["audio_option"] = audio
    quantity = int(params.get("quantity", 1))
    if request.seed is not None:
        params["seeds"] = [(request.seed + i) % (2**31 - 1) for i in range(quantity)]
    else:
        params["seeds"] = new_seeds(quantity)
    return params


def cost_of_params(params: dict[str, Any]) -> int:
    return credits.cost_of(quantity=int(params["quantity"]), duration=int(params["duration"]))


# --------------------------------------------------------------------------- use cases


OnCommit = Callable[[Session, str], None]
"""Called inside a create's or edit's transaction with the media id, before it commits (the
Idempotency-Key record is bound to the media there, so a crash can never separate them)."""


@dataclass(frozen=True)
class Created:
    media: Media | None
    credits_required: int


def create_media(
    runtime: Runtime,
    *,
    customer: Customer,
    request: MediaCreate,
    uploads: Sequence[Upload],
    dry_run: bool = False,
    on_commit: OnCommit | None = None,
) -> Created:
    if not uploads and not request.image_urls and not request.media_items and not request.prompt:
        raise InputError(("body", "prompt"), "give a prompt, or one or two images")
    if len(uploads) > 2:
        raise InputError(("body", "image_files"), "at most two images (start and end frame)")
    if request.webhook_url:
        check_webhook_url(request.webhook_url, allow_private=runtime.settings.allow_private_urls)
    params = _generation_params(request)
    cost = cost_of_params(params)
    if dry_run:
        # Validate inputs that need no download; URLs are checked for form only.
        for i, upload in enumerate(uploads):
            decode_image(
                upload.data,
                field=("body", "image_files", i),
                max_pixels=runtime.settings.max_image_pixels,
            )
        return Created(media=None, credits_required=cost)
    prepared = prepare_inputs(
        runtime, uploads=uploads, image_urls=request.image_urls, media_items=request.media_items
    )
    prepared += prepare_audio(runtime, params["audio_option"])
    media_id = str(uuid.uuid4())
    stored = _store_inputs(
        runtime, customer_id=customer.id, media_id=media_id, generation=1, prepared=prepared
    )
    try:
        with runtime.db.session() as s:
            credits.debit(s, customer_id=customer.id, amount=cost, media_id=media_id)
            now = utcnow()
            media = Media(
                id=media_id,
                customer_id=customer.id,
                title=request.title,
                description=request.description,
                visibility_status=request.visibility_status,
                webhook_url=request.webhook_url or "",
                extra=request.metadata or {},
                params=params,
                inputs=stored,
                status=MediaStatus.QUEUED,
                progress=0,
                bullet_version=1,
                cost=cost,
                enqueued_at=now,
                created_at=now,
                updated_at=now,
            )
            s.add(media)
            if on_commit is not None:
                s.flush()
                on_commit(s, media_id)
    except Exception:
        runtime.storage.delete_prefix(f"{customer.id}/{media_id}")
        raise
    _enqueue(runtime, media_id=media_id, generation=1, priority=render_priority(params))
    return Created(media=media, credits_required=cost)


def _enqueue(runtime: Runtime, *, media_id: str, generation: int, priority: int) -> None:
    """After the commit the row is the truth: a queue hiccup must not undo or repeat it.

    Should the enqueue fail, the reaper finds the row still queued and enqueues it again.
    """
    try:
        enqueue_render(runtime, media_id=media_id, generation=generation, priority=priority)
    except Exception:
        log.exception("enqueue of media %s failed; the reaper will queue it", media_id)


def _visible(media: Media, customer: Customer) -> bool:
    return media.customer_id == customer.id or media.visibility_status in ("1", "2")


def get_media(session: Session, *, media_id: str, customer: Customer) -> Media:
    media = session.get(Media, media_id)
    if media is None or not _visible(media, customer):
        raise MediaNotFoundError()
    return media


def get_owned_media(
    session: Session, *, media_id: str, customer: Customer, lock: bool = True
) -> Media:
    """The caller's media, row-locked (FOR UPDATE) so concurrent changes serialise."""
    media = session.get(Media, media_id, with_for_update=lock)
    if media is None or media.customer_id != customer.id:
        raise NotFoundError()
    return media


def _running(media: Media) -> bool:
    return media.status in ACTIVE_STATUSES


def _start_generation(
    runtime: Runtime,
    s: Session,
    media: Media,
    params: dict[str, Any],
    inputs: list[dict[str, Any]] | None = None,
) -> None:
    cost = cost_of_params(params)
    credits.debit(s, customer_id=media.customer_id, amount=cost, media_id=media.id)
    media.params = params
    if inputs is not None:
        media.inputs = inputs
    media.bullet_version += 1
    media.cancel_requested = False
    media.status = MediaStatus.QUEUED
    media.progress = 0
    media.stage = ""
    media.error = ""
    media.attempts = 0
    media.worker_id = ""
    media.heartbeat_at = None
    media.cost = cost
    media.enqueued_at = utcnow()


def update_media(
    runtime: Runtime,
    *,
    customer: Customer,
    media_id: str,
    request: MediaUpdate,
    on_commit: OnCommit | None = None,
) -> Media:
    if request.webhook_url:
        check_webhook_url(request.webhook_url, allow_private=runtime.settings.allow_private_urls)
    with runtime.db.session() as s:
        media = get_owned_media(s, media_id=media_id, customer=customer)
        if request.regenerates and _running(media):
            raise BadRequestError("a generation is already running")
        customer_id = media.customer_id
        next_generation = media.bullet_version + 1
    prepared = None
    if request.media_items:
        prepared = prepare_inputs(
            runtime, uploads=[], image_urls=[], media_items=request.media_items
        )
    if request.audio_option is not None:
        audio_inputs = prepare_audio(runtime, request.audio_option.model_dump(exclude_none=True))
        if prepared is None:
            with runtime.db.sessions() as s:
                current = get_owned_media(s, media_id=media_id, customer=customer, lock=False)
                kept = [i for i in current.inputs if i["kind"] != "audio"]
            prepared = [_stored_as_prepared(runtime, item) for item in kept]
        else:
            prepared = [p for p in prepared if p.kind != "audio"]
        prepared += audio_inputs
    elif prepared is not None:
        # New visuals, same sound: keep the stored narration and music files.
        with runtime.db.sessions() as s:
            current = get_owned_media(s, media_id=media_id, customer=customer, lock=False)
            audio_kept = [i for i in current.inputs if i["kind"] == "audio"]
        prepared += [_stored_as_prepared(runtime, item) for item in audio_kept]
    stored = (
        _store_inputs(
            runtime,
            customer_id=customer_id,
            media_id=media_id,
            generation=next_generation,
            prepared=prepared,
        )
        if prepared is not None
        else None
    )
    with runtime.db.session() as s:
        media = get_owned_media(s, media_id=media_id, customer=customer)
        for name in ("title", "description", "rating", "visibility_status", "webhook_url"):
            value = getattr(request, name)
            if value is not None:
                setattr(media, name, value)
        if request.metadata is not None:
            media.extra = request.metadata
        regenerate = request.regenerates
        if regenerate:
            if _running(media) or media.bullet_version + 1 != next_generation:
                raise BadRequestError("a generation is already running")
            params = _generation_params(request, base=media.params)
            if stored is None and not media.inputs and not params.get("prompt"):
                raise InputError(("body", "prompt"), "give a prompt, or one or two images")
            _start_generation(runtime, s, media, params, stored)
        media.updated_at = utcnow()
        generation = media.bullet_version
        priority = render_priority(media.params)
        if on_commit is not None:
            on_commit(s, media_id)
    if regenerate:
        _enqueue(runtime, media_id=media_id, generation=generation, priority=priority)
    return media


def process_media(
    runtime: Runtime, *, customer: Customer, media_id: str, on_commit: OnCommit | None = None
) -> Media:
    with runtime.db.session() as s:
        media = get_owned_media(s, media_id=media_id, customer=customer)
        if _running(media):
            raise BadRequestError("a generation is already running")
        params = dict(media.params)
        params["seeds"] = new_seeds(int(params.get("quantity", 1)))
        _start_generation(runtime, s, media, params)
        generation = media.bullet_version
        if on_commit is not None:
            on_commit(s, media_id)
    _enqueue(runtime, media_id=media_id, generation=generation, priority=render_priority(params))
    return media


def notify(runtime: Runtime, *, media_id: str) -> None:
    """Queue the completion webhook, if the media has one."""
    from kinora.webhooks import notify as notify_webhook

    notify_webhook(runtime, media_id=media_id)


def cancel_media(runtime: Runtime, *, customer: Customer, media_id: str) -> Media:
    """A queued job never starts (full refund); a running one stops at its next frame."""
    with runtime.db.session() as s:
        media = get_owned_media(s, media_id=media_id, customer=customer)
        if media.status == MediaStatus.QUEUED:
            media.status = MediaStatus.CANCEL
            media.stage = ""
            credits.credit(
                s,
                customer_id=media.customer_id,
                amount=media.cost,
                media_id=media.id,
                reason="refund",
            )
            media.cost = 0
        elif media.status == MediaStatus.PROCESSING:
            media.cancel_requested = True
        else:
            raise BadRequestError("nothing is running")
        media.updated_at = utcnow()
    if media.status == MediaStatus.CANCEL:
        notify(runtime, media_id=media_id)
    return media


def delete_media(runtime: Runtime, *, customer: Customer, media_id: str) -> None:
    """Remove the record and every file; refunds nothing (a running render stops)."""
    with runtime.db.session() as s:
        media = get_owned_media(s, media_id=media_id, customer=customer)
        s.delete(media)
    runtime.storage.delete_prefix(f"{customer.id}/{media_id}")


@dataclass(frozen=True)
class MediaPage:
    items: list[Media]
    next_cursor: str | None


def _encode_cursor(media: Media) -> str:
    raw = json.dumps([media.created_at.isoformat(), media.id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, media_id = json.loads(raw)
        return dt.datetime.fromisoformat(created), str(media_id)
    except (ValueError, TypeError, binascii.Error):
        raise InputError(("query", "cursor"), "not a cursor this API gave out") from None


def list_media(
    runtime: Runtime,
    *,
    customer: Customer,
    status: str | None = None,
    visibility_status: str | None = None,
    created_after: dt.datetime | None = None,
    created_before: dt.datetime | None = None,
    q: str | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> MediaPage:
    """The caller's media, newest first, in pages that never repeat or skip an item."""
    norm = _naive_utc if runtime.db.is_sqlite else _aware_utc
    query = select(Media).where(Media.customer_id == customer.id)
    if status:
        query = query.where(Media.status == status)
    if visibility_status:
        query = query.where(Media.visibility_status == visibility_status)
    if created_after:
        query = query.where(Media.created_at > norm(created_after))
    if created_before:
        query = query.where(Media.created_at < norm(created_before))
    if q:
        query = query.where(Media.title.ilike(f"%{q}%"))
    if cursor:
        created, media_id = _decode_cursor(cursor)
        created = norm(created)
        query = query.where(
            or_(Media.created_at < created, and_(Media.created_at == created, Media.id < media_id))
        )
    query = query.order_by(Media.created_at.desc(), Media.id.desc()).limit(limit + 1)
    with runtime.db.sessions() as s:
        rows = list(s.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return MediaPage(items=rows, next_cursor=_encode_cursor(rows[-1]) if more and rows else None)


def _naive_utc(value: dt.datetime) -> dt.datetime:
    """SQLite compares stored datetimes as naive UTC text; normalise to that form."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _aware_utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
