"""The committed models: complete, small, and their output follows real photographs."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from builder.build import read_meta
from builder.convert import load_saved_model
from builder.photos import photo_inputs
from builder.themes import render
from builder.transform import LUMA, TransformParams

MODELS = Path(__file__).resolve().parent.parent / "models"
COMMITTED = sorted(p.name for p in MODELS.iterdir() if (p / "meta.json").is_file())


def test_at_least_two_themes_are_committed():
    assert "nebula" in COMMITTED and len(COMMITTED) >= 2


@pytest.fixture(scope="module", params=COMMITTED)
def model(request):
    path = MODELS / request.param
    meta = read_meta(path)
    generate = load_saved_model(path / "saved_model")
    params = TransformParams(size=meta["input"]["size"], downscale=meta["transform"]["downscale"])
    _, inputs = photo_inputs(params)
    return path, meta, inputs, generate(inputs), generate


def test_model_directory_is_complete(model):
    path, meta, _, _, _ = model
    assert meta["input"]["size"] == 256 and meta["params"] <= 1_000_000
    for key in ("loss_curve", "samples", "evidence", "preview"):
        assert meta[key] and (path / meta[key]).is_file(), key
    # Every clone carries them: float16 weights and JPEG samples keep each near 3 MB.
    assert sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) < 3_500_000


def test_output_follows_the_input_on_real_photographs(model):
    """Bright regions of the input become bright regions of the output."""
    _, _, inputs, outputs, _ = model
    for x, y in zip(inputs, outputs):
        lum_in = x[..., 0].ravel()
        lum_out = (y @ np.asarray(LUMA, np.float32)).ravel()
        assert np.corrcoef(lum_in, lum_out)[0, 1] > 0.4


def test_output_is_vivid_and_structured(model):
    _, _, inputs, outputs, _ = model
    rgb = (outputs + 1) / 2
    saturation = rgb.max(-1) - rgb.min(-1)
    assert saturation.mean() > 0.08, "output should be colourful, not grey"
    # Structure finer than the input can carry: the generator adds detail.
    detail_out = np.abs(np.diff(rgb.mean(-1), axis=2)).mean()
    detail_in = np.abs(np.diff((inputs[..., 0] + 1) / 2, axis=2)).mean()
    assert detail_out > 1.5 * detail_in


def checkerboard_score(rgb: np.ndarray) -> float:
    """How much a period-2 pattern stands out: power at the Nyquist bins over the mean power of
    their spectral neighbours (a smooth spectrum gives ~1; transposed-conv checkerboards give 100s)."""
    g = rgb.mean(-1)
    n = g.shape[0]
    power = np.abs(np.fft.fft2((g - g.mean()) * np.outer(np.hanning(n), np.hanning(n)))) ** 2
    scores = []
    for a, b in [(n // 2, 0), (0, n // 2), (n // 2, n // 2)]:
        ring = [power[(a + da) % n, (b + db) % n] for da in range(-3, 4) for db in range(-3, 4)
                if max(abs(da), abs(db)) >= 2]
        scores.append(power[a, b] / (np.mean(ring) + 1e-12))
    return float(max(scores))


def test_no_checkerboard(model):
    _, _, _, outputs, _ = model
    n = outputs.shape[1]
    checker = np.indices((n, n)).sum(0) % 2 * 2 - 1.0  # what a checkerboard artifact looks like
    for y in outputs:
        assert checkerboard_score(y) < 20
        assert checkerboard_score(y + 0.03 * checker[..., None]) > 20  # the measure would see one


def high_pass(rgb: np.ndarray) -> np.ndarray:
    g = rgb.mean(-1)
    return g - gaussian_filter(g, 3.0)


def detail_energy(rgb: np.ndarray) -> float:
    return float(np.mean(high_pass(rgb) ** 2))


def repetition_score(rgb: np.ndarray, margin: int = 24, min_lag: int = 8, max_lag: int = 40) -> float:
    """How strongly fine detail repeats: the peak autocorrelation of the high-passed luminance at
    shifts of min_lag..max_lag pixels (0: nothing repeats, 1: a perfect lattice).

    A generator that cannot tell where a star or a wave crest belongs can stamp it at every cell of
    its own coarse feature grid (16 px apart here); random detail does not correlate with itself."""
    high = high_pass(rgb)[margin:-margin, margin:-margin]
    n0, n1 = high.shape
    ac = np.fft.fftshift(np.real(np.fft.ifft2(np.abs(np.fft.fft2(high, s=(2 * n0, 2 * n1))) ** 2)))
    ac /= ac[n0, n1]
    dy, dx = np.mgrid[-max_lag:max_lag + 1, -max_lag:max_lag + 1]
    window = ac[n0 - max_lag:n0 + max_lag + 1, n1 - max_lag:n1 + max_lag + 1]
    return float(window[np.hypot(dy, dx) >= min_lag].max())


# Models known to fail the lattice test, and why. Strict: the day one passes, the test says so.
KNOWN_LATTICE = {
    "nebula": "issue #3: the nebula generator still stamps invented texture on a lattice "
              "(repetition 0.17-0.28 against 0.14 allowed; the zero-padded model before it had 0.36-0.47)",
}


def test_detail_does_not_repeat_more_than_in_the_theme_itself(model, request):
    """No lattice of stamped detail: the output repeats itself no more than the theme's own
    pictures do (waves are quasi-periodic; stars are not)."""
    _, meta, _, outputs, _ = model
    if meta["name"] in KNOWN_LATTICE:
        request.applymarker(pytest.mark.xfail(strict=True, reason=KNOWN_LATTICE[meta["name"]]))
    n = outputs.shape[1]
    theme = [render(meta["theme"], seed, n) / 127.5 - 1.0 for seed in range(8)]
    allowed = max(repetition_score(t) for t in theme) + 0.1
    dots = np.zeros((n, n))
    dots[8::16, 8::16] = 1.0
    stamps = gaussian_filter(dots, 1.0)[..., None]  # what a stamped lattice looks like: a star every 16 px
    for y in outputs:
        assert repetition_score(y) < allowed
        # The measure would see one that carries twice the detail the picture has.
        gain = np.sqrt(2 * detail_energy(y) / detail_energy(stamps))
        assert repetition_score(y + gain * stamps) > allowed


def test_a_uniform_scene_gives_a_uniform_picture(model):
    """A blank wall in front of the camera: no frame, rims or corner blotches at the edges."""
    _, _, inputs, _, generate = model
    levels = np.array([-0.6, -0.2, 0.2, 0.6], np.float32)[:, None, None, None]
    outputs = generate(np.broadcast_to(levels, (len(levels), *inputs.shape[1:])).copy())
    luminance = outputs @ np.asarray(LUMA, np.float32)  # (levels, S, S)
    spread = luminance.max(axis=(1, 2)) - luminance.min(axis=(1, 2))
    assert spread.max() < 0.05, spread
    assert np.ptp(luminance.mean(axis=(1, 2))) > 0.1  # the picture still follows the wall's brightness


def test_the_built_default_model_weighs_at_most_one_megabyte(real_site):
    """What every visitor downloads, measured on the site the README's build command makes."""
    runtime = json.loads(re.search(r'id="runtime-config">(.*?)</script>', (real_site / "index.html").read_text(),
                                   re.S).group(1))
    report = json.loads((real_site / "quantization.json").read_text())
    default = report[runtime["defaultModel"]]
    assert default["bytes"] <= 1_000_000 and default["psnr_db"] >= 40
    for name, q in report.items():
        model_json = real_site / next(m["url"] for m in runtime["models"] if m["name"] == name)
        shards = [p for g in json.loads(model_json.read_text())["weightsManifest"] for p in g["paths"]]
        assert sum((model_json.parent / p).stat().st_size for p in shards) == q["bytes"]
        assert all((model_json.parent / p).stat().st_size <= 4 * 1024 * 1024 for p in shards)
