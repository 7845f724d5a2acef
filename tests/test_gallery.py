"""For galleries and phones (issue #16), in a real headless Chromium on the tiny-model site:
installation mode, the rear camera under phone emulation, the snapshot and the clip, and a
second visit without the network."""

import base64
import io

import numpy as np
import pytest
from PIL import Image

from builder.measure.browser import open_demo
from test_browser import assert_no_problems, open_path, show_still_image

HIDDEN_IN_INSTALLATION = ("#controls", ".site-header", ".panel-source", "#about", ".status-row")

# Before the page's scripts: remembers every getUserMedia request's video constraints.
RECORD_CAMERA_REQUESTS = """
window.__cameraRequests = [];
const ask = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = (constraints) => {
  window.__cameraRequests.push(JSON.parse(JSON.stringify(constraints.video)));
  return ask(constraints);
};
"""


def blob_bytes(demo, expression: str) -> tuple[str, bytes]:
    """Evaluates `expression` (a Promise of a Blob) in the page; its type and bytes."""
    kind, data = demo.page.evaluate(f"""async () => {{
        const blob = await ({expression});
        const bytes = new Uint8Array(await blob.arrayBuffer());
        let text = '';
        for (let i = 0; i < bytes.length; i += 32768) text += String.fromCharCode(...bytes.subarray(i, i + 32768));
        return [blob.type, btoa(text)];
    }}""")
    return kind, base64.b64decode(data)


def visible(demo, selector: str) -> bool:
    return demo.page.locator(selector).first.is_visible()


def test_installation_mode_shows_only_the_picture_and_esc_restores_the_page(open_page):
    demo = open_page("?mode=installation")
    demo.wait_ready()
    viewport = demo.page.viewport_size
    box = demo.page.locator("#output-view canvas").bounding_box()
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert abs(centre[0] - viewport["width"] / 2) <= 2 and abs(centre[1] - viewport["height"] / 2) <= 2, box
    assert box["width"] >= 0.95 * viewport["width"] or box["height"] >= 0.95 * viewport["height"], box
    # What is drawn, not only the element: the letterboxed square fills the viewport's short side.
    shot = np.asarray(Image.open(io.BytesIO(demo.page.screenshot())).convert("L"), np.float32)
    side = min(viewport["width"], viewport["height"])
    rows = np.flatnonzero(shot.std(axis=1) > 0)
    assert rows.size and rows[-1] - rows[0] + 1 >= 0.95 * side, "the picture does not span the screen"
    shown = [s for s in HIDDEN_IN_INSTALLATION if visible(demo, s)]
    assert shown == [], f"installation mode shows {shown}"

    demo.page.keyboard.press("Escape")
    demo.wait_for("() => !document.body.classList.contains('installation')", "leaving installation mode")
    assert visible(demo, "#controls") and visible(demo, ".site-header")
    demo.page.keyboard.press("f")  # and back with F (full screen may be refused headless: the mode still holds)
    demo.wait_for("() => document.body.classList.contains('installation')", "F entering installation mode")
    assert_no_problems(demo)


def test_a_phone_asks_for_the_rear_camera_and_shows_the_picture_first(chromium, playwright_driver, server):
    context = chromium.new_context(**playwright_driver.devices["Pixel 5"])
    context.grant_permissions(["camera"])
    context.add_init_script(RECORD_CAMERA_REQUESTS)
    try:
        demo = open_demo(context, server)
        stats = demo.wait_ready()
        assert stats["source"] == "camera"
        requests = demo.page.evaluate("() => window.__cameraRequests")
        assert requests and requests[0]["facingMode"] == {"ideal": "environment"}, requests
        output = demo.page.locator("#output-view").bounding_box()
        source = demo.page.locator("#source-view").bounding_box()
        assert output["y"] < source["y"], "on a portrait phone the generated picture comes first"
        assert output["width"] >= 0.9 * demo.page.viewport_size["width"] - 40
        small = demo.page.evaluate("""() => [...document.querySelectorAll('#controls button, #controls select')]
            .filter((e) => e.offsetParent && e.getBoundingClientRect().height < 44).map((e) => e.id || e.textContent)""")
        assert small == [], f"controls under 44 px on a touch screen: {small}"
        assert_no_problems(demo)
    finally:
        context.close()


@pytest.mark.parametrize("path", ["workers", "webgl"])
def test_snapshot_is_a_png_of_the_picture_at_the_model_size(open_page, tmp_path, path):
    demo, stats = open_path(open_page, path)
    show_still_image(demo, tmp_path / "still.png")  # a still source: the picture holds still
    kind, png = blob_bytes(demo, "window.demo.snapshot()")
    assert kind == "image/png"
    picture = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), np.int16)
    size = next(m for m in demo.page.evaluate("() => JSON.parse(document.getElementById('runtime-config').textContent).models")
                if m["name"] == stats["model"])["meta"]["input"]["size"]
    assert picture.shape == (size, size, 3)
    assert picture.std() > 2, "the snapshot is blank"
    shown = demo.screenshot_rgb("#output-view canvas").astype(np.int16)  # as the page shows it
    scaled = np.asarray(Image.fromarray(shown.astype(np.uint8)).resize((size, size), Image.Resampling.BOX), np.int16)
    error = np.abs(scaled - picture).mean()
    assert error < 6, f"the snapshot differs from the canvas on screen by {error:.1f} levels on average"
    if path == "workers":  # a 2D canvas: its pixels can be read exactly
        exact = np.asarray(demo.page.evaluate("""() => {
            const c = document.querySelector('#output-view canvas');
            return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);
        }"""), np.int16).reshape(size, size, 4)[..., :3]
        assert np.array_equal(exact, picture), "the snapshot's pixels are not the canvas's"
    assert_no_problems(demo)


def test_a_clip_records_the_output_as_webm(open_page):
    demo, _ = open_path(open_page, "workers")
    kind, clip = blob_bytes(demo, "window.demo.recordClip(1)")
    assert kind == "video/webm" and clip[:4] == b"\x1a\x45\xdf\xa3", "not a WebM (EBML) file"
    assert len(clip) > 1000
    assert_no_problems(demo)


def test_a_second_visit_starts_without_the_network(open_page, camera_context):
    demo = open_page("?source=demo")
    demo.wait_ready()
    demo.wait_for("() => navigator.serviceWorker.ready.then(() => !!navigator.serviceWorker.controller)",
                  "the service worker to take the page")
    demo.wait_more_frames(3)
    camera_context.set_offline(True)
    demo.log.expected.append("ERR_INTERNET_DISCONNECTED")  # the worker's own update check, if any
    demo.page.reload(wait_until="load")
    stats = demo.wait_ready(timeout_s=60)
    assert stats["frames"] >= 1 and stats["error"] is None, stats
    assert_no_problems(demo)


def test_installation_mode_cycles_the_models(open_page):
    demo = open_page("?mode=installation&cycle=0.05")  # every 3 s
    first = demo.wait_ready()["model"]
    demo.wait_for("(first) => window.demo.stats().model !== first", "the next model", timeout_s=60, arg=first)
    demo.wait_more_frames(2)
    assert_no_problems(demo)
