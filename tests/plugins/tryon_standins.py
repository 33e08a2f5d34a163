"""Stand-ins for the hosted try-on APIs: loopback servers, NOT the providers.

Each follows its provider's documented requests and answers (the base, :class:`StandIn`,
records the calls and serves the result file at ``/files/out.mp4``; here that file is the
dressed person, a PNG, as the providers answer an image):

- :class:`FashnStandIn`: FASHN's API (docs.fashn.ai, "API Fundamentals", "Virtual Try-On
  v1.6"): ``POST /v1/run`` ``{"model_name", "inputs": {"model_image", "garment_image", ...}}``
  with ``Authorization: Bearer`` answers ``{"id", "error": null}``; ``GET /v1/status/{id}``
  answers ``starting``/``in_queue``/``processing``, then ``completed`` with ``output`` (image
  URLs) or ``failed`` with ``error: {"name", "message"}``. Unknown bodies get 400.
- :class:`FalTryOnStandIn`: fal's queue (as :class:`FalStandIn`), checking each try-on
  endpoint's published input schema (422 otherwise) and answering its output shape: Kolors
  ``{"image": {...}}``, FASHN on fal and the edit models ``{"images": [{...}]}``.
- :class:`KlingTryOnStandIn`: Kling's own Kolors virtual try-on (JWT-signed, task polling).
"""

from __future__ import annotations

import io
import time
from typing import Any

import numpy as np
from PIL import Image

from tests.plugins.standins import KEY, Answer, Call, FalStandIn, StandIn

FASHN_ERROR = {"name": "ImageLoadError", "message": "Error loading model image: no person found"}
DRESSED_COLOUR = (200, 40, 160)
"""The garment colour of the stand-ins' dressed person (magenta: no test photo has it)."""


def dressed_png(width: int = 96, height: int = 144) -> bytes:
    """A portrait 'dressed person': grey background, a skin-toned head, a magenta torso."""
    img = np.full((height, width, 3), 90, np.uint8)
    cx = width // 2
    yy, xx = np.mgrid[0:height, 0:width]
    head = (xx - cx) ** 2 + (yy - height * 0.2) ** 2 < (width * 0.14) ** 2
    img[head] = (225, 185, 160)
    torso = (abs(xx - cx) < width * 0.28) & (yy > height * 0.33) & (yy < height * 0.95)
    img[torso] = DRESSED_COLOUR
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def is_image_input(value: Any) -> bool:
    """An image as the providers take it: a URL or a base64 data URI."""
    return isinstance(value, str) and value.startswith(("http://", "https://", "data:image/"))


class FashnStandIn(StandIn):
    """FASHN API v1: /v1/run and /v1/status/{id}."""

    provider = "fashn"
    models = ("tryon-v1.6", "tryon-v1.5")
    categories = ("auto", "tops", "bottoms", "one-pieces")

    def __init__(self, mode: str = "success", pending_polls: int = 1) -> None:
        super().__init__(mode=mode, pending_polls=pending_polls)
        self.video = dressed_png()

    def answer(self, call: Call) -> Answer:
        if call.headers.get("authorization") != f"Bearer {KEY}":
            return Answer(401, {"error": "UnauthorizedAccess", "message": "Invalid API key"})
        if call.method == "POST" and call.path == "/v1/run":
            body = call.body or {}
            inputs = body.get("inputs")
            if body.get("model_name") not in self.models or not isinstance(inputs, dict):
                return Answer(400, {"error": "BadRequest", "message": "model_name and inputs"})
            if not (
                is_image_input(inputs.get("model_image"))
                and is_image_input(inputs.get("garment_image"))
            ):
                return Answer(400, {"error": "BadRequest", "message": "images required"})
            if inputs.get("category", "auto") not in self.categories:
                return Answer(400, {"error": "BadRequest", "message": "invalid category"})
            refused = self.submitted()
            if refused:
                return refused
            return Answer(
                200, {"id": f"123a87r9-4129-4bb3-be18-9c9fb5bd7fc{self.submits}-u1", "error": None}
            )
        if call.method == "GET" and call.path.startswith("/v1/status/"):
            flaky = self.flaky_poll()
            if flaky:
                return flaky
            job = call.path.rsplit("/", 1)[1]
            state = self.progress(job)
            base: dict[str, Any] = {"id": job, "error": None}
            if state == "pending":
                status = "starting" if self.polls[job] == 1 else "processing"
                return Answer(200, {**base, "status": status})
            if state == "failed":
                return Answer(200, {**base, "status": "failed", "error": FASHN_ERROR})
            return Answer(200, {**base, "status": "completed", "output": [self.video_url]})
        return Answer(404, {"error": "NotFound", "message": "Not found"})


FAL_TRY_ON_SCHEMAS: dict[str, tuple[frozenset[str], str]] = {
    "kolors-virtual-try-on": (frozenset({"human_image_url", "garment_image_url"}), "image"),
    "fashn/tryon": (frozenset({"model_image", "garment_image"}), "images"),
    "nano-banana-pro/edit": (frozenset({"prompt", "image_urls"}), "images"),
    "seedream/v4/edit": (frozenset({"prompt", "image_urls"}), "images"),
}
"""Required inputs and the output field of each fal try-on endpoint (published schemas)."""


class FalTryOnStandIn(FalStandIn):
    """fal's queue with the try-on endpoints' input schemas and image outputs."""

    provider = "fal-tryon"

    def __init__(self, mode: str = "success", pending_polls: int = 1) -> None:
        super().__init__(mode=mode, pending_polls=pending_polls)
        self.video = dressed_png()
        self.outputs: dict[str, str] = {}

    def schema(self, path: str) -> tuple[frozenset[str], str] | None:
        return next((v for k, v in FAL_TRY_ON_SCHEMAS.items() if k in path), None)

    def answer(self, call: Call) -> Answer:
        parts = call.path.strip("/").split("/")
        if call.method == "POST" and call.headers.get("authorization") == f"Key {KEY}":
            schema = self.schema(call.path)
            body = call.body or {}
            if schema is None:
                return Answer(404, {"detail": "Application not found"})
            required, output = schema
            missing = sorted(required - set(body))
            if missing:
                return Answer(
                    422,
                    {"detail": [{"loc": ["body", m], "msg": "field required"} for m in missing]},
                )
            images = body.get("image_urls", [body.get(n) for n in required if "image" in n])
            if not all(is_image_input(i) for i in images) or len(images) != 2:
                return Answer(422, {"detail": "two images are required"})
            answer = super().answer(call)
            if answer.status == 200:
                self.outputs[str(answer.body["request_id"])] = output
            return answer
        if (
            call.method == "GET"
            and len(parts) == 4
            and parts[2] == "requests"
            and self.mode != "fail"
            and call.headers.get("authorization") == f"Key {KEY}"
        ):
            image = {"url": self.video_url, "content_type": "image/png", "width": 96, "height": 144}
            if self.outputs.get(parts[3]) == "image":
                return Answer(200, {"image": image})
            return Answer(200, {"images": [image], "description": "", "seed": 4321})
        return super().answer(call)


class KlingTryOnStandIn(StandIn):
    """Kling's own Kolors virtual try-on (``/v1/images/kolors-virtual-try-on``): every request
    signed with an HS256 JWT of the access key (checked with the secret); ``{model_name,
    human_image, cloth_image}`` (bare base64 or URLs) answers ``{"code": 0, "data":
    {"task_id"}}``; ``GET .../{task_id}`` answers ``task_status`` submitted/processing, then
    ``succeed`` with ``task_result.images[0].url`` or ``failed`` with ``task_status_msg``."""

    provider = "kling"
    path = "/v1/images/kolors-virtual-try-on"

    def __init__(self, mode: str = "success", pending_polls: int = 1) -> None:
        super().__init__(mode=mode, pending_polls=pending_polls)
        self.video = dressed_png()

    @staticmethod
    def envelope(status: int, data: Any, code: int = 0, message: str = "SUCCEED") -> Answer:
        return Answer(status, {"code": code, "message": message, "request_id": "r", "data": data})

    def answer(self, call: Call) -> Answer:
        from tests.plugins.faces_standins import ACCESS_KEY, SECRET_KEY, verify_jwt

        token = call.headers.get("authorization", "").removeprefix("Bearer ")
        if verify_jwt(token, access_key=ACCESS_KEY, secret_key=SECRET_KEY, now=time.time()):
            return self.envelope(401, None, 1002, "Authorization is invalid")
        if call.method == "POST" and call.path == self.path:
            body = call.body or {}
            ok = str(body.get("model_name", "")).startswith("kolors-virtual-try-on") and all(
                isinstance(body.get(k), str) and len(body[k]) > 100
                for k in ("human_image", "cloth_image")
            )
            if not ok:
                return self.envelope(400, None, 1201, "Invalid parameter")
            self.submits += 1
            return self.envelope(200, {"task_id": f"t{self.submits}", "task_status": "submitted"})
        if call.method == "GET" and call.path.startswith(self.path + "/"):
            task = call.path.rsplit("/", 1)[1]
            state = self.progress(task)
            if state == "pending":
                return self.envelope(200, {"task_id": task, "task_status": "processing"})
            if state == "failed":
                return self.envelope(
                    200, {"task_id": task, "task_status": "failed", "task_status_msg": "no human"}
                )
            images = [{"index": 0, "url": self.video_url}]
            return self.envelope(
                200, {"task_id": task, "task_status": "succeed", "task_result": {"images": images}}
            )
        return self.envelope(404, None, 1203, "Requested resource does not exist")
