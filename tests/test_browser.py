"""The demo page in a real headless Chromium, on a site built from tiny 64 px models.

Loose floors only (frame rates belong to `python -m builder bench`): frames advance, the picture
follows the camera, memory is flat in the steady state, failures are explained on the page and
leave the demo running. Every test also checks the page logged no error and broke no CSP rule.
"""

import json

import numpy as np
import pytest
from conftest import TINY_MODELS
from PIL import Image

from builder.measure.browser import new_context, open_demo
from builder.measure.camera_clip import write_fake_camera_y4m
from builder.measure.measuring import wait_first_frame

# The paths a frame can take: name -> (the tf.js backend, frame workers, the page's query).
PATHS = {
    "webgl": ("webgl", 0, "?backend=webgl"),              # zero-copy on one WebGL2 context
    "wasm": ("wasm", 0, "?backend=wasm&workers=0"),       # WebAssembly in the page
    "workers": ("wasm", 2, "?backend=wasm&workers=2"),    # WebAssembly in two frame workers
}
OUTPUT_CANVAS = "#output-view canvas"  # the generated picture
WARM_UP_FRAMES = 30
# Frames over which memory must hold flat: 300 on the frame workers, the CPU path (issue #15).
# SwiftShader runs WebGL at 3-7 fps here, so 300 frames took a minute of the suite's 15; a tensor
# kept per frame shows after one, and 100 frames still catch a heap leak of 21 KB a frame.
STEADY_FRAMES = {"webgl": 100, "wasm": 100, "workers": 300}
HEAP_GROWTH_LIMIT_BYTES = 2 * 1024 * 1024


def runtime_config(demo) -> dict:
    """The page's embedded runtime configuration (see ARCHITECTURE.md)."""
    return json.loads(demo.page.locator("#runtime-config").text_content())


def generated_pixels(demo) -> np.ndarray:
    """The generated picture as shown, int16 RGB, bottom half only: the top-left quarter is
    the inset of the model's input, which follows the camera whatever the generator does."""
    image = demo.screenshot_rgb(OUTPUT_CANVAS).astype(np.int16)
    return image[image.shape[0] // 2:]


def show_still_image(demo, path) -> None:
    """Makes a bright still picture the source (through the page's file input) and waits until
    the generated picture shows it: a still source makes no frames of its own, so the two
    reruns (a control's input event) also flush a camera frame that was in flight."""
    y, x = np.mgrid[0:96, 0:128]
    luma = 200 + 40 * np.sin(x / 20) * np.cos(y / 15)  # luma > 0.5: the model's input is > 0
    Image.fromarray(np.stack([luma] * 3, axis=-1).astype(np.uint8)).save(path)
    demo.page.set_input_files("#source-file", str(path))
    demo.wait_for("() => window.demo.stats().source === 'image'", "the image source")
    for _ in range(2):
        frames = demo.stats()["frames"]
        demo.page.dispatch_event("#brightness", "input")
        demo.wait_frames(frames + 1)


def red_minus_blue(demo) -> float:
    """Mean red minus mean blue of the generated picture (levels, 0..255 scale)."""
    pixels = generated_pixels(demo)
    return float(pixels[..., 0].mean() - pixels[..., 2].mean())


def assert_no_problems(demo):
    problems = demo.problems()
    assert problems == [], "the page logged errors:\n" + "\n".join(problems)


def test_fake_camera_clip_is_a_moving_y4m(tmp_path):
    path = write_fake_camera_y4m(tmp_path / "camera.y4m", width=64, height=48, fps=30, frames=12)
    header, _, body = path.read_bytes().partition(b"\n")
    assert header.split() == [b"YUV4MPEG2", b"W64", b"H48", b"F30:1", b"Ip", b"A1:1", b"C420jpeg"]
    frame_bytes = len(b"FRAME\n") + 64 * 48 * 3 // 2
    assert len(body) == 12 * frame_bytes
    lumas = [np.frombuffer(body[i * frame_bytes + 6:i * frame_bytes + 6 + 64 * 48], np.uint8) for i in range(12)]
    assert min(luma.std() for luma in lumas) > 10  # shapes over a gradient, not a flat field
    assert min(np.abs(a.astype(int) - b).mean() for a, b in zip(lumas, lumas[1:])) > 1  # moves every frame


def open_path(open_page, path):
    """The demo on one of PATHS, checked to run that path."""
    backend, workers, query = PATHS[path]
    demo = open_page(query)
    stats = demo.wait_ready()
    assert (stats["backend"], stats["workers"]) == (backend, workers), f"not the {path} path: {stats}"
    return demo, stats


@pytest.mark.parametrize("path", PATHS)
def test_frames_follow_the_camera(open_page, path):
    demo, stats = open_path(open_page, path)
    assert stats["source"] == "camera"
    assert stats["firstFrameMs"] > 0

    demo.wait_more_frames(10)
    first = generated_pixels(demo)
    assert first.std() > 2, "the generated picture is blank (one flat colour)"

    # The fake camera's shapes move every frame; an untrained generator still follows its input.
    demo.wait_more_frames(15)
    later = generated_pixels(demo)
    assert np.abs(later - first).mean() > 0.5, "the generated picture does not change with the camera"

    stats = demo.stats()
    assert stats["fps"] > 0
    assert set(stats["stageMs"]) == {"preprocess", "inference", "display"}
    if path in ("webgl", "workers"):  # workers: the page's thread reads nothing back either
        assert stats["readbacksPerFrame"] == 0, f"the {path} path reads pixels back every frame"
    assert_no_problems(demo)


@pytest.mark.parametrize("path", PATHS)
def test_steady_state_holds_memory_flat(open_page, path):
    demo, _ = open_path(open_page, path)
    demo.wait_more_frames(WARM_UP_FRAMES)
    before, heap_before = demo.stats(), demo.heap_after_gc_bytes()

    after = demo.wait_more_frames(STEADY_FRAMES[path], timeout_s=300)
    heap_after = demo.heap_after_gc_bytes()

    assert after["numTensors"] == before["numTensors"], "tensors leak in the frame loop"
    assert after["numBytes"] == before["numBytes"], "tensor memory grows in the frame loop"
    growth = heap_after - heap_before
    assert growth < HEAP_GROWTH_LIMIT_BYTES, f"JS heap grew {growth / 1e6:.2f} MB over {STEADY_FRAMES[path]} frames"
    if path in ("webgl", "workers"):
        assert after["readbacksPerFrame"] == 0
    assert_no_problems(demo)


CAMERA_REFUSED = ("Camera access was refused. To use it, allow the camera for this site (the icon in the "
                  "address bar) and choose Camera again. Showing the demo animation instead.")


def test_camera_denied_runs_the_fallback_and_says_why(open_page, denied_context):
    demo = open_page(context=denied_context)
    stats = demo.wait_ready()
    assert stats["source"] == "demo"
    demo.wait_more_frames(10)

    assert demo.page.locator("#status").inner_text() == CAMERA_REFUSED
    assert demo.page.locator("#error").is_hidden()
    assert_no_problems(demo)


# A visitor who takes a while to answer the camera prompt: getUserMedia answers only once the
# model is in place (or after 10 s), so the model is ready before there is any picture.
SLOW_CAMERA_ANSWER = """
const askCamera = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = async (constraints) => {
  const asked = performance.now();
  while (!(window.demo && window.demo.stats().model) && performance.now() - asked < 10000) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return askCamera(constraints);
};
"""


def test_ready_when_the_camera_answers_after_the_model_loaded(open_page, camera_context):
    camera_context.add_init_script(SLOW_CAMERA_ANSWER)
    demo = open_page("?backend=wasm")
    stats = demo.wait_ready(timeout_s=60)
    assert stats["source"] == "camera" and stats["loadingModel"] is None
    assert stats["model"] == runtime_config(demo)["defaultModel"]
    assert_no_problems(demo)


# Runs before the page's scripts: notes each frame worker, when it started, its warm-up times
# (null where a model was not warmed up) and the inference times of its frame replies, in order.
NOTE_WORKERS = """
window.__workerStarts = [];
window.__workers = [];
window.__warmUpMs = [];
window.__inferenceMs = [];
const PageWorker = window.Worker;
window.Worker = class extends PageWorker {
  constructor(...args) {
    super(...args);
    window.__workerStarts.push(performance.now());
    window.__workers.push(this);
    this.addEventListener('message', ({ data }) => {
      if (data.type === 'loaded') window.__warmUpMs.push(data.warmUpMs);
      if (data.type === 'frame') window.__inferenceMs.push(data.ms.inference);
    });
  }
};
"""


@pytest.mark.timed  # compares two inference times
def test_a_model_ready_before_the_picture_is_warmed_up_meanwhile(chromium, real_server):
    """While the visitor answers the camera's prompt the first model is warmed up, so the first
    frame after the answer runs warm: its inference takes well under the warm-up's cold run in
    the same page. With a picture already there (the demo) the first model is not warmed up: the
    first frame is its first run. The committed default model, one worker, fresh profiles."""
    seen = {}
    for name, camera, query in (("late camera", True, ""), ("demo", False, "&source=demo")):
        context = new_context(chromium, camera=camera)
        try:
            context.add_init_script(NOTE_WORKERS)
            if camera:
                context.add_init_script(SLOW_CAMERA_ANSWER)
            demo = open_demo(context, real_server + "?backend=wasm&workers=1" + query)
            assert wait_first_frame(demo, 180)["source"] == ("camera" if camera else "demo")
            seen[name] = demo.page.evaluate("() => [window.__warmUpMs, window.__inferenceMs[0]]")
        finally:
            context.close()
    assert seen["demo"][0] == [None], f"with a picture waiting the first model was warmed up: {seen['demo']}"
    [warm_up], first = seen["late camera"]
    assert warm_up is not None, "the first model was not warmed up while the camera's prompt was open"
    # measured: 180-270 ms against a warm-up of 410-440 (session 27; the first frames after it
    # still run slower than later ones while the browser optimises the code)
    assert first < 0.8 * warm_up, f"the first frame after a late camera took {first:.0f} ms of inference, the warm-up {warm_up:.0f} ms"


def test_one_worker_makes_the_first_frame_and_the_others_join_after_it(open_page, camera_context):
    """On a 2-core machine, workers starting together took the CPU the first frame needed: the
    first frame comes from one worker, the second starts once it is shown, and by demo.ready
    both take frames."""
    camera_context.add_init_script(NOTE_WORKERS)
    demo = open_page("?backend=wasm&workers=2")
    stats = demo.wait_ready()
    starts = demo.page.evaluate("() => window.__workerStarts")
    assert len(starts) == 2, f"expected two frame workers, {len(starts)} were started"
    assert starts[0] < stats["firstFrameMs"] <= starts[1] + 1, (  # firstFrameMs is rounded
        f"workers started at {starts} ms, the first frame at {stats['firstFrameMs']} ms: "
        "the second worker should start after the first frame")
    assert stats["workers"] == 2
    before = demo.stats()
    after = demo.wait_more_frames(6)
    assert after["numTensors"] == before["numTensors"], "tensors still arriving after demo.ready"
    assert_no_problems(demo)


# A frame worker crashing, as the page sees it: the worker is gone (its frame in flight with it),
# and an error event says so.
CRASH_A_FRAME_WORKER = """(index) => {
  const worker = window.__workers[index];
  worker.terminate();
  worker.dispatchEvent(new ErrorEvent('error', { message: 'planted crash' }));
}"""


def test_a_frame_worker_that_crashes_leaves_the_others_to_run_the_frames(open_page, camera_context):
    camera_context.add_init_script(NOTE_WORKERS)
    demo = open_page("?backend=wasm&workers=2")
    demo.wait_ready()
    assert demo.stats()["workers"] == 2
    demo.log.expected.append("planted crash")
    demo.page.evaluate(CRASH_A_FRAME_WORKER, 0)  # the first: it holds a frame in flight most of the time
    after = demo.wait_more_frames(6, timeout_s=30)
    assert after["workers"] == 1, after
    assert any("planted crash" in m for m in demo.log.console_errors), demo.log.console_errors
    assert_no_problems(demo)


# Animation frames twice a second (a busy or throttled display), and none while the tab is
# "hidden" (window.__hidden, which document.visibilityState reports): what a browser does.
SLOW_ANIMATION_FRAMES = """
const raf = window.requestAnimationFrame.bind(window);
let held = [];
window.__hidden = false;
Object.defineProperty(document, 'visibilityState', { get: () => (window.__hidden ? 'hidden' : 'visible') });
window.requestAnimationFrame = (callback) => setTimeout(() => {
  if (window.__hidden) held.push(callback); else raf(callback);
}, 500);
window.__show = () => { window.__hidden = false; held.splice(0).forEach((c) => raf(c)); };
"""
# Each frame takes a frame worker at least 60 ms (two camera frames at 30 fps), whatever the
# tiny model costs, so a fresh camera frame is always waiting when a worker comes free.
SLOW_FRAME_WORKER = """
{ const run = self.onmessage;
  self.onmessage = (event) => {
    if (event.data.type === 'frame') { const t = performance.now(); while (performance.now() - t < 60); }
    run(event);
  }; }
"""


def frames_per_second(demo, seconds: float) -> float:
    before = demo.stats()["frames"]
    demo.page.wait_for_timeout(seconds * 1000)
    return (demo.stats()["frames"] - before) / seconds


@pytest.mark.timed  # a frame-rate floor
def test_frame_workers_are_handed_frames_between_animation_frames(open_page, camera_context):
    """A worker's reply is shown and the worker handed its next frame at once, not at the next
    animation frame: with animation frames slowed to 2 a second, two 60-ms workers still make
    several times that. In a hidden tab, where animation frames stop, the frames stop too."""
    camera_context.add_init_script(SLOW_ANIMATION_FRAMES)

    slowed = []

    def slow_worker(route):
        response = route.fetch()
        route.fulfill(response=response, body=response.text() + SLOW_FRAME_WORKER)
        slowed.append(route.request.url)
    camera_context.route("**/assets/worker-*.js", slow_worker)
    demo = open_page("?backend=wasm&workers=2")
    demo.wait_ready(timeout_s=120)
    assert demo.stats()["workers"] == 2 and len(slowed) == 2, slowed
    demo.wait_more_frames(4)
    fps = frames_per_second(demo, 4)
    assert fps >= 6, f"{fps:.1f} frames a second with 2 animation frames a second: frames wait for them"
    demo.page.evaluate("() => { window.__hidden = true; }")
    demo.page.wait_for_timeout(300)  # the frames in flight come back
    hidden = frames_per_second(demo, 2)
    assert hidden == 0, f"{hidden:.1f} frames a second in a hidden tab"
    demo.page.evaluate("() => window.__show()")
    demo.wait_more_frames(4, timeout_s=30)
    assert_no_problems(demo)


@pytest.mark.parametrize("path", PATHS)
def test_model_switch_changes_the_picture_and_returns_tensors_to_baseline(open_page, tmp_path, path):
    demo, _ = open_path(open_page, path)
    first, second = [m["name"] for m in runtime_config(demo)["models"]][:2]
    assert (first, second) == tuple(TINY_MODELS)
    demo.wait_more_frames(WARM_UP_FRAMES)
    # On a still, bright source (the moving camera alone moves the mean colour as much as a
    # switch would): tiny_a tints it red, tiny_b blue (conftest's TINY_MODELS).
    show_still_image(demo, tmp_path / "still.png")
    baseline = demo.stats()
    assert baseline["model"] == first
    colour = red_minus_blue(demo)
    assert colour > 20, f"the first tiny model's output is not red-ish (red - blue = {colour:.1f})"

    # setModel resolves once the new model's first frame is on screen.
    assert demo.page.evaluate("(name) => window.demo.setModel(name)", second) == second
    switched = demo.stats()
    assert switched["model"] == second
    colour = red_minus_blue(demo)
    assert colour < -20, f"after the switch the output is not the second model's, blue-ish (red - blue = {colour:.1f})"

    # Back through the page's model picker, as a visitor would: a click on the first model's picture.
    picker = demo.page.locator("#model-picker")
    assert picker.locator("input:checked").get_attribute("value") == second
    pictures = picker.locator("img")
    assert pictures.count() == len(runtime_config(demo)["models"])
    assert all(pictures.nth(i).evaluate("(img) => img.complete && img.naturalWidth > 0")
               for i in range(pictures.count())), "a model's picture in the picker did not load"
    picker.locator(f"label:has(input[value='{first}']) img").click()
    demo.wait_for(f"() => window.demo.stats().model === '{first}'", "the model chosen in the picker")
    for _ in range(2):  # a still source makes no frames of its own: rerun it, as show_still_image does
        frames = demo.stats()["frames"]
        demo.page.dispatch_event("#brightness", "input")
        demo.wait_frames(frames + 1)
    back = demo.stats()
    assert back["model"] == first
    colour = red_minus_blue(demo)
    assert colour > 20, f"after switching back the output is not the first model's, red-ish (red - blue = {colour:.1f})"
    assert back["numTensors"] == baseline["numTensors"], "switching models leaks the old model's tensors"
    assert back["numBytes"] == baseline["numBytes"]
    assert_no_problems(demo)


@pytest.mark.parametrize("path", ["webgl", "workers"])
def test_model_404_is_explained_and_the_previous_model_keeps_running(open_page, path):
    demo, _ = open_path(open_page, path)
    models = runtime_config(demo)["models"]
    first, second = models[0]["name"], models[1]["name"]
    missing_url = models[1]["url"]
    title = models[1]["title"]
    demo.page.route(f"**/{missing_url}", lambda route: route.fulfill(status=404, body="not found"))
    demo.log.expected.append("404")  # the browser logs the failed fetch itself

    outcome = demo.page.evaluate(
        "(name) => window.demo.setModel(name).then(() => 'resolved', (e) => 'rejected: ' + e)", second)
    assert outcome.startswith("rejected"), "setModel resolved although the model could not be loaded"

    stats = demo.wait_more_frames(10)
    assert stats["model"] == first, "a failed model load replaced the running model"
    assert stats["error"] == f'model "{title}" could not be loaded: {missing_url} answered 404 Not Found'
    assert demo.page.locator("#error").inner_text() == stats["error"]
    assert demo.page.locator("#status").inner_text() == "The previous model keeps running."
    assert_no_problems(demo)


def test_committed_default_model_runs(chromium, real_server):
    """The real site with the backend the page picks itself (WebGL on a GPU, else wasm)."""
    context = new_context(chromium)
    try:
        demo = open_demo(context, real_server)
        stats = demo.wait_ready(timeout_s=180)
        assert stats["model"] == runtime_config(demo)["defaultModel"]
        demo.wait_more_frames(3, timeout_s=120)
        assert generated_pixels(demo).std() > 2, "the generated picture is blank (one flat colour)"
        assert_no_problems(demo)
    finally:
        context.close()


@pytest.mark.parametrize("short_side", [400, 360])
def test_a_photograph_whose_side_rounds_badly_still_makes_a_picture(chromium, real_server, tmp_path, short_side):
    """On the CPU path the frame workers crop and area-average in JS: for a 256-px model (11x11)
    a short side of 400 or 360 px (a 640x360 webcam) once put a tap past the row's end, and every
    input pixel came out NaN, the picture black."""
    context = new_context(chromium)
    try:
        demo = open_demo(context, real_server + "?backend=wasm&workers=1")
        demo.wait_ready(timeout_s=180)
        y, x = np.mgrid[0:short_side, 0:short_side * 3 // 2]
        luma = 128 + 90 * np.sin(x / 37) * np.cos(y / 23)
        Image.fromarray(np.stack([luma, luma * 0.8, 255 - luma], axis=-1).astype(np.uint8)).save(tmp_path / "p.png")
        demo.page.set_input_files("#source-file", str(tmp_path / "p.png"))
        demo.wait_for("() => window.demo.stats().source === 'image'", "the image source", timeout_s=120)
        frames = demo.stats()["frames"]
        demo.page.dispatch_event("#brightness", "input")
        demo.wait_frames(frames + 1, timeout_s=120)
        pixels = np.asarray(demo.page.evaluate("() => Array.from(window.demo.inputPixels())"), np.float32)
        assert np.isfinite(pixels).all(), f"{np.isnan(pixels).sum()} of the model's input pixels are NaN"
        assert pixels.std() > 0.05, "the model's input is flat"
        assert generated_pixels(demo).std() > 2, "the generated picture is blank (one flat colour)"
        assert_no_problems(demo)
    finally:
        context.close()
