"""End-to-end fixtures for the studio: a real `kinora serve` and Debian's Chromium (Playwright)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO, LiveServer, launch_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
DOCS_IMAGES = REPO / "docs" / "images"


@pytest.fixture(scope="module")
def studio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = launch_server(tmp_path_factory.mktemp("studio") / "data")
    try:
        page = httpx.get(f"{server.base_url}/studio", timeout=10)
        assert page.status_code == 200, (
            f"/studio answered {page.status_code}: add "
            "`from kinora import studio` and `app.include_router(studio.router)` to create_app"
        )
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - depends on the install
        pytest.fail("Playwright for Python is not installed: run `make install`")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found (Debian package chromium): run `make install`")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where every step's screenshot goes; the key ones are also copied to docs/images."""
    return tmp_path_factory.mktemp("studio-shots")


def publish(shot: Path, name: str) -> Path:
    """Save a key screenshot as a small palette PNG beside the others (studio-NAME.png).

    With KINORA_UPDATE_DOCS_IMAGES=1 it goes to docs/images (what the README shows), so an
    ordinary test run leaves the work tree clean.
    """
    from PIL import Image

    folder = DOCS_IMAGES if os.environ.get("KINORA_UPDATE_DOCS_IMAGES") == "1" else shot.parent
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"studio-{name}.png"
    with Image.open(shot) as img:
        small = img.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE)
        small.save(target, optimize=True)
    if target.stat().st_size > shot.stat().st_size:
        shutil.copyfile(shot, target)
    return target
