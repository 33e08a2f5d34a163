"""Batches through the Python client and ``kinora batch``, against a real server."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from kinora import AsyncClient, Client, MediaItem
from kinora.client import APIError, Batch
from tests.conftest import KINORA, LiveServer, kinora_env

# The text engine at 1 s: the quickest render (1 credit each).
ITEMS: list[dict[str, Any]] = [
    {"prompt": "rain on a window", "duration": 1},
    {"prompt": "a lighthouse at dusk", "duration": 1, "metadata": {"row": 2}},
]


def test_create_and_wait_for_a_batch(live: LiveServer) -> None:
    seen: list[Batch] = []
    with Client(live.base_url, live.key(credits=10)) as client:
        made = client.create_batch(ITEMS, metadata={"job": "july"}, idempotency_key="b-1")
        assert made.id and made.size == 2 and made.credits_charged == 2
        assert [item.index for item in made.items] == [0, 1]
        assert client.credits() == 8
        again = client.create_batch(ITEMS, metadata={"job": "july"}, idempotency_key="b-1")
        assert again.id == made.id and client.credits() == 8  # a retry: made and charged once

        done = client.wait_batch(made.id, on_progress=seen.append, poll_interval=0.1, timeout=120)
        assert done.status == "success" and done.done
        assert done.finished == 2 and done.progress_percentage == 100
        assert done.counts == {"success": 2} and done.raw["metadata"] == {"job": "july"}
        assert done.media_ids == made.media_ids
        assert all(item.status == "success" for item in done.items)
        for media_id in done.media_ids:
            media = client.get(media_id)
            assert media.status == "success" and media.raw["batch_id"] == made.id
        assert client.get(done.media_ids[1]).raw["metadata"] == {"row": 2}
        assert seen[-1] == done
        assert [b.id for b in client.list_batches(limit=5)] == [made.id]
        assert client.cancel_batch(made.id).status == "success"  # ended ones stay as they are
        assert client.get_batch(made.id).status == "success"
        with pytest.raises(APIError) as caught:
            client.get_batch("no-such-batch")
        assert caught.value.http_status == 404


def test_a_dry_run_prices_and_creates_nothing(live: LiveServer) -> None:
    with Client(live.base_url, live.key(credits=10)) as client:
        priced = client.create_batch(
            [*ITEMS, {"prompt": "fog", "duration": 6}],  # 6 s: 2 credits
            dry_run=True,
        )
        assert priced.credits_required == 4 and priced.id == "" and priced.size == 3
        assert client.credits() == 10 and client.list().items == []
        with pytest.raises(APIError) as caught:  # the server's check, naming the item
            client.create_batch([ITEMS[0], {"prompt": "x", "camera_control": "Sideways"}])
        assert caught.value.http_status == 422 and "items.1" in str(caught.value)
        assert client.credits() == 10 and client.list().items == []


def test_async_client_batches(live: LiveServer) -> None:
    async def main() -> None:
        async with AsyncClient(live.base_url, live.key(credits=10)) as client:
            priced = await client.create_batch(ITEMS, dry_run=True)
            assert priced.credits_required == 2
            made = await client.create_batch(ITEMS[:1])
            percentages: list[int] = []

            async def on_progress(batch: Batch) -> None:
                percentages.append(batch.progress_percentage)

            done = await client.wait_batch(made.id, on_progress=on_progress, poll_interval=0.1)
            assert done.status == "success" and percentages[-1] == 100
            assert (await client.get_batch(made.id)).media_ids == made.media_ids

    asyncio.run(main())


def test_batch_items_are_checked_and_sent_as_json() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"data": {"credits_required": 3}})

    client = Client("http://kinora.test", "kin_x", transport=httpx.MockTransport(handler))
    cases: list[tuple[Any, str]] = [
        ([{"negative_promt": "x"}], "batch item 0: create() got an unexpected keyword"),
        ([{"prompt": "a"}, {"image_files": ["a.png"]}], "batch item 1: a batch takes image URLs"),
        ([{"prompt": "a", "duration": "long", "quantity": [1]}], "quantity must be an int"),
        (["just a prompt"], "batch item 0 must be a mapping"),
        ({"prompt": "a"}, "takes a list of create-field mappings"),
    ]
    for items, message in cases:
        with pytest.raises(TypeError) as caught:
            client.create_batch(items)
        assert message in str(caught.value), (items, caught.value)
    assert sent == []

    priced = client.create_batch(
        [
            {"prompt": "a", "camera": "Zoom in", "native_audio": False, "seed": 3},
            {"image_urls": "https://a/1.png", "media_items": MediaItem.image("https://a/2.png")},
        ],
        webhook_url="https://a/hook",
        metadata={"job": 1},
        dry_run=True,
        idempotency_key="k-1",
    )
    assert priced.credits_required == 3 and priced.size == 2
    request = sent[0]
    assert request.url.path == "/media/batch" and request.url.params["dry_run"] == "true"
    assert request.headers["Idempotency-Key"] == "k-1"
    assert json.loads(request.content) == {
        "items": [
            {"prompt": "a", "camera_control": "Zoom in", "native_audio": False, "seed": 3},
            {
                "image_urls": ["https://a/1.png"],
                "media_items": [{"type": "image", "url": "https://a/2.png", "position": "First"}],
            },
        ],
        "webhook_url": "https://a/hook",
        "metadata": {"job": 1},
    }


def _kinora(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KINORA, *args], env=env, capture_output=True, text=True, timeout=180)


def test_cli_batch(live: LiveServer, tmp_path: Path) -> None:
    env = {
        **kinora_env(tmp_path / "cli"),
        "KINORA_SERVER": live.base_url,
        "KINORA_API_KEY": live.key(credits=10),
    }
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps(ITEMS))
    priced = _kinora(env, "batch", str(listed), "--dry-run")
    assert priced.returncode == 0, priced.stderr
    assert json.loads(priced.stdout) == {"credits_required": 2} and "2 credits" in priced.stderr

    wrapped = tmp_path / "batch.json"
    wrapped.write_text(json.dumps({"items": ITEMS, "metadata": {"from": "cli"}}))
    done = _kinora(env, "batch", str(wrapped), "--wait")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["status"] == "success" and shown["finished"] == 2
    assert shown["metadata"] == {"from": "cli"}
    assert f"batch {shown['id']}" in done.stderr
    with Client(live.base_url, env["KINORA_API_KEY"]) as client:
        assert client.get_batch(shown["id"]).status == "success"
        assert client.credits() == 8

    made = _kinora(env, "batch", str(listed))
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["size"] == 2

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"items": [{"prompt": "x", "bogus": 1}]}))
    refused = _kinora(env, "batch", str(bad))
    assert refused.returncode == 2 and "bogus" in refused.stderr
    bad.write_text('{"rows": []}')
    assert _kinora(env, "batch", str(bad)).returncode == 2
