"""Stand-ins for the hosted lip-sync and character-performance APIs: loopback servers, NOT the
providers (the StandIn base and its ``mode`` scripts are tests/plugins/standins.py's).

- :class:`FalLipSyncStandIn`: fal's queue API for ``fal-ai/sync-lipsync[/v2]`` and
  ``fal-ai/latentsync``: the submit must carry ``video_url`` and ``audio_url`` (422 otherwise,
  as fal's input validation answers); the result is ``{"video": {"url": ...}}``.
- :class:`RunwayActTwoStandIn`: Runway's ``POST /v1/character_performance`` (runwayml
  sdk-python ``character_performance_create_params``: ``character`` image or video,
  ``reference`` video, ``model`` ``act_two``, one of six ``ratio`` values), polled as a task.
- :class:`KlingStandIn`: Kling's API, which checks each request's HS256 JWT against the
  secret key (``iss`` the access key, ``exp`` in the future, ``nbf`` past) and answers in its
  ``{"code", "message", "request_id", "data"}`` envelope: ``/v1/videos/lip-sync`` and
  ``/v1/videos/motion-control``, each polled at ``<endpoint>/{task_id}``.

The videos they return are a flat colour (:data:`PROVIDER_COLOUR`), so a test can tell the
provider's frames from Kinora's own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from kinora.video.encode import Mp4Writer
from tests.plugins.standins import FAIL_MESSAGE, Answer, Call, FalStandIn, RunwayStandIn, StandIn

PROVIDER_COLOUR = (30, 200, 60)
"""The colour of every frame the stand-ins return."""
ACCESS_KEY = "kling-access-key"
SECRET_KEY = "kling-secret-key"
ACT_TWO_RATIOS = ("1280:720", "720:1280", "960:960", "1104:832", "832:1104", "1584:672")


def colour_video(*, width: int = 96, height: int = 96, frames: int = 12, fps: int = 12) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v.mp4"
        with Mp4Writer(path, width=width, height=height, fps=fps) as writer:
            for _ in range(frames):
                writer.write(np.full((height, width, 3), PROVIDER_COLOUR, np.uint8))
        return path.read_bytes()


def data_uri_bytes(uri: str, mime_prefix: str) -> bytes:
    """The payload of a data URI, which must be of ``mime_prefix`` (ValueError otherwise)."""
    head, sep, payload = uri.partition(",")
    if not sep or not head.startswith(f"data:{mime_prefix}") or not head.endswith(";base64"):
        raise ValueError(f"not a {mime_prefix} data URI")
    return base64.b64decode(payload, validate=True)


class FalLipSyncStandIn(FalStandIn):
    provider = "fal-lipsync"

    def __init__(self, mode: str = "success", pending_polls: int = 1) -> None:
        super().__init__(mode, pending_polls)
        self.video = colour_video()

    def answer(self, call: Call) -> Answer:
        if call.method == "POST":
            body = call.body or {}
            try:
                data_uri_bytes(str(body.get("video_url", "")), "video/")
                data_uri_bytes(str(body.get("audio_url", "")), "audio/")
            except ValueError as exc:
                return Answer(422, {"detail": [{"loc": ["body", "video_url"], "msg": str(exc)}]})
        return super().answer(call)


class RunwayActTwoStandIn(RunwayStandIn):
    provider = "runway-act-two"

    def __init__(self, mode: str = "success", pending_polls: int = 1) -> None:
        super().__init__(mode, pending_polls)
        self.video = colour_video()

    def answer(self, call: Call) -> Answer:
        if call.method == "POST" and call.path == "/v1/character_performance":
            if call.headers.get("x-runway-version") != "2024-11-06":
                return Answer(400, {"error": "Missing or invalid X-Runway-Version header"})
            body = call.body or {}
            character, reference = body.get("character") or {}, body.get("reference") or {}
            valid = (
                body.get("model") == "act_two"
                and character.get("type") in ("image", "video")
                and bool(character.get("uri"))
                and reference.get("type") == "video"
                and bool(reference.get("uri"))
                and body.get("ratio", "1280:720") in ACT_TWO_RATIOS
            )
            if not valid:
                return Answer(400, {"error": "Validation of body failed"})
            refused = self.submitted()
            if refused:
                return refused
            return Answer(200, {"id": f"0f0a3c3e-act2-4c16-946b-35dbbce2af2{self.submits}"})
        if call.method == "POST":
            return Answer(404, {"error": "Not found"})
        return super().answer(call)


def verify_jwt(token: str, *, access_key: str, secret_key: str, now: float) -> str:
    """ "" when ``token`` is a valid Kling JWT, else what is wrong with it."""
    try:
        header_b64, payload_b64, signature_b64 = token.split(".")

        def decode(part: str) -> bytes:
            return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

        header = json.loads(decode(header_b64))
        payload = json.loads(decode(payload_b64))
        signature = decode(signature_b64)
    except ValueError:
        return "malformed token"
    if header.get("alg") != "HS256":
        return "not HS256"
    expected = hmac.new(
        secret_key.encode(), f"{header_b64}.{payload_b64}".encode(), hashlib.sha256
    ).digest()
    if not hmac.compare_digest(expected, signature):
        return "bad signature"
    if payload.get("iss") != access_key:
        return "unknown issuer"
    if not isinstance(payload.get("exp"), int) or payload["exp"] <= now:
        return "expired"
    if not isinstance(payload.get("nbf"), int) or payload["nbf"] > now:
        return "not yet valid"
    if payload["exp"] - now > 3600:
        return "lives too long"
    return ""


class KlingStandIn(StandIn):
    provider = "kling"
    endpoints = (
        "/v1/videos/lip-sync",
        "/v1/videos/motion-control",
        "/v1/videos/image2video",
        "/v1/videos/text2video",
    )

    def __init__(self, mode: str = "success", pending_polls: int = 1) -> None:
        super().__init__(mode, pending_polls)
        self.video = colour_video()
        self.tokens: list[str] = []
        self.token_problems: list[str] = []

    def envelope(self, status: int, data: Any, code: int = 0, message: str = "SUCCEED") -> Answer:
        return Answer(status, {"code": code, "message": message, "request_id": "r-1", "data": data})

    def answer(self, call: Call) -> Answer:
        auth = call.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ")
        problem = verify_jwt(token, access_key=ACCESS_KEY, secret_key=SECRET_KEY, now=time.time())
        self.tokens.append(token)
        if problem:
            self.token_problems.append(problem)
            return self.envelope(401, None, 1002, "Authorization is invalid")
        endpoint = next((e for e in self.endpoints if call.path.startswith(e)), "")
        if not endpoint:
            return self.envelope(404, None, 1203, "Requested resource does not exist")
        if call.method == "POST" and call.path == endpoint:
            body = call.body or {}
            if self.mode == "reject":
                return self.envelope(400, None, 1201, "duration is invalid")
            if endpoint.endswith("lip-sync"):
                given = body.get("input") or {}
                ok = (
                    str(given.get("video_url", "")).startswith("data:video/mp4;base64,")
                    and given.get("mode") == "audio2video"
                    and given.get("audio_type") == "file"
                    and bool(given.get("audio_file"))
                )
            elif endpoint.endswith("motion-control"):
                ok = bool(body.get("image_url")) and bool(body.get("video_url"))
                ok = ok and body.get("character_orientation") in ("image", "video")
            elif endpoint.endswith("text2video"):
                # Kling's text2video: a prompt and no frames (aspect_ratio instead).
                ok = bool(body.get("model_name")) and bool(body.get("prompt"))
                ok = (
                    ok
                    and "image" not in body
                    and body.get("aspect_ratio") in ("16:9", "9:16", "1:1")
                )
            else:
                ok = bool(body.get("model_name")) and bool(body.get("image"))
            if not ok:
                return self.envelope(400, None, 1201, "Invalid parameter")
            self.submits += 1
            return self.envelope(
                200, {"task_id": f"task-{self.submits}", "task_status": "submitted"}
            )
        if call.method == "GET" and call.path.startswith(endpoint + "/"):
            task = call.path.rsplit("/", 1)[1]
            state = self.progress(task)
            base: dict[str, Any] = {"task_id": task, "created_at": 1, "updated_at": 2}
            if state == "pending":
                return self.envelope(200, {**base, "task_status": "processing"})
            if state == "failed":
                return self.envelope(
                    200, {**base, "task_status": "failed", "task_status_msg": FAIL_MESSAGE}
                )
            videos = [{"id": "v1", "url": self.video_url, "duration": "1"}]
            return self.envelope(
                200, {**base, "task_status": "succeed", "task_result": {"videos": videos}}
            )
        return self.envelope(405, None, 1202, "Invalid request method")


FACES_STAND_INS: dict[str, type[StandIn]] = {
    cls.provider: cls for cls in (FalLipSyncStandIn, RunwayActTwoStandIn, KlingStandIn)
}
