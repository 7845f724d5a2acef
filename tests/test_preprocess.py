"""The browser's preprocessing equals training's transform (builder/training/transform.py).

A still image goes in through the page's own file input (a real image source), and
`demo.inputPixels()` hands back the model input the page made from it. That must match
`photo_input` (centre crop, luma, area down to low_size, bicubic up, no jitter) within 1e-3,
on every path the page can take to make it:

  webgl   - the three GLSL passes (glsl/preprocess_*.frag.glsl), bicubic in the shader;
  wasm    - the GLSL area pass, one readback, bicubic in JS (js/frame/upscale.js);
  canvas  - no WebGL2 at all: area on a 2D canvas (js/frame/preprocess_canvas.js), then the
            same JS bicubic;
  worker  - the frame workers (js/frame/worker.js): the same 2D-canvas code on an
            OffscreenCanvas, fed a transferred ImageBitmap.

Each path runs for a model without input levels (tiny_a) and one with them (tiny_b, conftest's
TINY_LEVELS): the mean pass's deviation and gain, and the JS upscaler's, must be training's too.

A changed bicubic tap (the Keys a, a weight) moves the result by about 1e-2, ten times the
tolerance; leaving the levels out moves the levelled model's input by far more (asserted).
"""

import dataclasses
import json

import numpy as np
import pytest
from PIL import Image

from builder.training.transform import TransformParams, photo_input
from conftest import TINY_LEVELS, TINY_MODELS

TOLERANCE = 1e-3  # on [-1, 1] values; the GL area pass is within about 1e-4 of exact box overlap

# A browser without WebGL2 (nor WebGL): the page must fall back to its 2D-canvas preprocessing.
NO_WEBGL = """
const getContext = HTMLCanvasElement.prototype.getContext;
HTMLCanvasElement.prototype.getContext = function (type, ...options) {
  return type === 'webgl2' || type === 'webgl' ? null : getContext.call(this, type, ...options);
};
"""

# path -> (query, readbacks per frame and frame workers that path has: how the test knows it ran
# the path meant)
PATHS = {
    "webgl": ("?backend=webgl", 0, 0),
    "wasm": ("?backend=wasm&workers=0", 1, 0),
    "canvas": ("?backend=wasm&workers=0", 0, 0),
    "worker": ("?backend=wasm&workers=2", 0, 2),
}


def still_image(width: int, height: int) -> np.ndarray:
    """(height, width, 3) uint8: smooth colour gradients, so the 3x3-ish low-res image varies."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 128 + 100 * np.sin(x / width * 2.3 + 0.4) * np.cos(y / height * 1.7)
    g = 40 + 180 * (y / height) ** 1.5
    b = 200 - 150 * x / width + 30 * np.sin(y / 9.0)
    return np.clip(np.rint(np.stack([r, g, b], axis=-1)), 0, 255).astype(np.uint8)


def rerun_last_frame(demo) -> None:
    """Reruns the pipeline on the current source (a control's input event) and waits for it."""
    frames = demo.stats()["frames"]
    demo.page.dispatch_event("#brightness", "input")  # the value stays 0: no jitter
    demo.wait_frames(frames + 1)


@pytest.mark.parametrize("model", TINY_MODELS)
@pytest.mark.parametrize("path", PATHS)
def test_preprocessing_matches_the_training_transform(open_page, camera_context, tmp_path, path, model):
    query, readbacks, workers = PATHS[path]
    if path == "canvas":
        camera_context.add_init_script(NO_WEBGL)
    demo = open_page(f"{query}&model={model}")
    demo.wait_ready()
    config = json.loads(demo.page.locator("#runtime-config").text_content())
    meta = next(m for m in config["models"] if m["name"] == model)["meta"]
    params = TransformParams.from_meta(meta)
    assert params.to_meta() == meta["transform"], "meta.json's transform is not the one training writes"
    assert params.levels == TINY_LEVELS.get(model)
    size = params.size

    # Landscape, its short side the model's size: photo_input's resize to `size` is then the
    # identity, and the page's centre crop is whole pixels.
    image = still_image(width=size * 3 // 2, height=size)
    png = tmp_path / "still.png"
    Image.fromarray(image).save(png)
    demo.page.set_input_files("#source-file", str(png))
    demo.wait_for("() => window.demo.stats().source === 'image'", "the image source")
    # Frames started before the switch (one per frame worker, and one being dealt out) may still
    # be shown after it; one rerun more than those leaves only frames of the image.
    for _ in range(max(1, workers) + 1):
        rerun_last_frame(demo)
    stats = demo.stats()

    pixels = np.asarray(demo.page.evaluate("() => Array.from(window.demo.inputPixels())"), np.float32)
    expected = photo_input(image, params)[..., 0]
    if params.levels:  # the image's own levels are far from the model's: the test can tell
        unlevelled = photo_input(image, dataclasses.replace(params, levels=None))[..., 0]
        assert np.abs(unlevelled - expected).max() > 20 * TOLERANCE
    assert pixels.shape == (size * size,)
    error = np.abs(pixels.reshape(size, size) - expected)
    worst = np.unravel_index(error.argmax(), error.shape)
    assert error.max() < TOLERANCE, (
        f"{path}: the page's model input differs from photo_input by up to {error.max():.2e} "
        f"(mean {error.mean():.2e}) at row {worst[0]}, column {worst[1]}: "
        f"{pixels.reshape(size, size)[worst]:.5f} against {expected[worst]:.5f}")
    assert (stats["readbacksPerFrame"], stats["workers"]) == (readbacks, workers), f"{path}: not the path meant ({stats})"
    assert demo.problems() == []
