"""Stand-ins for the providers' HTTP APIs: loopback servers, NOT the providers.

Each answers with the request and response shapes of the provider's documented API (the
versions named in docs/engines-plugins.md) so the adapters' real HTTP code runs end to end.
``mode`` scripts the job: ``success``, ``fail`` (the job fails with the provider's message),
``hang`` (never finishes), ``flaky`` (503, then 429 with Retry-After, then success; one poll
answers 500), ``reject`` (the submit is refused with 422) and ``down`` (every call 503).
Each also takes its API's cancel and records the job in ``cancelled``.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import http.server
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from kinora.engines.providers.base import fake_video

KEY = "test-key"
FAIL_MESSAGE = "Content flagged by the provider's safety filter"
REJECT_MESSAGE = "input.duration: must be one of 5, 10"

DOCUMENTED_BODY_FIELDS: dict[str, frozenset[str]] = {
    # runwayml sdk-python, types/image_to_video_create_params.py (Gen4Turbo): no negative
    # prompt and no camera control.
    "runway": frozenset(
        {"model", "promptImage", "promptText", "ratio", "duration", "seed", "contentModeration"}
    ),
    # lumaai-python, types/generation_create_params.py: no negative prompt, no seed.
    "luma": frozenset(
        {
            "model",
            "prompt",
            "aspect_ratio",
            "loop",
            "duration",
            "resolution",
            "keyframes",
            "concepts",
            "callback_url",
            "generation_type",
        }
    ),
}
"""Every field the documented create call of Runway and Luma takes (Replicate and fal take
each model's own input schema, so their inputs vary by model)."""


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def multipart_parts(raw: bytes, content_type: str) -> dict[str, bytes]:
    """A multipart/form-data body's parts by field name (an image upload's file bytes)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    parts: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            parts[name] = payload
    return parts


class StandIn:
    """Base: a threaded loopback HTTP server that records calls and serves the video."""

    provider = ""

    def __init__(self, mode: str = "success", pending_polls: int = 1) -> None:
        self.mode, self.pending_polls = mode, pending_polls
        self.calls: list[Call] = []
        self.polls: dict[str, int] = {}
        self.submits = 0
        self.poll_errors = 0
        self.cancelled: list[str] = []
        self.video = fake_video(width=64, height=36, frames=10, fps=10)
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                ctype = headers.get("content-type", "")
                if raw and ctype.startswith("multipart/form-data"):
                    body: Any = {"multipart": multipart_parts(raw, ctype)}
                else:
                    body = json.loads(raw) if raw else None
                call = Call(self.command, self.path, headers, body)
                stand_in.calls.append(call)
                if self.path == "/files/out.mp4":
                    self._send(200, stand_in.video, {"content-type": "video/mp4"})
                    return
                if stand_in.mode == "down":
                    answer = Answer(503, {"detail": "Service Unavailable"})
                else:
                    answer = stand_in.answer(call)
                data = b"" if answer.body is None else json.dumps(answer.body).encode()
                self._send(answer.status, data, answer.headers)

            def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                headers = {"content-type": "application/json", **headers}
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- helpers for subclasses ---------------------------------------------------------------

    @property
    def video_url(self) -> str:
        return f"{self.base_url}/files/out.mp4"

    def submitted(self) -> Answer | None:
        """A scripted refusal of the submit, or None to accept it."""
        self.submits += 1
        if self.mode == "reject":
            return Answer(422, {"detail": REJECT_MESSAGE})
        if self.mode == "flaky" and self.submits == 1:
            return Answer(503, {"detail": "Service Unavailable"})
        if self.mode == "flaky" and self.submits == 2:
            return Answer(429, {"detail": "Too many requests"}, {"retry-after": "0"})
        return None

    def progress(self, job: str) -> str:
        """pending | done | failed for this poll of ``job``."""
        self.polls[job] = self.polls.get(job, 0) + 1
        if self.mode == "hang" or self.polls[job] <= self.pending_polls:
            return "pending"
        return "failed" if self.mode == "fail" else "done"

    def cancel(self, job: str) -> None:
        self.cancelled.append(job)
        self.mode = "hang"  # a cancelled job never finishes

    def flaky_poll(self) -> Answer | None:
        if self.mode == "flaky" and self.poll_errors == 0:
            self.poll_errors += 1
            return Answer(500, {"detail": "Internal Server Error"})
        return None

    def answer(self, call: Call) -> Answer:
        raise NotImplementedError


class ReplicateStandIn(StandIn):
    """Replicate HTTP API v1: predictions."""

    provider = "replicate"
    version = "5e0e1b9c1d9a2f7a7e4f7c0e0d2f1a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f"

    def prediction(self, pid: str, status: str, **extra: Any) -> dict[str, Any]:
        return {
            "id": pid,
            "model": "kwaivgi/kling-v2.1",
            "version": self.version,
            "status": status,
            "input": {},
            "output": None,
            "error": None,
            "logs": "",
            "urls": {
                "get": f"https://api.replicate.com/v1/predictions/{pid}",
                "cancel": f"https://api.replicate.com/v1/predictions/{pid}/cancel",
            },
            **extra,
        }

    def answer(self, call: Call) -> Answer:
        if call.headers.get("authorization") != f"Bearer {KEY}":
            return Answer(401, {"title": "Unauthenticated", "detail": "You did not pass a token"})
        parts = call.path.strip("/").split("/")
        if call.method == "POST" and parts[:2] == ["v1", "predictions"] and parts[3:] == ["cancel"]:
            self.cancel(parts[2])
            return Answer(200, self.prediction(parts[2], "canceled"))
        if call.method == "POST" and (
            (parts[:2] == ["v1", "models"] and parts[-1] == "predictions")
            or call.path == "/v1/predictions"
        ):
            if call.path == "/v1/predictions" and "version" not in (call.body or {}):
                return Answer(422, {"detail": "version is required"})
            if not isinstance((call.body or {}).get("input"), dict):
                return Answer(422, {"detail": "input is required"})
            refused = self.submitted()
            if refused:
                return refused
            return Answer(201, self.prediction(f"p{self.submits}", "starting"))
        if call.method == "GET" and parts[:2] == ["v1", "predictions"] and len(parts) == 3:
            flaky = self.flaky_poll()
            if flaky:
                return flaky
            state = self.progress(parts[2])
            if state == "pending":
                return Answer(200, self.prediction(parts[2], "processing"))
            if state == "failed":
                return Answer(200, self.prediction(parts[2], "failed", error=FAIL_MESSAGE))
            return Answer(
                200,
                self.prediction(
                    parts[2], "succeeded", output=self.video_url, logs="Using seed: 1234\n"
                ),
            )
        return Answer(404, {"detail": "Not found"})


class FalStandIn(StandIn):
    """fal queue API: submit, status, response."""

    provider = "fal"

    def answer(self, call: Call) -> Answer:
        if call.headers.get("authorization") != f"Key {KEY}":
            return Answer(401, {"detail": "Invalid key"})
        parts = call.path.strip("/").split("/")
        if call.method == "PUT" and len(parts) == 5 and parts[2:5:2] == ["requests", "cancel"]:
            self.cancel(parts[3])
            return Answer(202, {"status": "CANCELLATION_REQUESTED"})
        if call.method == "POST":
            refused = self.submitted()
            if refused:
                return refused
            rid = f"req-{self.submits}"
            app = "/".join(parts[:2])
            base = f"{self.base_url}/{app}/requests/{rid}"
            return Answer(
                200,
                {
                    "request_id": rid,
                    "response_url": base,
                    "status_url": f"{base}/status",
                    "cancel_url": f"{base}/cancel",
                },
            )
        if call.method == "GET" and len(parts) == 5 and parts[2] == "requests":
            flaky = self.flaky_poll()
            if flaky:
                return flaky
            state = self.progress(parts[3])
            if state == "pending":
                return Answer(202, {"status": "IN_PROGRESS", "logs": []})
            return Answer(200, {"status": "COMPLETED", "logs": []})
        if call.method == "GET" and len(parts) == 4 and parts[2] == "requests":
            if self.mode == "fail":
                return Answer(422, {"detail": FAIL_MESSAGE})
            return Answer(
                200,
                {
                    "video": {
                        "url": self.video_url,
                        "content_type": "video/mp4",
                        "file_size": len(self.video),
                    },
                    "seed": 4321,
                },
            )
        return Answer(404, {"detail": "Not found"})


class RunwayStandIn(StandIn):
    """Runway API 2024-11-06: image_to_video and tasks."""

    provider = "runway"

    def answer(self, call: Call) -> Answer:
        if call.headers.get("authorization") != f"Bearer {KEY}":
            return Answer(401, {"error": "Invalid API key"})
        if call.headers.get("x-runway-version") != "2024-11-06":
            return Answer(400, {"error": "Missing or invalid X-Runway-Version header"})
        if call.method == "POST" and call.path == "/v1/image_to_video":
            body = call.body or {}
            if not body.get("promptImage") or body.get("ratio") not in (
                "1280:720",
                "720:1280",
                "1104:832",
                "832:1104",
                "960:960",
                "1280:768",
                "768:1280",
            ):
                return Answer(400, {"error": "Validation of body failed"})
            refused = self.submitted()
            if refused:
                return refused
            return Answer(200, {"id": f"17f20503-6c24-4c16-946b-35dbbce2af2{self.submits}"})
        if call.method == "DELETE" and call.path.startswith("/v1/tasks/"):
            self.cancel(call.path.rsplit("/", 1)[1])
            return Answer(204, None)
        if call.method == "GET" and call.path.startswith("/v1/tasks/"):
            flaky = self.flaky_poll()
            if flaky:
                return flaky
            task = call.path.rsplit("/", 1)[1]
            state = self.progress(task)
            base = {"id": task, "createdAt": "2024-11-06T00:00:00.000Z"}
            if state == "pending":
                return Answer(200, {**base, "status": "RUNNING", "progress": 0.5})
            if state == "failed":
                return Answer(
                    200,
                    {
                        **base,
                        "status": "FAILED",
                        "failure": FAIL_MESSAGE,
                        "failureCode": "SAFETY.INPUT.IMAGE",
                    },
                )
            return Answer(200, {**base, "status": "SUCCEEDED", "output": [self.video_url]})
        return Answer(404, {"error": "Not found"})


class LumaStandIn(StandIn):
    """Luma Dream Machine API v1: generations."""

    provider = "luma"
    path = "/dream-machine/v1/generations"

    def generation(self, gid: str, state: str, **extra: Any) -> dict[str, Any]:
        return {
            "id": gid,
            "generation_type": "video",
            "state": state,
            "failure_reason": None,
            "created_at": "2025-01-01T00:00:00Z",
            "assets": None,
            "model": "ray-2",
            "request": {},
            **extra,
        }

    def answer(self, call: Call) -> Answer:
        if call.headers.get("authorization") != f"Bearer {KEY}":
            return Answer(401, {"detail": "Invalid API key"})
        if call.method == "POST" and call.path == self.path:
            if not (call.body or {}).get("prompt"):
                return Answer(400, {"detail": "prompt is required"})
            refused = self.submitted()
            if refused:
                return refused
            return Answer(201, self.generation(f"gen-{self.submits}", "queued"))
        if call.method == "DELETE" and call.path.startswith(self.path + "/"):
            self.cancel(call.path.rsplit("/", 1)[1])
            return Answer(204, None)
        if call.method == "GET" and call.path.startswith(self.path + "/"):
            flaky = self.flaky_poll()
            if flaky:
                return flaky
            gid = call.path.rsplit("/", 1)[1]
            state = self.progress(gid)
            if state == "pending":
                return Answer(200, self.generation(gid, "dreaming"))
            if state == "failed":
                return Answer(200, self.generation(gid, "failed", failure_reason=FAIL_MESSAGE))
            return Answer(200, self.generation(gid, "completed", assets={"video": self.video_url}))
        return Answer(404, {"detail": "Not found"})


def model_inputs(provider: str, call: Call) -> dict[str, Any]:
    """What the model received from a submit: Replicate wraps it in ``input``, the others
    send it as the body."""
    body = call.body or {}
    inputs = body.get("input", {}) if provider == "replicate" else body
    return dict(inputs)


STAND_INS: dict[str, type[StandIn]] = {
    cls.provider: cls for cls in (ReplicateStandIn, FalStandIn, RunwayStandIn, LumaStandIn)
}


# --- direct adapters: Google Veo on the Gemini API, MiniMax Hailuo -----------------------

RAI_REASON = (
    "Your current safety settings for person generation prevented a video from being "
    "generated. Rephrase the prompt."
)
"""A raiMediaFilteredReasons entry (the refusal the gemini stand-in's ``refuse`` mode gives)."""

GEMINI_PARAMETERS = frozenset(
    {
        "aspectRatio",
        "durationSeconds",
        "resolution",
        "negativePrompt",
        "personGeneration",
        "sampleCount",
        "enhancePrompt",
    }
)
"""What the Gemini API's ``parameters`` take (python-genai ``_GenerateVideosConfig_to_mldev``:
seed, generateAudio, fps and the rest are Vertex-only and refused here)."""


class GeminiStandIn(StandIn):
    """The Gemini API's Veo calls: ``models/{model}:predictLongRunning``, ``GET`` of the
    operation, and the ``files/{id}:download`` URL, which redirects to a storage host (here
    ``localhost`` instead of ``127.0.0.1``: another origin) that must not receive the key.

    Modes beyond the shared ones: ``refuse`` (the operation finishes with
    ``raiMediaFilteredReasons`` and no sample)."""

    provider = "gemini"

    def __init__(self, mode: str = "success", pending_polls: int = 1) -> None:
        super().__init__(mode, pending_polls)
        self.storage_keys: list[str] = []

    @staticmethod
    def error(status: int, kind: str, message: str) -> Answer:
        return Answer(status, {"error": {"code": status, "message": message, "status": kind}})

    def submitted(self) -> Answer | None:
        self.submits += 1
        if self.mode == "reject":
            return self.error(400, "INVALID_ARGUMENT", REJECT_MESSAGE)
        if self.mode == "flaky" and self.submits == 1:
            return self.error(503, "UNAVAILABLE", "The model is overloaded.")
        if self.mode == "flaky" and self.submits == 2:
            return Answer(
                429,
                {"error": {"code": 429, "message": "Quota", "status": "RESOURCE_EXHAUSTED"}},
                {"retry-after": "3"},
            )
        return None

    def check_body(self, model: str, body: Any) -> str:
        """What the real API refuses, as its message ("" when the body is acceptable)."""
        if not isinstance(body, dict) or set(body) - {"instances", "parameters"}:
            return "Invalid JSON payload received."
        instances = body.get("instances")
        if not isinstance(instances, list) or len(instances) != 1:
            return "instances: exactly one instance is required"
        instance = instances[0]
        unknown = set(instance) - {"prompt", "image", "lastFrame", "referenceImages", "video"}
        if unknown:
            return f"Invalid JSON payload received. Unknown name {sorted(unknown)[0]!r}"
        if not instance.get("prompt") and "image" not in instance:
            return "A prompt or an image is required."
        for key in ("image", "lastFrame"):
            if key in instance:
                image = instance[key]
                if set(image) != {"bytesBase64Encoded", "mimeType"} or not image[
                    "mimeType"
                ].startswith("image/"):
                    return f"{key}: bytesBase64Encoded and mimeType are required"
                try:
                    base64.b64decode(image["bytesBase64Encoded"], validate=True)
                except ValueError:
                    return f"{key}: bytesBase64Encoded is not base64"
        if "lastFrame" in instance and not model.startswith("veo-3.1"):
            return f"lastFrame isn't supported by {model}"
        parameters = body.get("parameters") or {}
        unknown = set(parameters) - GEMINI_PARAMETERS
        if unknown:
            return f"{sorted(unknown)[0]} isn't supported by this model."
        if parameters.get("aspectRatio", "16:9") not in ("16:9", "9:16"):
            return "aspectRatio must be 16:9 or 9:16"
        durations = (5, 6, 7, 8) if model.startswith("veo-2") else (4, 6, 8)
        if parameters.get("durationSeconds", 8) not in durations:
            return "durationSeconds is out of range"
        resolution = parameters.get("resolution")
        if resolution is not None:
            if model.startswith("veo-2") or resolution not in ("720p", "1080p", "4k"):
                return "resolution isn't supported by this model"
            high = model.startswith("veo-3.1") and resolution != "720p"
            if high and parameters.get("durationSeconds") != 8:
                return "1080p and 4k need durationSeconds 8"
        person = parameters.get("personGeneration")
        if person is not None and model.startswith("veo-3"):
            allowed = "allow_adult" if "image" in instance else "allow_all"
            if person != allowed:
                return f"{person} for personGeneration is currently not supported."
        return ""

    def answer(self, call: Call) -> Answer:
        parts = call.path.split("?")[0].strip("/").split("/")
        if parts[:1] == ["storage"]:
            self.storage_keys.append(call.headers.get("x-goog-api-key", ""))
            return Answer(302, None, {"location": self.video_url})
        if call.headers.get("x-goog-api-key") != KEY:
            return self.error(
                400 if "x-goog-api-key" in call.headers else 403,
                "INVALID_ARGUMENT" if "x-goog-api-key" in call.headers else "PERMISSION_DENIED",
                "API key not valid. Please pass a valid API key.",
            )
        if parts[:1] != ["v1beta"]:
            return self.error(404, "NOT_FOUND", "Not found")
        if call.method == "POST" and len(parts) == 3 and parts[1] == "models":
            model, _, method = parts[2].partition(":")
            if method != "predictLongRunning" or not model.startswith("veo-"):
                return self.error(404, "NOT_FOUND", f"models/{model} is not found")
            problem = self.check_body(model, call.body)
            if problem:
                return self.error(400, "INVALID_ARGUMENT", problem)
            refused = self.submitted()
            if refused:
                return refused
            return Answer(200, {"name": f"models/{model}/operations/op{self.submits}"})
        if call.method == "GET" and len(parts) == 5 and parts[3] == "operations":
            flaky = self.flaky_poll()
            if flaky:
                return self.error(500, "INTERNAL", "Internal error")
            name = "/".join(parts[1:])
            state = self.progress(name)
            if state == "pending":
                return Answer(200, {"name": name, "metadata": {}})
            if state == "failed":
                return Answer(
                    200,
                    {"name": name, "done": True, "error": {"code": 13, "message": FAIL_MESSAGE}},
                )
            if self.mode == "refuse":
                video = {"raiMediaFilteredCount": 1, "raiMediaFilteredReasons": [RAI_REASON]}
            else:
                uri = f"{self.base_url}/v1beta/files/{parts[4]}:download?alt=media"
                video = {"generatedSamples": [{"video": {"uri": uri}}]}
            return Answer(
                200,
                {
                    "name": name,
                    "done": True,
                    "response": {
                        "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta."
                        "PredictLongRunningResponse",
                        "generateVideoResponse": video,
                    },
                },
            )
        if call.method == "GET" and len(parts) == 3 and parts[1] == "files":
            port = self.server.server_address[1]
            return Answer(302, None, {"location": f"http://localhost:{port}/storage/{parts[2]}"})
        return self.error(404, "NOT_FOUND", "Not found")


MINIMAX_MODELS: dict[str, tuple[bool, bool, bool]] = {
    "MiniMax-Hailuo-2.3": (True, True, False),
    "MiniMax-Hailuo-2.3-Fast": (False, True, False),
    "MiniMax-Hailuo-02": (True, True, True),
    "T2V-01-Director": (True, False, False),
    "I2V-01-Director": (False, True, False),
}
"""model -> (text, first frame, last frame), as MiniMax's reference lists them."""


class MiniMaxStandIn(StandIn):
    """MiniMax's video API: ``POST /v1/video_generation``, ``GET
    /v1/query/video_generation?task_id=``, ``GET /v1/files/retrieve?file_id=``; every answer
    carries ``base_resp``. Modes beyond the shared ones: ``refuse`` (the task fails with 1027,
    the output flagged as sensitive), ``broke`` (1008, insufficient balance, at submit)."""

    provider = "minimax"

    @staticmethod
    def resp(code: int = 0, message: str = "success", **data: Any) -> dict[str, Any]:
        return {**data, "base_resp": {"status_code": code, "status_msg": message}}

    def submitted(self) -> Answer | None:
        self.submits += 1
        if self.mode == "reject":
            return Answer(200, self.resp(2013, REJECT_MESSAGE))
        if self.mode == "broke":
            return Answer(200, self.resp(1008, "insufficient balance"))
        if self.mode == "flaky" and self.submits == 1:
            return Answer(200, self.resp(1002, "rate limit exceeded(RPM)"))
        if self.mode == "flaky" and self.submits == 2:
            return Answer(429, self.resp(1002, "rate limit"), {"retry-after": "3"})
        return None

    def check_body(self, body: Any) -> str:
        if not isinstance(body, dict):
            return "invalid params"
        allowed = {
            "model", "prompt", "first_frame_image", "last_frame_image", "duration",
            "resolution", "prompt_optimizer", "fast_pretreatment", "callback_url",
            "aigc_watermark", "subject_reference",
        }  # fmt: skip
        unknown = set(body) - allowed
        if unknown:
            return f"invalid params, unknown field {sorted(unknown)[0]}"
        model = body.get("model")
        if model not in MINIMAX_MODELS:
            return f"invalid params, model {model} not supported"
        text, image, last = MINIMAX_MODELS[model]
        if "first_frame_image" in body:
            if not image:
                return f"invalid params, {model} does not take first_frame_image"
            if not str(body["first_frame_image"]).startswith("data:image/"):
                return "invalid params, first_frame_image"
        elif not text:
            return "invalid params, first_frame_image is required"
        elif not body.get("prompt"):
            return "invalid params, prompt is required"
        if "last_frame_image" in body and not last:
            return f"invalid params, {model} does not take last_frame_image"
        if len(str(body.get("prompt", ""))) > 2000:
            return "invalid params, prompt is longer than 2000 characters"
        duration, resolution = body.get("duration", 6), body.get("resolution", "768P")
        if model.startswith("MiniMax-Hailuo"):
            if duration not in (6, 10) or resolution not in ("512P", "768P", "1080P"):
                return "invalid params, duration or resolution"
            if duration == 10 and resolution == "1080P":
                return "invalid params, 1080P supports 6 s only"
        elif duration != 6 or resolution != "720P":
            return "invalid params, duration or resolution"
        return ""

    def answer(self, call: Call) -> Answer:
        if call.headers.get("authorization") != f"Bearer {KEY}":
            return Answer(200, self.resp(1004, "login fail: Please carry the API secret key"))
        path, _, query = call.path.partition("?")
        if call.method == "POST" and path == "/v1/video_generation":
            problem = self.check_body(call.body)
            if problem:
                return Answer(200, self.resp(2013, problem))
            refused = self.submitted()
            if refused:
                return refused
            return Answer(200, self.resp(task_id=f"{106916112212 + self.submits}"))
        if call.method == "GET" and path == "/v1/query/video_generation":
            task = query.removeprefix("task_id=")
            flaky = self.flaky_poll()
            if flaky:
                return Answer(500, self.resp(1013, "internal service error"))
            state = self.progress(task)
            if state == "pending":
                status = ("Preparing", "Queueing", "Processing")[min(self.polls[task], 3) - 1]
                return Answer(200, self.resp(task_id=task, status=status, file_id=""))
            if state == "failed":
                return Answer(200, self.resp(1026, FAIL_MESSAGE, task_id=task, status="Fail"))
            if self.mode == "refuse":
                return Answer(
                    200, self.resp(1027, "output video sensitive", task_id=task, status="Fail")
                )
            return Answer(
                200,
                self.resp(
                    task_id=task, status="Success", file_id=f"f{task}", video_width=1366,
                    video_height=768,
                ),
            )  # fmt: skip
        if call.method == "GET" and path == "/v1/files/retrieve":
            file_id = query.removeprefix("file_id=")
            return Answer(
                200,
                self.resp(
                    file={
                        "file_id": file_id,
                        "bytes": len(self.video),
                        "created_at": 1700469398,
                        "filename": "output.mp4",
                        "purpose": "video_generation",
                        "download_url": self.video_url,
                    }
                ),
            )
        return Answer(404, self.resp(1000, "not found"))


STAND_INS.update({cls.provider: cls for cls in (GeminiStandIn, MiniMaxStandIn)})


# --- direct adapters: Seedance on BytePlus ModelArk, Wan on DashScope ---------------------

SEEDANCE_MODELS: dict[str, tuple[bool, bool, bool, bool]] = {
    "seedance-1-0-pro-250528": (True, True, True, True),
    "seedance-1-0-pro-fast-251015": (True, True, False, True),
    "seedance-1-0-lite-t2v-250428": (True, False, False, True),
    "seedance-1-0-lite-i2v-250428": (False, True, True, True),
    "seedance-1-5-pro-251215": (True, True, True, True),
}
"""model -> (text, first frame, last frame, camera_fixed), as ModelArk's model pages list them."""

SEEDANCE_BODY = frozenset(
    {
        "model", "content", "ratio", "duration", "frames", "resolution", "seed",
        "camera_fixed", "watermark", "generate_audio", "callback_url", "return_last_frame",
        "service_tier", "execution_expires_after", "draft",
    }
)  # fmt: skip
"""The create call's body fields (ModelArk's video-generation reference)."""


class SeedanceStandIn(StandIn):
    """BytePlus ModelArk's content generation tasks: ``POST /api/v3/contents/generations/tasks``,
    ``GET`` and ``DELETE`` of ``.../tasks/{id}``; errors as ``{"error": {"code", "message"}}``.
    A DELETE cancels a queued task only: a running one is refused with 400, as ModelArk does.
    Modes beyond the shared ones: ``refuse`` (the task fails with
    OutputVideoSensitiveContentDetected), ``quota`` (429 QuotaExceeded at submit), ``running``
    (polls answer running, so a cancel is refused)."""

    provider = "byteplus"
    path = "/api/v3/contents/generations/tasks"

    @staticmethod
    def error(
        status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> Answer:
        kind = {400: "BadRequest", 401: "Unauthorized", 404: "NotFound", 429: "TooManyRequests"}
        return Answer(
            status,
            {
                "error": {
                    "code": code,
                    "message": message,
                    "param": "",
                    "type": kind.get(status, ""),
                }
            },
            headers or {},
        )

    def submitted(self) -> Answer | None:
        self.submits += 1
        if self.mode == "reject":
            return self.error(400, "InvalidParameter", REJECT_MESSAGE)
        if self.mode == "quota":
            return self.error(429, "QuotaExceeded", "You have exceeded your free quota.")
        if self.mode == "flaky" and self.submits == 1:
            return self.error(500, "InternalServiceError", "The service encountered an error.")
        if self.mode == "flaky" and self.submits == 2:
            return self.error(
                429,
                "RateLimitExceeded.EndpointRPMExceeded",
                "The request rate exceeded the limit.",
                {"retry-after": "3"},
            )
        return None

    def check_body(self, body: Any) -> str:
        if not isinstance(body, dict):
            return "The request body is not valid JSON."
        unknown = set(body) - SEEDANCE_BODY
        if unknown:
            return f"The parameter `{sorted(unknown)[0]}` specified in the request is not valid"
        model = body.get("model")
        if model not in SEEDANCE_MODELS:
            return f"The model or endpoint {model} does not exist or you do not have access to it."
        text, image, last, fixed = SEEDANCE_MODELS[model]
        content = body.get("content")
        if not isinstance(content, list) or not content:
            return "The parameter `content` specified in the request is not valid"
        roles: list[str] = []
        for item in content:
            if item.get("type") == "text" and set(item) == {"type", "text"}:
                continue
            if item.get("type") != "image_url" or set(item) - {"type", "image_url", "role"}:
                return "The parameter `content.type` specified in the request is not valid"
            url = str((item.get("image_url") or {}).get("url", ""))
            if not (url.startswith("data:image/") and ";base64," in url) and not url.startswith(
                "https://"
            ):
                return "The parameter `content.image_url.url` specified in the request is not valid"
            roles.append(str(item.get("role", "first_frame")))
        if not roles and not text:
            return f"The model {model} requires an image input"
        if roles and not image:
            return f"The model {model} does not support image input"
        if roles not in ([], ["first_frame"], ["first_frame", "last_frame"]):
            return "The parameter `content.role` specified in the request is not valid"
        if len(roles) == 2 and not last:
            return f"The model {model} does not support the first-last-frame mode"
        if body.get("ratio", "16:9") not in (
            "16:9",
            "4:3",
            "1:1",
            "3:4",
            "9:16",
            "21:9",
            "adaptive",
        ):
            return "The parameter `ratio` specified in the request is not valid"
        if body.get("duration", 5) not in range(2 if "1-0" in model else 4, 13):
            return "The parameter `duration` specified in the request is not valid"
        if body.get("resolution", "720p") not in ("480p", "720p", "1080p"):
            return "The parameter `resolution` specified in the request is not valid"
        if "camera_fixed" in body and not fixed:
            return "The parameter `camera_fixed` is not supported by this model"
        if "generate_audio" in body and "1-5" not in model:
            return "The parameter `generate_audio` is not supported by this model"
        seed = body.get("seed", -1)
        if not isinstance(seed, int) or not -1 <= seed <= 2**32 - 1:
            return "The parameter `seed` specified in the request is not valid"
        return ""

    def task(self, tid: str, status: str, **extra: Any) -> dict[str, Any]:
        return {
            "id": tid,
            "model": "seedance-1-0-pro-250528",
            "status": status,
            "created_at": 1743414619,
            "updated_at": 1743414673,
            "seed": 10,
            "resolution": "720p",
            "ratio": "16:9",
            "duration": 5,
            "framespersecond": 24,
            **extra,
        }

    def answer(self, call: Call) -> Answer:
        if call.headers.get("authorization") != f"Bearer {KEY}":
            return self.error(
                401,
                "AuthenticationError",
                "The API key or AK/SK in the request is missing or invalid.",
            )
        if call.method == "POST" and call.path == self.path:
            problem = self.check_body(call.body)
            if problem:
                return self.error(400, "InvalidParameter", problem)
            refused = self.submitted()
            if refused:
                return refused
            return Answer(200, {"id": f"cgt-20250331175019-{self.submits:05d}"})
        if not call.path.startswith(self.path + "/"):
            return self.error(404, "NotFound", "Not found")
        tid = call.path.rsplit("/", 1)[1]
        if call.method == "DELETE":
            if self.mode == "running":
                return self.error(
                    400, "InvalidParameter", "The task is running and cannot be cancelled."
                )
            self.cancel(tid)
            return Answer(200, {})
        if call.method == "GET":
            flaky = self.flaky_poll()
            if flaky:
                return self.error(500, "InternalServiceError", "The service encountered an error.")
            state = self.progress(tid)
            if state == "pending":
                queued = self.mode != "running" and self.polls[tid] == 1
                return Answer(200, self.task(tid, "queued" if queued else "running"))
            if state == "failed":
                error = {"code": "InputImageSensitiveContentDetected", "message": FAIL_MESSAGE}
                return Answer(200, self.task(tid, "failed", error=error))
            if self.mode == "refuse":
                error = {
                    "code": "OutputVideoSensitiveContentDetected.PolicyViolation",
                    "message": "The request failed because the output video may be related to "
                    "copyright restrictions.",
                }
                return Answer(200, self.task(tid, "failed", error=error))
            return Answer(
                200,
                self.task(
                    tid,
                    "succeeded",
                    content={"video_url": self.video_url},
                    usage={"completion_tokens": 108900, "total_tokens": 108900},
                ),
            )
        return self.error(404, "NotFound", "Not found")


WAN_MODELS: dict[str, str] = {
    "wan2.2-i2v-plus": "i2v",
    "wan2.2-i2v-flash": "i2v",
    "wan2.5-i2v-preview": "i2v",
    "wan2.2-t2v-plus": "t2v",
    "wan2.5-t2v-preview": "t2v",
    "wan2.2-kf2v-flash": "kf2v",
    "wan2.1-kf2v-plus": "kf2v",
}
"""model -> kind, as Model Studio's Wan pages list them."""

WAN_SIZES = frozenset(
    {"832*480", "480*832", "624*624", "1280*720", "720*1280", "960*960", "1088*832", "832*1088",
     "1920*1080", "1080*1920", "1440*1440", "1632*1248", "1248*1632"}
)  # fmt: skip


class DashScopeStandIn(StandIn):
    """DashScope's async video synthesis: ``POST .../video-generation/video-synthesis`` (and
    ``.../image2video/video-synthesis`` for the keyframe models) with ``X-DashScope-Async:
    enable``, ``GET /api/v1/tasks/{id}``, ``POST /api/v1/tasks/{id}/cancel`` (PENDING tasks
    only); errors as ``{"request_id", "code", "message"}``. Modes beyond the shared ones:
    ``refuse`` (the task fails with DataInspectionFailed), ``broke`` (400 Arrearage)."""

    provider = "dashscope"

    @staticmethod
    def error(
        status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> Answer:
        body = {
            "request_id": "7574ee8f-38a3-4b1e-9280-11c33ab46e51",
            "code": code,
            "message": message,
        }
        return Answer(status, body, headers or {})

    def submitted(self) -> Answer | None:
        self.submits += 1
        if self.mode == "reject":
            return self.error(400, "InvalidParameter", REJECT_MESSAGE)
        if self.mode == "broke":
            return self.error(
                400,
                "Arrearage",
                "Access denied, please make sure your account is in good standing.",
            )
        if self.mode == "flaky" and self.submits == 1:
            return self.error(
                500, "InternalError", "An internal error has occured, please try again later."
            )
        if self.mode == "flaky" and self.submits == 2:
            return self.error(
                429,
                "Throttling.RateQuota",
                "Requests rate limit exceeded, please try again later.",
                {"retry-after": "3"},
            )
        return None

    def check_body(self, path: str, body: Any) -> str:
        if not isinstance(body, dict) or set(body) - {"model", "input", "parameters"}:
            return "The request body is malformed."
        model = body.get("model")
        if model not in WAN_MODELS:
            return f"Model not exist: {model}"
        kind = WAN_MODELS[model]
        keyframe_path = path == "/api/v1/services/aigc/image2video/video-synthesis"
        if keyframe_path != (kind == "kf2v"):
            return f"Model {model} is not supported by this API."
        data = body.get("input") or {}
        allowed = {"prompt", "negative_prompt"} | {
            "t2v": set(), "i2v": {"img_url"}, "kf2v": {"first_frame_url", "last_frame_url"}
        }[kind]  # fmt: skip
        unknown = set(data) - allowed
        if unknown:
            return f"input.{sorted(unknown)[0]} is not supported by {model}"
        for name in allowed - {"prompt", "negative_prompt"}:
            url = str(data.get(name, ""))
            if not url:
                return f"Field required: input.{name}"
            if not (url.startswith("data:image/") and ";base64," in url):
                return f"input.{name} is not a valid url or base64 image"
        if kind == "t2v" and not data.get("prompt"):
            return "Field required: input.prompt"
        if len(str(data.get("prompt", ""))) > 800:
            return "Range of input.prompt length should be [0, 800]"
        parameters = body.get("parameters") or {}
        known = {"duration", "seed", "prompt_extend", "watermark"}
        known |= {"size"} if kind == "t2v" else {"resolution"}
        if model.startswith("wan2.5"):
            known.add("audio")
        unknown = set(parameters) - known
        if unknown:
            return f"parameters.{sorted(unknown)[0]} is not supported by {model}"
        if "size" in parameters and parameters["size"] not in WAN_SIZES:
            return "parameters.size is invalid"
        if parameters.get("resolution", "720P") not in ("480P", "720P", "1080P"):
            return "parameters.resolution is invalid"
        durations = (5, 10) if model.startswith("wan2.5") else (5,)
        if parameters.get("duration", 5) not in durations:
            return "parameters.duration is invalid"
        seed = parameters.get("seed", 0)
        if not isinstance(seed, int) or not 0 <= seed <= 2147483647:
            return "Range of seed should be [0, 2147483647]"
        return ""

    def answer(self, call: Call) -> Answer:
        if call.headers.get("authorization") != f"Bearer {KEY}":
            return self.error(401, "InvalidApiKey", "Invalid API-key provided.")
        parts = call.path.strip("/").split("/")
        if call.method == "POST" and call.path.endswith("/video-synthesis"):
            if call.headers.get("x-dashscope-async") != "enable":
                return self.error(
                    403, "AccessDenied", "current user api does not support synchronous calls"
                )
            problem = self.check_body(call.path, call.body)
            if problem:
                return self.error(400, "InvalidParameter", problem)
            refused = self.submitted()
            if refused:
                return refused
            tid = f"0385dc79-5ff8-4d82-bcb6-5ed1b7c2{self.submits:04d}"
            return Answer(
                200,
                {"request_id": "4909100c", "output": {"task_id": tid, "task_status": "PENDING"}},
            )
        if (
            call.method == "POST"
            and parts[:3] == ["api", "v1", "tasks"]
            and parts[4:] == ["cancel"]
        ):
            if self.polls.get(parts[3], 0) > 1:
                return self.error(
                    400,
                    "UnsupportedOperation",
                    "Failed to cancel the task, please confirm if the task is in PENDING status.",
                )
            self.cancel(parts[3])
            return Answer(200, {"request_id": "4909100d"})
        if call.method == "GET" and parts[:3] == ["api", "v1", "tasks"] and len(parts) == 4:
            flaky = self.flaky_poll()
            if flaky:
                return self.error(
                    500, "InternalError", "An internal error has occured, please try again later."
                )
            tid = parts[3]
            state = self.progress(tid)
            output: dict[str, Any] = {"task_id": tid, "submit_time": "2025-09-25 11:07:28.590"}
            if state == "pending":
                output["task_status"] = "PENDING" if self.polls[tid] == 1 else "RUNNING"
            elif state == "failed":
                output.update(
                    task_status="FAILED",
                    code="InvalidParameter.DataInspection",
                    message=FAIL_MESSAGE,
                )
            elif self.mode == "refuse":
                output.update(
                    task_status="FAILED",
                    code="DataInspectionFailed",
                    message="Output data may contain inappropriate content.",
                )
            else:
                output.update(
                    task_status="SUCCEEDED",
                    video_url=self.video_url,
                    orig_prompt="",
                    actual_prompt="",
                )
                return Answer(
                    200,
                    {
                        "request_id": "x",
                        "output": output,
                        "usage": {"video_duration": 5, "video_ratio": "1280*720", "video_count": 1},
                    },
                )
            return Answer(200, {"request_id": "x", "output": output})
        return self.error(404, "NotFound", "Not found")


STAND_INS.update({cls.provider: cls for cls in (SeedanceStandIn, DashScopeStandIn)})


# --- direct adapters: PixVerse's platform API ---------------------------------------------

PIXVERSE_DURATIONS: dict[str, tuple[int, ...]] = {
    "v4": (5, 8),
    "v4.5": (5, 8),
    "v5": (5, 8),
    "v5.5": (5, 8, 10),
    "v5.6": (5, 8, 10),
    "v6": tuple(range(1, 16)),
    "c1": tuple(range(1, 16)),
}
"""model -> durations, as PixVerse's references list them."""

PIXVERSE_CAMERA = frozenset(
    {
        "horizontal_left", "horizontal_right", "vertical_up", "vertical_down", "zoom_in",
        "zoom_out", "auto_camera", "crane_up", "quickly_zoom_in", "quickly_zoom_out",
        "smooth_zoom_in", "camera_rotation", "robo_arm", "super_dolly_out", "whip_pan",
        "hitchcock", "left_follow", "right_follow", "pan_left", "pan_right", "fix_bg",
    }
)  # fmt: skip
PIXVERSE_OPTIONAL = frozenset(
    {
        "negative_prompt", "seed", "motion_mode", "camera_movement", "style", "template_id",
        "sound_effect_switch", "sound_effect_content", "generate_audio_switch",
        "lip_sync_switch", "lip_sync_tts_switch", "lip_sync_tts_content",
        "lip_sync_tts_speaker_id", "water_mark",
    }
)  # fmt: skip
PIXVERSE_REQUIRED: dict[str, frozenset[str]] = {
    "text": frozenset({"aspect_ratio", "duration", "model", "prompt", "quality"}),
    "img": frozenset({"duration", "img_id", "model", "prompt", "quality"}),
    "transition": frozenset(
        {"duration", "first_frame_img", "last_frame_img", "model", "prompt", "quality"}
    ),
}


class PixVerseStandIn(StandIn):
    """PixVerse's platform API: ``POST /openapi/v2/image/upload`` (multipart ``image``),
    ``POST /openapi/v2/video/{text,img,transition}/generate``, ``GET
    /openapi/v2/video/result/{id}``; answers ``{"ErrCode", "ErrMsg", "Resp"}``. Every request
    needs ``API-KEY`` and an ``Ai-trace-id`` never used before (a reused one is refused here;
    the real API leaves such a job stuck). Modes beyond the shared ones: ``refuse`` (status 7,
    moderation), ``busy`` (ErrCode 500044, the concurrency limit, on the first submit)."""

    provider = "pixverse"

    def __init__(self, mode: str = "success", pending_polls: int = 1) -> None:
        super().__init__(mode, pending_polls)
        self.traces: set[str] = set()
        self.images: dict[int, bytes] = {}

    @staticmethod
    def resp(code: int = 0, message: str = "success", **data: Any) -> dict[str, Any]:
        return {"ErrCode": code, "ErrMsg": message, "Resp": data or None}

    def check_body(self, kind: str, body: Any) -> str:
        if not isinstance(body, dict):
            return "invalid param"
        missing = PIXVERSE_REQUIRED[kind] - set(body)
        if missing:
            return f"invalid param: {sorted(missing)[0]} is required"
        unknown = set(body) - PIXVERSE_REQUIRED[kind] - PIXVERSE_OPTIONAL
        if unknown:
            return f"invalid param: unknown field {sorted(unknown)[0]}"
        model = body["model"]
        if model not in PIXVERSE_DURATIONS:
            return f"invalid param: model {model}"
        if body["duration"] not in PIXVERSE_DURATIONS[model]:
            return f"invalid param: duration {body['duration']} on {model}"
        if body["quality"] not in ("360p", "540p", "720p", "1080p"):
            return "invalid param: quality"
        if not str(body["prompt"]).strip() or len(str(body["prompt"])) > 2048:
            return "invalid param: prompt"
        if "camera_movement" in body and (
            model not in ("v4", "v4.5") or body["camera_movement"] not in PIXVERSE_CAMERA
        ):
            return f"invalid param: camera_movement on {model}"
        if kind == "text" and body["aspect_ratio"] not in ("16:9", "4:3", "1:1", "3:4", "9:16"):
            return "invalid param: aspect_ratio"
        for name in ("img_id", "first_frame_img", "last_frame_img"):
            if name in body and body[name] not in self.images:
                return f"invalid param: {name} {body[name]} was never uploaded"
        return ""

    def answer(self, call: Call) -> Answer:
        if call.headers.get("api-key") != KEY:
            return Answer(200, self.resp(400012, "Invalid account"))
        trace = call.headers.get("ai-trace-id", "")
        if not trace or trace in self.traces:
            return Answer(200, self.resp(400013, f"Ai-trace-id {trace!r} missing or reused"))
        self.traces.add(trace)
        if call.method == "POST" and call.path == "/openapi/v2/image/upload":
            image = (call.body or {}).get("multipart", {}).get("image", b"")
            if not image.startswith((b"\x89PNG", b"\xff\xd8")):
                return Answer(200, self.resp(400017, "invalid param: image"))
            img_id = 600000 + len(self.images) + 1
            self.images[img_id] = image
            return Answer(200, self.resp(img_id=img_id, img_url=f"{self.base_url}/i/{img_id}"))
        parts = call.path.split("/")
        if call.method == "POST" and len(parts) == 6 and parts[5] == "generate":
            kind = parts[4]
            if kind not in PIXVERSE_REQUIRED:
                return Answer(404, self.resp(404, "not found"))
            problem = self.check_body(kind, call.body)
            if problem:
                return Answer(200, self.resp(400017, problem))
            self.submits += 1
            if self.mode == "reject":
                return Answer(200, self.resp(400017, REJECT_MESSAGE))
            if self.mode == "busy" and self.submits == 1:
                return Answer(200, self.resp(500044, "concurrent generations limit reached"))
            if self.mode == "flaky" and self.submits == 1:
                return Answer(500, {"ErrCode": 500, "ErrMsg": "Internal Server Error"})
            return Answer(200, self.resp(video_id=318000000000 + self.submits))
        if call.method == "GET" and call.path.startswith("/openapi/v2/video/result/"):
            job = call.path.rsplit("/", 1)[1]
            flaky = self.flaky_poll()
            if flaky:
                return Answer(500, {"ErrCode": 500, "ErrMsg": "Internal Server Error"})
            state = self.progress(job)
            status = 5 if state == "pending" else 8 if state == "failed" else 1
            if status == 1 and self.mode == "refuse":
                status = 7
            url = self.video_url if status == 1 else ""
            return Answer(
                200, self.resp(id=int(job), status=status, url=url, seed=1234, outputWidth=64)
            )
        return Answer(404, self.resp(404, "not found"))


STAND_INS[PixVerseStandIn.provider] = PixVerseStandIn


# --- direct adapters: Vidu's platform API -------------------------------------------------

VIDU_MODELS: dict[str, tuple[frozenset[str], tuple[int, ...], tuple[str, ...]]] = {
    "viduq2-pro": (
        frozenset({"img2video", "start-end2video"}),
        tuple(range(1, 11)),
        ("540p", "720p", "1080p"),
    ),
    "viduq2": (frozenset({"text2video"}), tuple(range(1, 11)), ("540p", "720p", "1080p")),
    "viduq1": (frozenset({"text2video", "img2video", "start-end2video"}), (5,), ("1080p",)),
    "vidu2.0": (frozenset({"img2video", "start-end2video"}), (4, 8), ("360p", "720p", "1080p")),
}
"""model -> (endpoints, durations, resolutions), as Vidu's references list them."""

VIDU_FIELDS = frozenset(
    {
        "model", "prompt", "images", "duration", "seed", "resolution", "movement_amplitude",
        "bgm", "payload", "off_peak", "watermark", "wm_position", "wm_url", "meta_data",
        "callback_url", "audio", "voice_id", "is_rec", "style", "aspect_ratio",
    }
)  # fmt: skip


class ViduStandIn(StandIn):
    """Vidu's platform API: ``POST /ent/v2/{text2video,img2video,start-end2video}``, ``GET
    /ent/v2/tasks/{id}/creations``, ``POST /ent/v2/tasks/{id}/cancel``; errors as ``{"code",
    "reason", "message"}``. Modes beyond the shared ones: ``refuse`` (the task fails with
    CreationPolicyViolation), ``broke`` (400 CreditInsufficient at submit)."""

    provider = "vidu"

    @staticmethod
    def error(status: int, reason: str, message: str) -> Answer:
        return Answer(status, {"code": status, "reason": reason, "message": message})

    def check_body(self, endpoint: str, body: Any) -> Answer | None:
        if not isinstance(body, dict):
            return self.error(400, "BadRequest", "body is not JSON")
        unknown = set(body) - VIDU_FIELDS
        if unknown:
            return self.error(400, "FieldUnwanted", f"field {sorted(unknown)[0]} is not allowed")
        model = body.get("model")
        if model not in VIDU_MODELS:
            return self.error(400, "FieldInvalid", f"model {model} is invalid")
        endpoints, durations, resolutions = VIDU_MODELS[model]
        if endpoint not in endpoints:
            return self.error(400, "FieldInvalid", f"model {model} does not support {endpoint}")
        images = body.get("images", [])
        wanted = {"text2video": 0, "img2video": 1, "start-end2video": 2}[endpoint]
        if len(images) != wanted:
            return self.error(400, "FieldItemCountOutOfRange", f"images must hold {wanted}")
        if any(not str(i).startswith("data:image/") for i in images):
            return self.error(400, "ImageFormatInvalid", "images must be URLs or data URIs")
        if endpoint == "text2video" and not body.get("prompt"):
            return self.error(400, "FieldLacking", "prompt is required")
        if "aspect_ratio" in body and endpoint != "text2video":
            return self.error(400, "FieldUnwanted", f"aspect_ratio is not allowed on {endpoint}")
        if body.get("duration", durations[0]) not in durations:
            return self.error(400, "FieldInvalid", f"duration on {model}")
        if body.get("resolution", resolutions[0]) not in resolutions:
            return self.error(400, "FieldInvalid", f"resolution on {model}")
        if body.get("movement_amplitude", "auto") not in ("auto", "small", "medium", "large"):
            return self.error(400, "FieldInvalid", "movement_amplitude")
        return None

    def answer(self, call: Call) -> Answer:
        if call.headers.get("authorization") != f"Token {KEY}":
            return self.error(401, "Unauthorized", "invalid token")
        parts = call.path.split("/")
        if call.method == "POST" and len(parts) == 4 and parts[1:3] == ["ent", "v2"]:
            problem = self.check_body(parts[3], call.body)
            if problem:
                return problem
            self.submits += 1
            if self.mode == "reject":
                return self.error(400, "FieldInvalid", REJECT_MESSAGE)
            if self.mode == "broke":
                return self.error(400, "CreditInsufficient", "credit insufficient")
            if self.mode == "flaky" and self.submits == 1:
                return self.error(500, "InternalServiceFailure", "internal error")
            if self.mode == "flaky" and self.submits == 2:
                return Answer(
                    429,
                    {"code": 429, "reason": "TooManyRequests", "message": "slow down"},
                    {"retry-after": "3"},
                )
            body = call.body
            return Answer(
                200,
                {**body, "task_id": f"78{self.submits:04d}", "state": "created", "credits": 20},
            )
        if len(parts) == 6 and parts[1:4] == ["ent", "v2", "tasks"]:
            job = parts[4]
            if call.method == "POST" and parts[5] == "cancel":
                self.cancel(job)
                return Answer(200, {})
            if call.method == "GET" and parts[5] == "creations":
                flaky = self.flaky_poll()
                if flaky:
                    return self.error(500, "InternalServiceFailure", "internal error")
                state = self.progress(job)
                if state == "pending":
                    step = ("created", "queueing", "processing")[min(self.polls[job], 3) - 1]
                    return Answer(200, {"id": job, "state": step, "creations": []})
                if state == "failed" or self.mode == "refuse":
                    reason = "CreationPolicyViolation" if self.mode == "refuse" else FAIL_MESSAGE
                    return Answer(200, {"id": job, "state": "failed", "err_code": reason})
                creation = {
                    "id": "c1",
                    "url": self.video_url,
                    "cover_url": "",
                    "watermarked_url": "",
                }
                return Answer(
                    200, {"id": job, "state": "success", "credits": 20, "creations": [creation]}
                )
        return self.error(404, "NotFound", "not found")


STAND_INS[ViduStandIn.provider] = ViduStandIn
