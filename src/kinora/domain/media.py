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
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from kinora.audio.decode import decode_audio
from kinora.db.models import Customer, Media, MediaStatus, utcnow
from kinora.domain import credits, keyframes, lifecycle
from kinora.domain.lifecycle import render_priority
from kinora.domain.requests import MediaCreate, MediaExtend, MediaItem, MediaUpdateBase
from kinora.domain.webhooks import notify
from kinora.engines import registry
from kinora.engines.base import InputKind
from kinora.errors import (
    BadRequestError,
    InputError,
    MediaNotFoundError,
    NotFoundError,
    RenderError,
)
from kinora.inputs.decode import decode_driver, decode_image, decode_video, looks_like_video
from kinora.inputs.fetch import check_webhook_url, fetch
from kinora.spec import AudioSpec, Extension, GenerationSpec, InputRef
from kinora.vocab import AspectRatio, MotionType, TryOnModel

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
    at: float | None = None
    """A keyframe's time and hold (kinora.domain.keyframes); None for First/Last inputs."""
    hold: float = 0.0


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
    driving: bool = False,
    times: Sequence[keyframes.Keyframe] | None = None,
) -> list[PreparedInput]:
    """media_items wins over image_files, which win over image_urls (as the spec says).

    A video (a media_items ``video`` item, or a video sent in image_files, recognised by its
    content) is checked as a lead-in or lead-out, or with ``driving`` (character_animate) as
    the driving video its limits apply to. With ``times`` (keyframes, resolved against the
    duration), the items are keyframes in list order: the first First, the last Last, the
    others Key, each with its time."""
    limit = int(runtime.settings.max_upload_mb * MB)
    if media_items:
        prepared = []
        for i, item in enumerate(media_items):
            field: tuple[str | int, ...] = ("body", "media_items", i, "url")
            data = _fetch(runtime, item.url, field)
            name = _name_from_url(item.url, f"item_{i}")
            if times is not None:
                position = "First" if i == 0 else "Last" if i == len(media_items) - 1 else "Key"
                image = _prepare_image(runtime, data, name=name, position=position, field=field)
                prepared.append(replace(image, at=times[i].at, hold=times[i].hold))
            elif item.type == "video":
                prepared.append(_prepare_video(runtime, data, name, item.position, field, driving))
            else:
                prepared.append(
                    _prepare_image(runtime, data, name=name, position=item.position, field=field)
                )
        if times is not None:
            return prepared
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
            name = upload.filename or f"image_{i}"
            if looks_like_video(upload.data):
                out.append(_prepare_video(runtime, upload.data, name, position, field, driving))
                continue
            out.append(
                _prepare_image(runtime, upload.data, name=name, position=position, field=field)
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


def _prepare_video(
    runtime: Runtime,
    data: bytes,
    name: str,
    position: str,
    field: tuple[str | int, ...],
    driving: bool,
) -> PreparedInput:
    max_pixels = runtime.settings.max_image_pixels
    if driving:
        decode_driver(data, field=field, max_pixels=max_pixels)
    else:
        decode_video(data, field=field, max_pixels=max_pixels)
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else "mp4"
    return PreparedInput("video", position, name, data, ext[:5] if ext.isalnum() else "mp4")


def prepare_audio(runtime: Runtime, audio: AudioSpec) -> list[PreparedInput]:
    """Download narration_url / bg_music_url once, at request time, and check they decode."""
    out = []
    for role, name in (("narration", "narration_url"), ("music", "bg_music_url")):
        url = getattr(audio, name)
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


def _stored_as_prepared(runtime: Runtime, item: InputRef) -> PreparedInput:
    ext = item.key.rsplit(".", 1)[-1]
    data = runtime.storage.get_bytes(item.key)
    return PreparedInput(item.kind, item.position, item.name, data, ext, item.at, item.hold)


def _store_inputs(
    runtime: Runtime,
    *,
    customer_id: str,
    media_id: str,
    generation: int,
    prepared: Sequence[PreparedInput],
) -> list[InputRef]:
    stored: list[InputRef] = []
    try:
        for i, item in enumerate(prepared):
            unique = uuid.uuid4().hex[:8]  # two concurrent edits never share a file
            key = f"{customer_id}/{media_id}/source/g{generation}_{unique}_{i}.{item.extension}"
            runtime.storage.put_bytes(key, item.data)
            ref: dict[str, Any] = {
                "kind": item.kind,
                "position": item.position,
                "name": item.name,
                "key": key,
            }
            if item.at is not None:
                ref |= {"at": item.at, "hold": item.hold}
            stored.append(InputRef.model_validate(ref))
    except Exception:
        # All or nothing: files of a create or edit that failed would never be referenced.
        for done in stored:
            with contextlib.suppress(Exception):
                runtime.storage.delete(done.key)
        raise
    return stored


# --------------------------------------------------------------------------- checks


def cost_of_spec(spec: GenerationSpec) -> int:
    return credits.cost_of(quantity=spec.quantity, duration=spec.duration)


def check_honourable(
    runtime: Runtime, spec: GenerationSpec, *, visuals: int, keyframed: bool | None = None
) -> None:
    """Refuse (422, before anything is charged or stored) what nothing here can honour for
    these inputs. Fields that only the chosen engine ignores are recorded at render time.

    ``keyframed``: whether the request's new media_items are keyframes (None: no new ones,
    the stored inputs decide)."""
    try_on = spec.motion_type is MotionType.TRY_ON_VIDEO
    if keyframed is None and spec.keyframed:
        keyframed = True
        keyframes.check_fits(
            [keyframes.Keyframe(v.at or 0.0, v.hold) for v in spec.visuals], spec.duration
        )
    if keyframed and (try_on or spec.character_animate):
        name = "motion_type" if try_on else "character_animate"
        raise InputError(
            ("body", name),
            f"{'TryOnVideo' if try_on else 'character_animate'} takes one or two images, "
            "not keyframes (more than two media items, at, hold)",
        )
    if spec.try_on_model is not None and not try_on:
        raise InputError(("body", "model"), "model applies to motion_type TryOnVideo only")
    if try_on:
        if spec.try_on_model is None:
            names = ", ".join(m.value for m in TryOnModel)
            raise InputError(("body", "model"), f"TryOnVideo needs a model: one of {names}")
        if visuals != 2:
            raise InputError(
                ("body", "image_files"),
                "TryOnVideo needs two images: the person first, then the garment",
            )
        decision = registry.resolve(
            motion_type=spec.motion_type.value,
            kind=InputKind.TWO_IMAGES,
            settings=runtime.settings,
            needs=spec.needs,
            try_on_model=spec.try_on_model.value,
        )
        cls = registry.engine_classes().get(decision.engine)
        if cls is None or "try_on_model" not in cls.info.reachable:
            raise InputError(
                ("body", "motion_type"),
                "no try-on engine is installed on this server (the built-in kinora-tryon, or "
                "a provider routed for TryOnVideo in KINORA_ENGINE_ROUTES)",
            )
    if spec.character_animate and visuals == 0:
        raise InputError(
            ("body", "character_animate"),
            "character_animate needs an image or video with a character to animate",
        )


def _visual_count(
    uploads: Sequence[Upload], image_urls: Sequence[str], items: Sequence[MediaItem] | None
) -> int:
    """How many images or videos a request brings (media_items win, then uploads, then URLs)."""
    if items:
        return len(items)
    return len(uploads) or len(image_urls)


# --------------------------------------------------------------------------- use cases


OnCommit = Callable[[Session, str], None]
"""Called inside a create's or edit's transaction with the media id, before it commits (the
Idempotency-Key record is bound to the media there, so a crash can never separate them)."""


@dataclass(frozen=True)
class Created:
    media: Media | None
    credits_required: int


@dataclass(frozen=True)
class Planned:
    """A create request checked as far as it can be without fetching anything: its typed
    spec and its price."""

    request: MediaCreate
    spec: GenerationSpec
    cost: int
    times: list[keyframes.Keyframe] | None = None
    """Its media_items' keyframe times, when it places them in time."""


def plan_media(runtime: Runtime, request: MediaCreate, uploads: Sequence[Upload]) -> Planned:
    """Refuse what no engine can honour (a 422 before anything is fetched or charged)."""
    if not uploads and not request.image_urls and not request.media_items and not request.prompt:
        raise InputError(("body", "prompt"), "give a prompt, or one or two images")
    if len(uploads) > 2:
        raise InputError(("body", "image_files"), "at most two images (start and end frame)")
    if request.webhook_url:
        check_webhook_url(request.webhook_url, allow_private=runtime.settings.allow_private_urls)
    spec = request.to_spec()
    times = keyframes.resolve(request.media_items, spec.duration)
    check_honourable(
        runtime,
        spec,
        visuals=_visual_count(uploads, request.image_urls, request.media_items),
        keyframed=times is not None,
    )
    return Planned(request=request, spec=spec, cost=cost_of_spec(spec), times=times)


def stage_media(
    runtime: Runtime, *, customer: Customer, planned: Planned, uploads: Sequence[Upload]
) -> tuple[str, GenerationSpec]:
    """Fetch, check and store a planned media's inputs under a new media id: the id and the
    spec with its stored inputs. Nothing is charged yet; the caller deletes the stored files
    (``storage.delete_prefix``) if it does not commit the media."""
    request = planned.request
    prepared = prepare_inputs(
        runtime,
        uploads=uploads,
        image_urls=request.image_urls,
        media_items=request.media_items,
        driving=planned.spec.character_animate,
        times=planned.times,
    )
    prepared += prepare_audio(runtime, planned.spec.audio)
    media_id = str(uuid.uuid4())
    stored = _store_inputs(
        runtime, customer_id=customer.id, media_id=media_id, generation=1, prepared=prepared
    )
    return media_id, planned.spec.with_inputs(stored)


def add_media(
    s: Session,
    *,
    customer: Customer,
    media_id: str,
    planned: Planned,
    spec: GenerationSpec,
    batch_id: str = "",
) -> Media:
    """Charge for and insert a staged media (queued), in the caller's transaction."""
    request = planned.request
    credits.debit(s, customer_id=customer.id, amount=planned.cost, media_id=media_id)
    now = utcnow()
    media = Media(
        id=media_id,
        customer_id=customer.id,
        title=request.title,
        description=request.description,
        visibility_status=request.visibility_status,
        batch_id=batch_id,
        webhook_url=request.webhook_url or "",
        extra=request.metadata or {},
        spec=spec,
        status=MediaStatus.QUEUED,
        progress=0,
        bullet_version=1,
        cost=planned.cost,
        enqueued_at=now,
        created_at=now,
        updated_at=now,
    )
    s.add(media)
    return media


def enqueue_media(runtime: Runtime, media: Media) -> None:
    """Queue a committed media's first render."""
    _enqueue(runtime, media_id=media.id, generation=1, priority=render_priority(media.spec))


def create_media(
    runtime: Runtime,
    *,
    customer: Customer,
    request: MediaCreate,
    uploads: Sequence[Upload],
    dry_run: bool = False,
    on_commit: OnCommit | None = None,
) -> Created:
    planned = plan_media(runtime, request, uploads)
    if dry_run:
        # Validate inputs that need no download; URLs are checked for form only.
        for i, upload in enumerate(uploads):
            field = ("body", "image_files", i)
            if looks_like_video(upload.data):
                _prepare_video(runtime, upload.data, "", "", field, planned.spec.character_animate)
                continue
            decode_image(upload.data, field=field, max_pixels=runtime.settings.max_image_pixels)
        return Created(media=None, credits_required=planned.cost)
    media_id, spec = stage_media(runtime, customer=customer, planned=planned, uploads=uploads)
    try:
        with runtime.db.session() as s:
            media = add_media(s, customer=customer, media_id=media_id, planned=planned, spec=spec)
            if on_commit is not None:
                s.flush()
                on_commit(s, media_id)
    except Exception:
        runtime.storage.delete_prefix(f"{customer.id}/{media_id}")
        raise
    enqueue_media(runtime, media)
    return Created(media=media, credits_required=planned.cost)


def _enqueue(runtime: Runtime, *, media_id: str, generation: int, priority: int) -> None:
    """After the commit the row is the truth: a queue hiccup must not undo or repeat it.

    Should the enqueue fail, the reaper finds the row still queued and enqueues it again.
    """
    try:
        runtime.queue.render(media_id, generation, priority=priority)
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


def update_media(
    runtime: Runtime,
    *,
    customer: Customer,
    media_id: str,
    request: MediaUpdateBase,
    on_commit: OnCommit | None = None,
) -> Media:
    if request.webhook_url:
        check_webhook_url(request.webhook_url, allow_private=runtime.settings.allow_private_urls)
    times: list[keyframes.Keyframe] | None = None
    with runtime.db.session() as s:
        media = get_owned_media(s, media_id=media_id, customer=customer)
        if request.regenerates and lifecycle.running(media):
            raise BadRequestError("a generation is already running")
        if request.regenerates:
            # Refuse what nothing can honour before any new input is fetched or stored.
            visuals = len(request.media_items) if request.media_items else len(media.spec.visuals)
            edited = request.apply_to(media.spec)
            times = keyframes.resolve(request.media_items, edited.duration)
            check_honourable(
                runtime,
                edited,
                visuals=visuals,
                # new media_items decide; without them, the stored inputs do
                keyframed=(times is not None) if request.media_items else None,
            )
        customer_id = media.customer_id
        next_generation = media.bullet_version + 1
        driving = request.apply_to(media.spec).character_animate
    prepared = None
    if request.media_items:
        prepared = prepare_inputs(
            runtime,
            uploads=[],
            image_urls=[],
            media_items=request.media_items,
            driving=driving,
            times=times,
        )
    if request.audio_option is not None:
        audio_inputs = prepare_audio(runtime, AudioSpec(**request.audio_option.model_dump()))
        if prepared is None:
            with runtime.db.sessions() as s:
                current = get_owned_media(s, media_id=media_id, customer=customer, lock=False)
                kept = [i for i in current.spec.inputs if i.kind != "audio"]
            prepared = [_stored_as_prepared(runtime, item) for item in kept]
        else:
            prepared = [p for p in prepared if p.kind != "audio"]
        prepared += audio_inputs
    elif prepared is not None:
        # New visuals, same sound: keep the stored narration and music files.
        with runtime.db.sessions() as s:
            current = get_owned_media(s, media_id=media_id, customer=customer, lock=False)
            audio_kept = [i for i in current.spec.inputs if i.kind == "audio"]
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
        for name, value in request.record_changes().items():
            setattr(media, "extra" if name == "metadata" else name, value)
        regenerate = request.regenerates
        if regenerate:
            if lifecycle.running(media) or media.bullet_version + 1 != next_generation:
                raise BadRequestError("a generation is already running")
            spec = request.apply_to(media.spec).model_copy(
                update={"metadata": dict(media.extra or {})}
            )
            if stored is not None:
                spec = spec.with_inputs(stored)
            if not spec.inputs and not spec.prompt:
                raise InputError(("body", "prompt"), "give a prompt, or one or two images")
            check_honourable(runtime, spec, visuals=len(spec.visuals))
            lifecycle.start_generation(s, media, spec, cost=cost_of_spec(spec))
        media.updated_at = utcnow()
        generation = media.bullet_version
        priority = render_priority(media.spec)
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
        if lifecycle.running(media):
            raise BadRequestError("a generation is already running")
        spec = media.spec.seeded().model_copy(update={"metadata": dict(media.extra or {})})
        lifecycle.start_generation(s, media, spec, cost=cost_of_spec(spec))
        generation = media.bullet_version
        if on_commit is not None:
            on_commit(s, media_id)
    _enqueue(runtime, media_id=media_id, generation=generation, priority=render_priority(spec))
    return media


MAX_EXTENDED_SECONDS = 120
"""The longest video extensions may make (each adds 1-10 s)."""


def extension_spec(media: Media, request: MediaExtend) -> GenerationSpec:
    """The spec of ``media``'s extension: the seconds asked for, from its video's last frame,
    with its prompt, camera path and motion type unless the request names others, at its
    video's size and frame rate. Its narration is not spoken again (it is in the video
    already); music from a prompt and native sound continue in the new seconds."""
    if media.status != MediaStatus.SUCCESS or not media.result or not media.video_history:
        raise BadRequestError("only a finished media can be extended")
    if request.index >= len(media.result):
        raise InputError(
            ("body", "index"), f"index {request.index} is out of range (0-{len(media.result) - 1})"
        )
    item = media.result[request.index]
    entry = media.video_history[-1]
    configs = entry.get("engine_config", {}).get("configs", [])
    config = configs[request.index] if request.index < len(configs) else {}
    fps = int(config.get("fps") or media.spec.fps or 24)
    if request.fps is not None and request.fps != fps:
        raise InputError(("body", "fps"), f"an extension keeps the video's frame rate ({fps})")
    seconds = float(item["duration"])
    if seconds + request.duration > MAX_EXTENDED_SECONDS:
        raise InputError(
            ("body", "duration"),
            f"the video would last {seconds + request.duration:.0f} s: extensions stop at "
            f"{MAX_EXTENDED_SECONDS} s",
        )
    base = media.spec
    motion = request.motion_type or base.motion_type
    if motion is MotionType.TRY_ON_VIDEO:
        motion = MotionType.AUTO  # the garment is on: the new seconds move the picture
    aspect = entry.get("engine_config", {}).get("aspect_ratio") or ""
    return GenerationSpec(
        prompt=request.prompt if request.prompt is not None else base.prompt,
        negative_prompt=base.negative_prompt,
        motion_type=motion,
        camera_control=request.camera_control or base.camera_control,
        duration=request.duration,
        fps=fps,
        motion_range=base.motion_range,
        aspect_ratio=AspectRatio(aspect) if aspect in set(AspectRatio) else base.aspect_ratio,
        native_audio=base.native_audio,
        audio=AudioSpec(bg_music_prompt=base.audio.bg_music_prompt),
        metadata=dict(media.extra or {}),
        extends=Extension(
            key=str(item["key"]),
            bullet_version=str(entry["bullet_version"]),
            frames=round(seconds * fps),
            fps=fps,
            width=int(item["width"]),
            height=int(item["height"]),
            last_frame=str(item.get("last_frame_key", "")),
        ),
    ).seeded()


def extend_media(
    runtime: Runtime,
    *,
    customer: Customer,
    media_id: str,
    request: MediaExtend,
    on_commit: OnCommit | None = None,
) -> Media:
    """Charge for the new seconds only and queue them as the media's next generation; its
    result becomes the longer video (the one before stays downloadable by version)."""
    with runtime.db.session() as s:
        media = get_owned_media(s, media_id=media_id, customer=customer)
        if lifecycle.running(media):
            raise BadRequestError("a generation is already running")
        spec = extension_spec(media, request)
        check_honourable(runtime, spec, visuals=1)
        lifecycle.start_generation(s, media, spec, cost=cost_of_spec(spec))
        generation = media.bullet_version
        if on_commit is not None:
            on_commit(s, media_id)
    _enqueue(runtime, media_id=media_id, generation=generation, priority=render_priority(spec))
    return media


def cancel_media(runtime: Runtime, *, customer: Customer, media_id: str) -> Media:
    """A queued job never starts (full refund); a running one stops at its next frame."""
    with runtime.db.session() as s:
        media = get_owned_media(s, media_id=media_id, customer=customer)
        ended = lifecycle.cancel(runtime, s, media)
    if ended:
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
        # autoescape: "%" and "_" in q are literal characters, not LIKE wildcards
        query = query.where(Media.title.icontains(q, autoescape=True))
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
