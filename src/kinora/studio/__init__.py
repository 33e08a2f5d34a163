"""The web studio: plain HTML, CSS and JavaScript served at ``/studio`` (no build step).

Add it to an app with ``app.include_router(kinora.studio.router)``.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

from kinora.errors import NotFoundError

STATIC = Path(__file__).resolve().parent / "static"

router = APIRouter(include_in_schema=False)

NO_FRAMING = {
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}
"""On every studio response: no other site may frame the studio (clickjacking a user who has
typed a key into it)."""

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".jpg": "image/jpeg",
}


def _file(path: Path, cache: str) -> FileResponse:
    media_type = _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    return FileResponse(
        path,
        media_type=media_type or "application/octet-stream",
        headers={"Cache-Control": cache, **NO_FRAMING},
    )


@router.get("/studio")
def studio() -> FileResponse:
    """The studio page; it calls the API from the browser with the key the user enters."""
    return _file(STATIC / "index.html", "no-cache")


@router.get("/studio/")
def studio_slash() -> RedirectResponse:
    return RedirectResponse("/studio", status_code=308, headers=NO_FRAMING)


@router.get("/studio/static/{name:path}")
def static(name: str) -> FileResponse:
    """Files under the package's ``static`` folder, and nothing outside it."""
    path = (STATIC / name).resolve()
    if not path.is_relative_to(STATIC) or not path.is_file():
        raise NotFoundError()
    return _file(path, "no-cache")
