"""The web studio end to end, in Debian's Chromium: upload, Orbit right, live progress, play,
download, regenerate with another camera path, delete; then the same page on a phone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import TESTDATA, LiveServer
from tests.studio.conftest import publish

PHOTO = TESTDATA / "chelsea.png"
SECOND = TESTDATA / "coffee.png"
RENDER = 60_000  # ms: a render on a loaded 2-core machine
STEP = 20_000


def _page(browser: Any, server: LiveServer, width: int, height: int) -> Any:
    context = browser.new_context(
        viewport={"width": width, "height": height},
        device_scale_factor=1,
        accept_downloads=True,
        base_url=server.base_url,
    )
    page = context.new_page()
    page.set_default_timeout(STEP)
    return page


def _api(server: LiveServer, key: str, path: str) -> httpx.Response:
    return httpx.get(f"{server.base_url}{path}", headers={"X-Api-Key": key}, timeout=10)


def _seen(page: Any) -> list[int]:
    raw = page.locator("#progress").get_attribute("data-seen") or ""
    return [int(v) for v in raw.split(",") if v]


def _shot(page: Any, path: Path, *, top: bool = False) -> None:
    """A clean screenshot: no passing toast, optionally scrolled to the top."""
    page.evaluate("document.getElementById('toast').hidden = true")
    if top:
        page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=path)


def _wait_done(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#cur-status")).to_have_text("Done", timeout=RENDER)
    expect(page.get_by_role("progressbar", name="Progress")).to_have_attribute(
        "aria-valuenow", "100"
    )


def _wait_playing(page: Any) -> float:
    """The inline video has loaded: its element reports a finite, positive duration."""
    page.wait_for_function(
        "() => { const v = document.querySelector('#results video');"
        " return !!v && Number.isFinite(v.duration) && v.duration > 0 && v.readyState >= 2; }",
        timeout=STEP,
    )
    duration: float = page.evaluate("document.querySelector('#results video').duration")
    return duration


def test_studio_create_play_download_regenerate_delete(
    studio_server: LiveServer, browser: Any, shots: Path
) -> None:
    from playwright.sync_api import expect

    server = studio_server
    key = server.key(credits=20)
    page = _page(browser, server, 1280, 900)
    page.goto("/studio")
    expect(page.get_by_role("heading", name="Create")).to_be_visible()

    # A wrong key is refused, visibly; the right one shows the balance.
    page.get_by_label("API key").fill("not-a-key")
    page.get_by_role("button", name="Save key").click()
    expect(page.get_by_role("alert")).to_contain_text("API key was not accepted (401)")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Save key").click()
    expect(page.locator("#credits")).to_have_text("20")
    expect(page.get_by_role("alert")).to_be_hidden()
    assert page.evaluate("localStorage.getItem('kinora.apiKey')") == key

    # Generate with nothing to animate: told so, nothing sent.
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing to animate yet")
    page.get_by_role("button", name="Dismiss message").click()

    # Upload a photo, choose Orbit right.
    page.get_by_label("Images", exact=True).set_input_files(str(PHOTO))
    expect(page.get_by_role("list", name="Chosen images")).to_contain_text("chelsea.png")
    page.get_by_role("radio", name="Orbit right").check()
    expect(page.get_by_role("radio", name="Orbit right")).to_be_checked()
    page.get_by_role("radio", name="16:9").check()
    _shot(page, shots / "1-create.png", top=True)
    publish(shots / "1-create.png", "create")

    # Generate and watch the progress rise to 100 over SSE.
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page.locator("#current")).to_be_visible()
    expect(page.locator("#cur-meta")).to_contain_text("Orbit right")
    _shot(page, shots / "2-progress.png")
    _wait_done(page)
    seen = _seen(page)
    assert seen[-1] == 100 and seen[0] < 100, seen
    assert seen == sorted(seen), seen
    expect(page.locator("#credits")).to_have_text("19")

    # Play it inline: the video element reports a duration.
    duration = _wait_playing(page)
    assert 1.0 <= duration <= 12.0, duration
    page.wait_for_timeout(600)  # a few frames into the orbit for the screenshot
    _shot(page, shots / "3-result.png")
    publish(shots / "3-result.png", "result")

    media_id = page.locator(".card").first.get_attribute("data-id")
    assert media_id
    media = _api(server, key, f"/media/{media_id}").json()["data"]
    assert "CameraPath=Orbit right" in media["pose_preset"]["Params"]
    assert media["title"] == "chelsea"  # named after the image

    # Download the MP4 (fetched with the key, saved from a blob URL).
    with page.expect_download() as info:
        page.get_by_role("button", name="Download MP4").click()
    download = info.value
    saved = shots / "download.mp4"
    download.save_as(saved)
    data = saved.read_bytes()
    assert download.suggested_filename == "chelsea.mp4"
    assert len(data) > 2000 and data[4:8] == b"ftyp"
    with page.expect_download() as info:
        page.get_by_role("button", name="Download GIF").click()
    gif = shots / "download.gif"
    info.value.save_as(gif)
    assert info.value.suggested_filename == "chelsea.gif"
    assert gif.read_bytes()[:4] == b"GIF8"

    # Edit and regenerate with another camera path.
    page.get_by_role("button", name="Edit & regenerate").click()
    expect(page.locator("#edit-banner")).to_be_visible()
    expect(page.get_by_role("radio", name="Orbit right")).to_be_checked()
    expect(page.get_by_label("Images", exact=True)).to_be_disabled()
    page.get_by_role("radio", name="Zoom in").check()
    page.get_by_role("button", name="Regenerate", exact=True).click()
    expect(page.locator("#cur-meta")).to_contain_text("Zoom in")
    expect(page.locator("#edit-banner")).to_be_hidden()
    _wait_done(page)
    expect(page.locator("#cur-meta")).to_contain_text("version 2")
    assert _seen(page)[-1] == 100
    _wait_playing(page)
    expect(page.locator("#credits")).to_have_text("18")
    media = _api(server, key, f"/media/{media_id}").json()["data"]
    assert "CameraPath=Zoom in" in media["pose_preset"]["Params"]
    assert media["bullet_version"] == "2"

    # A second media, from a prompt, so the library shows more than one card.
    page.get_by_role("button", name="Remove chelsea.png").click()
    expect(page.get_by_role("list", name="Chosen images")).to_be_hidden()
    page.get_by_label("Prompt").fill("A lighthouse on a cliff at sunset")
    page.get_by_role("radio", name="Crane up").check()
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page.locator("#cur-meta")).to_contain_text("Crane up")
    _wait_done(page)
    expect(page.locator(".card")).to_have_count(2)
    expect(page.locator(".card img")).to_have_count(2)
    expect(page.locator(".card").first).to_contain_text("A lighthouse on a cliff")
    page.evaluate("document.getElementById('lib-h').scrollIntoView({block: 'center'})")
    _shot(page, shots / "4-library.png")
    publish(shots / "4-library.png", "library")

    # Reopen the first media from the library, then delete it.
    card = page.locator(f'.card[data-id="{media_id}"]')
    card.get_by_role("button", name="Open chelsea").click()
    expect(page.locator("#cur-title")).to_have_text("chelsea")
    card.get_by_role("button", name="Delete chelsea").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("chelsea")
    _shot(page, shots / "5-delete.png")
    dialog.get_by_role("button", name="Delete").click()
    expect(card).to_have_count(0)
    expect(page.locator(".card")).to_have_count(1)
    expect(page.locator("#current")).to_be_hidden()
    assert _api(server, key, f"/media/{media_id}").status_code == 404
    page.context.close()


def test_studio_on_a_phone(studio_server: LiveServer, browser: Any, shots: Path) -> None:
    from playwright.sync_api import expect

    server = studio_server
    key = server.key(credits=5)
    page = _page(browser, server, 390, 844)
    page.add_init_script(f"localStorage.setItem('kinora.apiKey', {json.dumps(key)})")
    page.goto("/studio")
    expect(page.locator("#credits")).to_have_text("5")  # the stored key is used at load
    # Nothing overflows sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # Two images morph from the first to the second; a third replaces the oldest.
    chosen = page.get_by_role("list", name="Chosen images")
    page.get_by_label("Images", exact=True).set_input_files([str(PHOTO), str(SECOND)])
    expect(chosen).to_contain_text("first frame")
    expect(chosen).to_contain_text("last frame")
    page.get_by_role("button", name=f"Remove {SECOND.name}").click()

    # An unreadable image: the server's 422 is shown with the field it is about.
    broken = shots / "broken.png"
    broken.write_bytes(b"this is not a PNG")
    page.get_by_role("button", name=f"Remove {PHOTO.name}").click()
    page.get_by_label("Images", exact=True).set_input_files(str(broken))
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Please check the form (422)")
    expect(page.get_by_role("alert")).to_contain_text("Images")
    page.get_by_role("button", name="Dismiss message").click()
    page.get_by_role("button", name="Remove broken.png").click()

    page.get_by_label("Images", exact=True).set_input_files(str(PHOTO))
    page.get_by_role("radio", name="Orbit left").check()
    _shot(page, shots / "6-phone-create.png", top=True)
    publish(shots / "6-phone-create.png", "phone")

    # The server's refusals are shown: 10 s x 4 videos costs 8 credits, the key has 5.
    page.get_by_text("Narration & music").click()
    page.get_by_label("Narration", exact=True).fill("x" * 10)
    page.get_by_label("Narrator").select_option("Rachel")
    page.get_by_label("Quantity").select_option("4")
    page.get_by_label("Duration").fill("10")
    expect(page.locator("#cost")).to_have_text("Costs 8 credits")
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Not enough credits")
    page.get_by_role("button", name="Dismiss message").click()
    page.get_by_label("Quantity").select_option("1")
    page.get_by_label("Duration").fill("2")
    page.get_by_role("button", name="Generate", exact=True).click()
    _wait_done(page)
    _wait_playing(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.evaluate("document.getElementById('current').scrollIntoView({block: 'start'})")
    _shot(page, shots / "7-phone-result.png")
    publish(shots / "7-phone-result.png", "phone-result")
    page.context.close()


def test_studio_choices_come_from_the_vocabulary(studio_server: LiveServer, browser: Any) -> None:
    """The camera paths, aspect ratios and narrators are built from GET /vocabulary (no key)."""
    from playwright.sync_api import expect

    vocabulary = httpx.get(f"{studio_server.base_url}/vocabulary", timeout=10).json()
    page = _page(browser, studio_server, 1280, 900)
    page.goto("/studio")
    expect(page.locator("body")).to_have_attribute("data-ready", "1")
    cameras = page.locator('#paths input[name="camera_control"]')
    expect(cameras).to_have_count(len(vocabulary["camera_controls"]))
    assert [r.get_attribute("value") for r in cameras.all()] == [
        c["value"] for c in vocabulary["camera_controls"]
    ]
    assert page.locator("#paths .name").all_text_contents() == [
        c["label"] for c in vocabulary["camera_controls"]
    ]
    expect(page.get_by_role("radio", name="Auto").first).to_be_checked()
    aspects = page.locator('#aspects input[name="aspect_ratio"]')
    assert [r.get_attribute("value") for r in aspects.all()] == [""] + [
        a["value"] for a in vocabulary["aspect_ratios"]
    ]
    narrators = page.locator("#narrator option")
    assert [o.get_attribute("value") for o in narrators.all()] == [""] + [
        n["value"] for n in vocabulary["narrators"]
    ]
    page.context.close()

    # A server with other choices gets other pickers: nothing is hard-coded in the page.
    other = dict(vocabulary)
    other["camera_controls"] = [
        vocabulary["camera_controls"][0],
        {"value": "Orbit right", "label": "Circle the subject", "description": "test label"},
    ]
    other["aspect_ratios"] = [a for a in vocabulary["aspect_ratios"] if a["value"] == "9:16"]
    other["narrators"] = [{"value": "River", "label": "River", "default": True}]
    page = _page(browser, studio_server, 1280, 900)
    page.route(
        "**/vocabulary",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(other)
        ),
    )
    page.goto("/studio")
    expect(page.locator("body")).to_have_attribute("data-ready", "1")
    expect(page.locator('#paths input[name="camera_control"]')).to_have_count(2)
    expect(page.get_by_role("radio", name="Circle the subject", exact=True)).to_have_value(
        "Orbit right"
    )
    expect(page.get_by_role("radio", name="Crane up")).to_have_count(0)
    expect(page.locator('#aspects input[name="aspect_ratio"]')).to_have_count(2)
    expect(page.locator("#narrator option")).to_have_count(2)
    page.get_by_text("Narration & music").click()
    page.get_by_label("Narration", exact=True).fill("Hello there")
    expect(page.locator("#sound-summary")).to_have_text("— narration by River")
    page.context.close()


def test_studio_says_so_when_the_vocabulary_cannot_load(
    studio_server: LiveServer, browser: Any
) -> None:
    from playwright.sync_api import expect

    page = _page(browser, studio_server, 1280, 900)
    page.route("**/vocabulary", lambda route: route.fulfill(status=503, body="down"))
    page.goto("/studio")
    expect(page.get_by_role("alert")).to_contain_text("The choices could not be loaded (503)")
    page.context.close()
