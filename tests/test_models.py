"""The committed models: complete, small, and their output follows real photographs."""

import json
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from builder.site.build import read_meta
from builder.site.convert import load_saved_model
from builder.training.evaluate.metrics import high_pass, repetition
from builder.training.photos import photo_inputs
from builder.training.themes import render
from builder.training.transform import LUMA, TransformParams, photo_input

MODELS = Path(__file__).resolve().parent.parent / "models"
COMMITTED = sorted(p.name for p in MODELS.iterdir() if (p / "meta.json").is_file())


def test_at_least_two_themes_are_committed():
    assert "nebula" in COMMITTED and len(COMMITTED) >= 2


@pytest.fixture(scope="module", params=COMMITTED)
def model(request):
    path = MODELS / request.param
    meta = read_meta(path)
    generate = load_saved_model(path / "saved_model")
    params = TransformParams.from_meta(meta)
    _, inputs = photo_inputs(params)
    return path, meta, inputs, generate(inputs), generate


def test_model_directory_is_complete(model):
    path, meta, _, _, _ = model
    assert meta["input"]["size"] == 256 and meta["params"] <= 1_000_000
    for key in ("loss_curve", "samples", "evidence", "preview"):
        assert meta[key] and (path / meta[key]).is_file(), key
    # Every clone carries them: float16 weights and JPEG samples keep each near 3 MB.
    assert sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) < 3_500_000


def test_committed_config_names_no_machine_paths(model):
    """config.toml is how a reader reproduces the model: it must work on their clone, so its
    folders are the repository's own relative ones, not the trainer's home directory."""
    config = tomllib.loads((model[0] / "config.toml").read_text())
    for key in ("runs_dir", "models_dir", "cache_dir"):
        assert not Path(config[key]).is_absolute(), f"{key} = {config[key]!r}"


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


def nyquist_patterns(n: int) -> list[np.ndarray]:
    """The three period-2 patterns a pixel grid can carry: checkerboard, rows, columns."""
    i, j = np.indices((n, n))
    return [((i + j) % 2) * 2 - 1.0, (i % 2) * 2 - 1.0, (j % 2) * 2 - 1.0]


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


def checkerboard_amplitude(rgb: np.ndarray) -> float:
    """The strongest period-2 pattern locked to the pixel grid, in 8-bit grey levels."""
    g = rgb.mean(-1) * 127.5  # [-1, 1] -> grey levels
    window = np.outer(np.hanning(g.shape[0]), np.hanning(g.shape[1]))
    return float(max(abs((g * p * window).sum()) / window.sum() for p in nyquist_patterns(g.shape[0])))


def test_no_checkerboard(model):
    """No period-2 pattern that stands out from the spectrum and is big enough to see. (In
    near-black regions, where the output tanh saturates, a trained model can carry a Nyquist
    peak of a fraction of a grey level: it stands out of an almost empty spectrum, and no
    8-bit screen can show it.)"""
    _, _, _, outputs, _ = model
    checker = nyquist_patterns(outputs.shape[1])[0]  # what a checkerboard artifact looks like
    for y in outputs:
        assert checkerboard_score(y) < 20 or checkerboard_amplitude(y) < 1.0
        faint = y + 0.03 * checker[..., None]  # a 4-grey-level checkerboard: the measure sees it
        assert checkerboard_score(faint) > 20 and checkerboard_amplitude(faint) > 1.0


def detail_energy(rgb: np.ndarray) -> float:
    return float(np.mean(high_pass(rgb) ** 2))


def test_detail_does_not_repeat_more_than_in_the_theme_itself(model):
    """No lattice of stamped detail: the output repeats itself no more than the theme's own
    pictures do (waves are quasi-periodic; stars are not)."""
    _, meta, _, outputs, _ = model
    n = outputs.shape[1]
    theme = [render(meta["theme"], seed, n) / 127.5 - 1.0 for seed in range(8)]
    allowed = max(repetition(t) for t in theme) + 0.1
    dots = np.zeros((n, n))
    dots[8::16, 8::16] = 1.0
    stamps = gaussian_filter(dots, 1.0)[..., None]  # what a stamped lattice looks like: a star every 16 px
    for y in outputs:
        assert repetition(y) < allowed
        # The measure would see one that carries twice the detail the picture has.
        gain = np.sqrt(2 * detail_energy(y) / detail_energy(stamps))
        assert repetition(y + gain * stamps) > allowed


def edge_steps(luminance: np.ndarray, at: int = 0, rim: int = 6, inside: int = 18) -> np.ndarray:
    """How much brighter (or darker) a `rim`-pixel band `at` pixels in from each side is than the
    `inside` pixels just within it, as the median along that side: (n, S, S) -> (n, 4), top,
    bottom, left, right. A painted frame is a step all along the edge (at=0)."""
    sides = [luminance, luminance[:, ::-1], np.swapaxes(luminance, 1, 2), np.swapaxes(luminance, 1, 2)[:, ::-1]]
    outer, inner = slice(at, at + rim), slice(at + rim, at + rim + inside)
    return np.stack([np.median(side[:, outer].mean(axis=1) - side[:, inner].mean(axis=1), axis=1)
                     for side in sides], axis=1)


def frame_excess(luminance: np.ndarray) -> np.ndarray:
    """How far the step at each edge exceeds the same step taken further in: (n, 4). A picture's
    own shapes (a noise texture paints clouds on a blank wall) make such steps everywhere; a
    frame makes one at the edge only."""
    further_in = np.max([np.abs(edge_steps(luminance, at)) for at in (24, 48, 72, 96)], axis=0)
    return np.abs(edge_steps(luminance)) - further_in


def test_a_uniform_scene_has_no_frame(model):
    """A blank wall in front of the camera: no frame, rims or corner blotches at the edges."""
    _, meta, inputs, _, generate = model
    params = TransformParams.from_meta(meta)
    walls = [np.full((params.size, params.size, 3), grey, np.uint8) for grey in (51, 102, 153, 204)]
    reach = np.stack([photo_input(wall, params) for wall in walls])  # what the transform makes of them
    if params.levels:
        # Input levels move every blank wall to the levels' mean: the model sees one wall, and the
        # visitor's brightness control (training's jitter range) moves it from there.
        assert np.ptp(reach) < 1e-3
        reach = reach[:1] + 2 * params.brightness * np.array([-1, -1 / 3, 1 / 3, 1], np.float32)[:, None, None, None]
    outputs = generate(reach.astype(np.float32))
    luminance = outputs @ np.asarray(LUMA, np.float32)  # (walls, S, S)
    assert frame_excess(luminance).max() < 0.05, frame_excess(luminance)
    if not params.levels:  # the picture still follows the wall's brightness (with levels it cannot:
        # training's inputs all sit at the levels' mean but for a jitter the target does not follow)
        assert np.ptp(luminance.mean(axis=(1, 2))) > 0.1
    else:  # ... but it paints the theme on the wall, not one flat colour
        assert luminance.std(axis=(1, 2)).min() > 0.02
    n = luminance.shape[1]
    # A 6-px frame, 38 grey levels above the strongest step the picture itself makes further in
    # (fire paints flames on a bright wall, and those steps are the measure's yardstick).
    level = 0.3 + np.max([np.abs(edge_steps(luminance, at)) for at in (24, 48, 72, 96)])
    rim = np.zeros((n, n))
    rim[:6], rim[-6:], rim[:, :6], rim[:, -6:] = level, level, level, level
    assert (frame_excess(luminance + rim) > 0.05).all()  # the measure would see one (zero padding painted such)


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
