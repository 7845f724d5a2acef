"""The noise texture moves with the scene: the motion estimate (builder/training/motion.py, and
js/frame/motion.js in real tf.js), the exported graph's `noise_shift` input (SavedModel and the
converted tf.js graph), the periodic pattern it wraps, and the frame workers reporting it in a
real browser whose camera pans across a photograph."""

import json
import subprocess

import numpy as np
import pytest

from builder import REPO_ROOT
from builder.measure.browser import launch_chromium, new_context, open_demo
from builder.measure.camera_clip import write_y4m
from builder.site.convert import convert_saved_model, load_saved_model, run_in_tfjs
from builder.tfenv import tensorflow
from builder.training import motion
from builder.training.evaluate import inputs as ev
from builder.training.export import save_for_converter
from builder.training.noise import periodic, smooth_noise
from builder.training.model import build_generator
from builder.training.transform import LUMA

tf = tensorflow()
import keras  # noqa: E402  (after TensorFlow, quietly)

SIZE = 256


def pan(photo: str, step: tuple[int, int], frames: int = 6, size: int = SIZE) -> np.ndarray:
    """(frames, size, size, 3) uint8: a window over the photograph moving `step` = (dy, dx) px a
    frame, so the scene's content moves by -step."""
    image = ev.skimage_photo(photo)
    h, w = image.shape[:2]
    top, left = (h - size) // 2 - frames // 2 * step[0], (w - size) // 2 - frames // 2 * step[1]  # centred
    return np.stack([image[top + t * step[0]:top + t * step[0] + size, left + t * step[1]:left + t * step[1] + size]
                     for t in range(frames)])


def maps_of(frames: np.ndarray) -> list[np.ndarray]:
    return [motion.motion_map(frame, LUMA) for frame in frames]


@pytest.mark.parametrize("photo,step", [("astronaut.png", (0, 6)), ("coffee.png", (-3, 5)), ("chelsea.png", (4, 0)),
                                        ("motorcycle_left.png", (0, -11)), ("astronaut.png", (2, -7))])
def test_the_estimate_follows_a_pan_within_a_few_tenths_of_a_pixel(photo, step):
    """Each frame's step within 0.6 px of the truth, 0.3 px on average (a step estimated by a
    parabola an axis, not the surface, is 0.53 px off on average on the diagonal pan)."""
    steps = np.diff(motion.travelled(maps_of(pan(photo, step)), SIZE), axis=0)
    error = np.abs(steps + np.asarray(step))  # the content moves by -step
    assert error.max() < 0.6 and error.mean() < 0.3, steps.round(2).tolist()


def test_a_still_camera_a_blank_wall_and_a_cut_do_not_move_the_texture():
    rng = np.random.default_rng(0)
    still = np.repeat(pan("astronaut.png", (0, 0), frames=1), 8, axis=0).astype(np.float64)
    noisy = np.clip(still + rng.normal(0, 3, still.shape), 0, 255).astype(np.uint8)  # sensor noise
    assert np.abs(motion.travelled(maps_of(noisy), SIZE)).max() == 0
    wall = np.clip(128 + rng.normal(0, 3, still.shape), 0, 255).astype(np.uint8)
    assert np.abs(motion.travelled(maps_of(wall), SIZE)).max() == 0
    cut = np.concatenate([pan("astronaut.png", (0, 0), frames=1), pan("coffee.png", (0, 0), frames=1)])
    assert np.abs(motion.travelled(maps_of(cut), SIZE)).max() == 0
    # The planted defect: without the contrast and match floors, the wall's noise and the cut move it.
    floors = motion.MIN_CONTRAST, motion.MIN_MATCH
    try:
        motion.MIN_CONTRAST, motion.MIN_MATCH = 0.0, -1.0
        assert np.abs(motion.travelled(maps_of(wall), SIZE)).max() > 0
        assert np.abs(motion.travelled(maps_of(cut), SIZE)).max() > 0
    finally:
        motion.MIN_CONTRAST, motion.MIN_MATCH = floors


def test_the_runtime_estimates_what_the_scorecard_does(tmp_path):
    """js/frame/motion.js on tf.js wasm (Node) against motion.py, frame by frame: the same whole
    shifts, the same distance within 0.05 px; measured from another motion's anchor (the frame
    workers' chain) the same again; and no tensor left behind."""
    frames = np.concatenate([pan("coffee.png", (-3, 5)), pan("astronaut.png", (2, -7))])  # and a cut between
    maps = np.stack(maps_of(frames))
    (tmp_path / "maps.f32").write_bytes(maps.astype("<f4").tobytes())
    done = subprocess.run(["node", "tests/run_motion.mjs", str(tmp_path / "maps.f32"), str(len(maps)), str(SIZE), "128",
                           str(tmp_path / "out.json")], cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads((tmp_path / "out.json").read_text())
    travelled = motion.travelled(list(maps), SIZE)
    expected = [motion.noise_shift(t, SIZE, 128).tolist() for t in travelled]
    assert out["shifts"] == expected and out["anchored"] == expected
    wrapped = (np.asarray(out["travelled"]) - travelled + SIZE / 2) % SIZE - SIZE / 2  # the runtime keeps it mod SIZE
    assert np.abs(wrapped).max() < 0.05
    assert out["tensors_left"] == 0


@pytest.mark.parametrize("stretch", [1, 4])
def test_the_pattern_tiles_the_plane_with_no_seam(stretch):
    """Neighbours across the wrap are as alike as neighbours inside: the texture can move any
    distance (its grains stretched sideways too). The planted defect, a pattern smoothed without
    wrapping, has its seam there."""
    def seam_and_inside(pattern):
        across = np.corrcoef(pattern[:, -1], pattern[:, 0])[0, 1]
        inside = np.mean([np.corrcoef(pattern[:, i], pattern[:, i + 1])[0, 1] for i in range(pattern.shape[1] - 1)])
        return across, inside

    field = keras.random.normal((1, 128, 128, 1), seed=3)
    across, inside = seam_and_inside(np.asarray(smooth_noise(periodic(field, stretch), stretch))[0, ..., 0])
    assert inside > 0.5 and abs(across - inside) < 0.15, (across, inside)
    unwrapped = keras.random.normal((1, 130, 128 + 2 * stretch, 1), seed=3)
    seamed, inside = seam_and_inside(np.asarray(smooth_noise(unwrapped, stretch))[0, ..., 0])
    assert inside - seamed > 0.4, (seamed, inside)  # neighbours across the seam are strangers


def test_a_model_whose_pattern_has_a_seam_takes_a_periodic_one(tmp_path):
    """resave_model(redraw_pattern=seed): models/<name>/ exported with a seamed pattern comes back
    with a periodic one, every other weight as it was, and its evidence and preview drawn with it."""
    from builder import config as cfg
    from builder.training.export import load_exported_generator, resave_model
    from builder.training.transform import TransformParams

    config = cfg.TrainConfig(name="m", size=64, base_filters=4, max_filters=8, depth=3)
    generator = build_generator(**cfg.generator_options(config))
    pattern = next(v for v in generator.non_trainable_variables if v.name == "pattern")
    pattern.assign(smooth_noise(keras.random.normal((1, 34, 34, 1), seed=1))[0])  # as before: a seam
    model_dir = tmp_path / "m"
    save_for_converter(generator, model_dir / "saved_model")
    (model_dir / "config.toml").write_text(cfg.to_toml(config))
    params = TransformParams(size=64)
    (model_dir / "meta.json").write_text(json.dumps({"input": {"size": 64}, "transform": params.to_meta()}))
    seam = lambda p: np.corrcoef(p[:, -1].ravel(), p[:, 0].ravel())[0, 1]  # noqa: E731
    assert seam(pattern.numpy()) < 0.3

    resave_model(model_dir, redraw_pattern=7)
    _, again = load_exported_generator(model_dir)
    redrawn = next(v for v in again.non_trainable_variables if v.name == "pattern").numpy()
    assert seam(redrawn) > 0.5
    others = lambda g: [v.numpy() for v in g.weights if v.name != "pattern"]  # noqa: E731
    assert all(np.abs(a - b).max() < 1e-3 for a, b in zip(others(again), others(generator)))  # float16 stored
    assert (model_dir / "evidence.png").exists() and (model_dir / "preview.png").exists()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A small generator with a noise texture, exported and converted (float32)."""
    keras.utils.set_random_seed(5)
    generator = build_generator(size=64, base_filters=4, max_filters=8, depth=3, noise="half")
    for w in generator.trainable_weights:
        if len(w.shape) == 1:
            w.assign(w + 0.3)  # a noise strength well off its small initial value, so the texture shows
    root = tmp_path_factory.mktemp("moving")
    save_for_converter(generator, root / "saved_model")
    convert_saved_model(root / "saved_model", root / "tfjs", "float32", 4 * 1024 * 1024)
    return generator, root


def test_the_graph_moves_its_pattern_as_asked(exported):
    """noise_shift (dy, dx) gives what the generator gives with its pattern rolled by (dy, dx),
    in the SavedModel and in the converted tf.js graph; a shift moves the output."""
    generator, root = exported
    x = np.random.default_rng(1).uniform(-1, 1, (2, 64, 64, 1)).astype(np.float32)
    run = load_saved_model(root / "saved_model")
    assert run.noise_side == 32
    pattern = next(v for v in generator.non_trainable_variables if v.name == "pattern")
    stored = pattern.numpy()
    try:
        pattern.assign(np.roll(stored, (3, -5), axis=(0, 1)))
        rolled = generator(x, training=False).numpy()
    finally:
        pattern.assign(stored)
    moved = run(x, (3, -5))
    assert np.abs(moved - rolled).max() < 2e-3  # the SavedModel's weights are float16
    assert np.abs(moved - run(x)).max() > 0.05
    in_tfjs = run_in_tfjs(root / "tfjs" / "model.json", x, noise_shifts=np.array([[3, -5], [3, -5]]))
    assert np.abs(in_tfjs - moved).max() < 1e-4


def pan_y4m(path, *, width=320, height=240, step=3, frames=60, fps=30):
    """A camera panning right across the astronaut photograph, `step` camera px a frame."""
    image = ev.skimage_photo("astronaut.png")
    top = (image.shape[0] - height) // 2
    return write_y4m(path, [image[top:top + height, t * step:t * step + width] for t in range(frames)], fps=fps)


@pytest.mark.timed  # how far the texture went in so many seconds: frames must keep the camera's pace
@pytest.mark.parametrize("query", ["?backend=wasm&workers=2", "?backend=webgl", "?backend=wasm&workers=0"],
                         ids=["workers", "webgl", "wasm"])
def test_the_texture_moves_with_a_panning_camera(playwright_driver, server, tmp_path, query):
    """In Chromium, on each device (the frame workers' chain, WebGL's tensors, wasm in the page):
    as the camera pans right, the scene moves left in the frame and, the page mirroring a camera
    that faces the visitor, right on the screen; the noise texture travels right, at about the
    camera's rate, and not up or down."""
    browser = launch_chromium(playwright_driver, pan_y4m(tmp_path / "pan.y4m"))
    try:
        context = new_context(browser, camera=True)
        demo = open_demo(context, server + query)
        demo.wait_ready()
        config = json.loads(demo.page.locator("#runtime-config").text_content())
        size = next(m for m in config["models"] if m["name"] == config["defaultModel"])["meta"]["input"]["size"]
        rate = 3 * 30 * size / 240  # model px a second
        samples = []
        for _ in range(12):
            demo.wait_more_frames(1)
            samples.append(demo.page.evaluate(
                "async () => [performance.now() / 1000, await window.demo.noiseTravelled()]"))
        steps = []
        for (t0, a), (t1, b) in zip(samples[:-1], samples[1:]):
            dy, dx = ((np.asarray(b) - a + size / 2) % size - size / 2)  # kept mod size
            steps.append((dy, dx, t1 - t0))
        dy, dx, seconds = np.sum(steps, axis=0)
        assert dx > 0 and abs(dy) < 0.2 * abs(dx), steps
        assert 0.3 * rate * seconds < dx < 2.0 * rate * seconds, (dx, rate * seconds)
        assert demo.problems() == []
        context.close()
    finally:
        browser.close()


def stop_and_go_y4m(path, *, width=320, height=240, fps=30):
    """A camera held still for 1.5 s, then panning right in uneven steps (0-4 px) with a
    shaking hand (0-3 px up or down) for 1.5 s; the clip loops, so the camera also jumps back."""
    image = ev.skimage_photo("astronaut.png")
    rng = np.random.default_rng(0)
    xs = np.concatenate([np.zeros(45, int), np.cumsum(rng.integers(0, 5, 45))])
    ys = np.concatenate([np.zeros(45, int), rng.integers(0, 4, 45)])
    return write_y4m(path, [image[100 + y:100 + y + height, x:x + width] for x, y in zip(xs, ys)], fps=fps)


@pytest.mark.timed  # each motion anchor must be back before the next frame is dealt out
def test_the_frame_workers_move_the_texture_along_one_chain(playwright_driver, real_server, tmp_path):
    """On the committed default model (whose frames take longer than a camera frame, so both
    workers are always busy) with two frame workers, frame n is dealt out while frame n - 1 is still running. Measured
    from the last frame back (n - 2), odd and even frames followed two chains of their own, which
    drift apart wherever a match fails or the camera stops: the texture then jumped between two
    places frame after frame (a shimmer at the frame rate). Each frame's measurement now reaches
    the next frame's worker before its inference ends, so the shown frames' places never go back
    and forth, n equal to n - 2 and unlike n - 1, more than twice in a row."""
    browser = launch_chromium(playwright_driver, stop_and_go_y4m(tmp_path / "stop-and-go.y4m"))
    try:
        demo = open_demo(new_context(browser, camera=True), real_server + "?backend=wasm&workers=2")
        demo.wait_ready()
        shown = dict(demo.page.evaluate("""async () => {
            const places = [];
            let last = window.demo.stats().frames;
            for (const t0 = performance.now(); performance.now() - t0 < 6000;) {
                await new Promise((resolve) => setTimeout(resolve, 1));
                const frames = window.demo.stats().frames;
                if (frames !== last) places.push([last = frames, await window.demo.noiseTravelled()]);
            }
            return places;
        }"""))
        assert len(shown) > 40 and demo.stats()["workers"] == 2, (len(shown), demo.stats())
        back_and_forth = [n for n in shown if {n - 1, n - 2} <= shown.keys()
                          and shown[n] == shown[n - 2] != shown[n - 1]]
        run = longest = 0
        for n in sorted(shown):
            run = run + 1 if n in back_and_forth else 0
            longest = max(longest, run)
        assert longest <= 2, f"the texture went back and forth {longest} frames in a row, at frames {back_and_forth}"
        assert demo.problems() == []
    finally:
        browser.close()
