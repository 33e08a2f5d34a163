"""What an attack with a valid key found (issue 21, hardening): the data side.

Webhook URLs that can never be delivered are not retried; webhook secrets are sealed at rest
(and plain ones sealed on start); signed links die when their media is made private; GIFs are
never made wider than their video; every URL field refuses the short address spellings. The
real ASGI app, database and storage; the other classes of the attack (embedded IPv4, webhook
spellings at create, file modes, GIF snapping, CSP, /health, q wildcards, the seed's range)
are in test_hardening_inputs.py and test_hardening_operator.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from alembic import command
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from kinora.db.models import SECRET_BOX, Customer, Media, MediaStatus, secret_box
from kinora.db.sealed import PREFIX, SecretBox, Unsealable
from kinora.db.session import Database, alembic_config, seal_plain_secrets, upgrade
from kinora.domain import webhooks
from kinora.domain.renditions import GIF_WIDTHS
from tests.conftest import Api
from tests.reliability.test_bad_inputs import Corpus, corpus_api, fake_dns  # noqa: F401
from tests.test_webhooks import Receiver, receivers, secret_of  # noqa: F401

# --------------------------------------------------------------------------- webhook delivery

NEVER_DELIVERABLE = [
    "http://[::1/hook",  # malformed host
    "http://256.0.0.1/hook",  # malformed IPv4
    "ftp://hooks.example/x",  # another scheme
    "http://user:pw@hooks.example/x",  # credentials
    "http://127.1:9/hook",  # loopback, short spelling
    "http://0x7f000001:9/hook",
    "http://[64:ff9b::7f00:1]:9/hook",  # NAT64 of loopback
    "http://private.example:9/hook",  # a name resolving to a private address
]


def _queued_webhooks(api: Api, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    queued: list[tuple[Any, ...]] = []

    def spy(webhook_id: str, url: str, payload: Any, attempt: int, *, delay: float = 0) -> None:
        queued.append((webhook_id, url, attempt, delay))

    monkeypatch.setattr(api.runtime.queue, "webhook", spy)
    return queued


def test_undeliverable_webhook_urls_fail_at_once_without_retries(
    api_factory: Callable[..., Api],
    monkeypatch: pytest.MonkeyPatch,
    fake_dns: dict[str, list[str]],  # noqa: F811
) -> None:
    """A stored URL the create check would refuse today (a row from before the check, or a
    redelivery) fails for good on its first attempt instead of being retried for 18 hours."""
    api = api_factory(workers=0)
    fake_dns["private.example"] = ["10.0.0.7"]
    queued = _queued_webhooks(api, monkeypatch)
    payload = {"customer_id": api.customer_id, "media_id": "med_x", "status": "success"}
    for url in NEVER_DELIVERABLE:
        record = webhooks.deliver(
            api.runtime, webhook_id=f"msg_{uuid.uuid4().hex}", url=url, payload=payload, attempt=1
        )
        assert record.outcome == "failed", (url, record.error)
        assert record.error, url
    assert queued == []


def test_a_network_failure_is_still_retried(
    api_factory: Callable[..., Api],
    monkeypatch: pytest.MonkeyPatch,
    fake_dns: dict[str, list[str]],  # noqa: F811
) -> None:
    """The control: a name that does not resolve (yet) is worth another attempt."""
    api = api_factory(workers=0)
    queued = _queued_webhooks(api, monkeypatch)
    payload = {"customer_id": api.customer_id, "media_id": "med_x", "status": "success"}
    record = webhooks.deliver(
        api.runtime,
        webhook_id="msg_retry",
        url="http://nowhere.example/hook",
        payload=payload,
        attempt=1,
    )
    assert record.outcome == "retrying", record.error
    assert [q[2] for q in queued] == [2]


# --------------------------------------------------------------------------- sealed secrets


def _raw_secrets(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT webhook_secret FROM customers")]


def test_webhook_secrets_are_sealed_at_rest(tmp_path: Path) -> None:
    path = tmp_path / "kinora.db"
    url = f"sqlite:///{path}"
    key = b"k" * 32
    upgrade(url, secret_key=key)
    db = Database(url, secret_key=key)
    secret = webhooks.new_secret()
    with db.session() as s:
        s.add(Customer(id="cus_1", name="a", credits=0, webhook_secret=secret))
    (raw,) = _raw_secrets(path)
    assert raw.startswith(PREFIX) and secret not in raw
    assert secret.encode() not in path.read_bytes()
    assert secret.removeprefix("whsec_").encode() not in path.read_bytes()
    with db.sessions() as s:  # whole rows and single columns read back plain
        assert s.get(Customer, "cus_1").webhook_secret == secret  # type: ignore[union-attr]
        assert s.scalar(select(Customer.webhook_secret)) == secret
    db.dispose()
    # Another key cannot open it (and nothing fails for it: the secret reads as none).
    other = Database(url, secret_key=b"x" * 32)
    with other.sessions() as s:
        assert s.scalar(select(Customer.webhook_secret)) == ""
    other.dispose()


def test_sealing_detects_tampering() -> None:
    box = SecretBox(b"key")
    sealed = box.seal("whsec_abc")
    assert box.open(sealed) == "whsec_abc"
    assert box.seal("whsec_abc") != sealed  # a fresh nonce each time
    flipped = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    for bad in (flipped, PREFIX + "!!", PREFIX, "whsec_abc"):
        with pytest.raises(Unsealable):
            box.open(bad)
    with pytest.raises(Unsealable):
        SecretBox(b"other").open(sealed)


def test_plain_secrets_are_sealed_on_start(tmp_path: Path) -> None:
    """A database from before sealing (schema 0005, plain secrets) is migrated and its
    secrets sealed on the first start with a key, and only once."""
    path = tmp_path / "kinora.db"
    url = f"sqlite:///{path}"
    command.upgrade(alembic_config(url), "0005")
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO customers (id, name, credits, webhook_secret, created_at) "
            "VALUES ('cus_old', 'old', 0, 'whsec_plain0123456789', '2026-01-01 00:00:00'),"
            " ('cus_none', 'none', 0, '', '2026-01-01 00:00:00')"
        )
    key = b"s" * 32
    upgrade(url, secret_key=key)
    raw = dict(zip(("cus_old", "cus_none"), _raw_secrets(path), strict=True))
    assert raw["cus_old"].startswith(PREFIX) and raw["cus_none"] == ""
    upgrade(url, secret_key=key)  # idempotent: sealed values are not sealed twice
    assert _raw_secrets(path)[0] == raw["cus_old"]
    db = Database(url, secret_key=key)
    with db.sessions() as s:
        assert s.get(Customer, "cus_old").webhook_secret == "whsec_plain0123456789"  # type: ignore[union-attr]
        media_columns = s.connection().exec_driver_sql("PRAGMA table_info(media)").all()
    assert "link_version" in {c[1] for c in media_columns}
    db.dispose()


def test_sealed_secrets_still_sign_deliveries(
    api_factory: Callable[..., Api],
    receivers: Callable[..., Receiver],  # noqa: F811
) -> None:
    """A customer's secret sealed at rest (the app's database given the key, as build_runtime
    does with the runtime.py change) still reads back plain where it is used: the
    /webhooks/secret answer and the signature of a delivery to a loopback receiver."""
    api = api_factory(workers=0, allow_private_urls=True)
    db = api.runtime.db
    plain = secret_of(api)
    if secret_box(db.engine.dialect) is None:  # not yet wired in build_runtime
        setattr(db.engine.dialect, SECRET_BOX, SecretBox(api.settings.signing_key()))
        assert seal_plain_secrets(db) == 1
    (raw,) = _raw_secrets(api.settings.data_dir / "kinora.db")
    assert raw.startswith(PREFIX) and plain not in raw
    assert secret_of(api) == plain
    receiver = receivers([200])
    payload = {"customer_id": api.customer_id, "media_id": "med_x", "status": "success"}
    record = webhooks.deliver(
        api.runtime, webhook_id="msg_sealed", url=receiver.url, payload=payload, attempt=1
    )
    assert record.outcome == "delivered", record.error
    headers, body = receiver.calls[0]
    assert Webhook(plain).verify(body, headers)["media_id"] == "med_x"


# --------------------------------------------------------------------------- link revocation


def test_build_runtime_wires_link_versions_and_sealing(api_factory: Callable[..., Api]) -> None:
    api = api_factory(workers=0)
    assert api.runtime.signer.versions is not None
    assert secret_box(api.runtime.db.engine.dialect) is not None


def _finished_media(api: Api, visibility: str) -> str:
    """A finished media with stored files, written directly (no render needed for links)."""
    media_id = f"med_{uuid.uuid4().hex[:12]}"
    prefix = f"{api.customer_id}/{media_id}/v1"
    api.runtime.storage.put_bytes(f"{prefix}/video_0.mp4", b"not really a video")
    api.runtime.storage.put_bytes(f"{prefix}/thumb_0.jpg", b"not really a jpeg")
    with api.runtime.db.session() as s:
        s.add(
            Media(
                id=media_id,
                customer_id=api.customer_id,
                visibility_status=visibility,
                status=MediaStatus.SUCCESS,
                result=[
                    {
                        "key": f"{prefix}/video_0.mp4",
                        "thumbnail_key": f"{prefix}/thumb_0.jpg",
                        "index": 0,
                        "seed": 1,
                        "width": 256,
                        "height": 144,
                        "duration": 1.0,
                    }
                ],
            )
        )
    return media_id


def _links(api: Api, media_id: str) -> list[str]:
    r = api.client.get(f"/media/{media_id}", headers=api.headers())
    assert r.status_code == 200, r.text
    item = r.json()["data"]["result"][0]
    return [item["url"], item["thumbnail_url"]]


def _get(api: Api, link: str) -> int:
    parts = urlsplit(link)
    return api.client.get(f"{parts.path}?{parts.query}").status_code


def test_signed_links_die_when_the_media_is_made_private(api_factory: Callable[..., Api]) -> None:
    api = api_factory(workers=0)
    media_id = _finished_media(api, "2")
    shared = _links(api, media_id)
    assert [_get(api, link) for link in shared] == [200, 200]
    r = api.client.put(f"/media/{media_id}", data={"title": "renamed"}, headers=api.headers())
    assert r.status_code == 200, r.text
    assert [_get(api, link) for link in shared] == [200, 200]  # other edits revoke nothing
    r = api.client.put(f"/media/{media_id}", data={"visibility_status": "0"}, headers=api.headers())
    assert r.status_code == 200, r.text
    assert [_get(api, link) for link in shared] == [404, 404]
    fresh = _links(api, media_id)  # the owner's new links work
    assert fresh != shared and [_get(api, link) for link in fresh] == [200, 200]
    r = api.client.put(f"/media/{media_id}", data={"visibility_status": "2"}, headers=api.headers())
    assert r.status_code == 200, r.text
    assert [_get(api, link) for link in shared] == [404, 404]  # revoked for good
    assert [_get(api, link) for link in fresh] == [200, 200]


def test_links_of_a_never_private_media_are_unchanged(api_factory: Callable[..., Api]) -> None:
    """Version 0 signs as links always did: links handed out before versions still work."""
    api = api_factory(workers=0)
    media_id = _finished_media(api, "1")
    link = _links(api, media_id)[0]
    key = urlsplit(link).path.removeprefix("/files/")
    query = dict(p.split("=", 1) for p in urlsplit(link).query.split("&"))
    old_style = hmac.new(
        api.settings.signing_key(), f"{key}\n{query['expires']}".encode(), hashlib.sha256
    ).hexdigest()
    assert query["signature"] == old_style


# --------------------------------------------------------------------------- GIF widths


def test_gifs_are_never_wider_than_the_video(
    api_factory: Callable[..., Api], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kinora.api import downloads

    api = api_factory(workers=0)
    media_id = _finished_media(api, "2")  # a 256-wide video
    made: list[Any] = []

    def ensure(runtime: Any, rendition: Any) -> bool:
        made.append(rendition)
        runtime.storage.put_bytes(rendition.key, b"GIF89a")
        return True

    monkeypatch.setattr(downloads, "ensure_rendition", ensure)
    url = f"/media/{media_id}/download"
    for width in (241, 300, 480, 960, 3840, None):
        params: dict[str, Any] = {"object_type": "bullet_video_gif"}
        if width is not None:
            params["width"] = width
        r = api.client.get(url, params=params, headers=api.headers())
        assert r.status_code == 200, r.text
    assert {m.width for m in made} == {240}, [m.width for m in made]
    assert all(m.width in GIF_WIDTHS for m in made)


# --------------------------------------------------------------------------- every URL field


SHORT_LOOPBACK = ["127.1", "0x7f000001", "2130706433", "0177.0.0.1", "0", "[::ffff:0:7f00:1]"]


def test_every_url_field_refuses_short_address_spellings(api_factory: Callable[..., Api]) -> None:
    api = corpus_api(api_factory)
    corpus = Corpus(api)
    for host in SHORT_LOOPBACK:
        url = f"http://{host}:9/x.png"
        corpus.expect_4xx(f"image_urls {host}", corpus.post(data={"image_urls": url}))
        items = json.dumps([{"type": "image", "url": url}])
        corpus.expect_4xx(f"media_items {host}", corpus.post(data={"media_items": items}))
        corpus.expect_4xx(
            f"webhook_url {host}",
            corpus.post(data={"prompt": "x", "webhook_url": url}),
            statuses=(422,),
            reason="webhook_url",
        )
