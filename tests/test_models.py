"""The committed models: complete, small, and their output follows real photographs."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from builder.build import read_meta
from builder.photos import photo_inputs
from builder.tfenv import tensorflow
from builder.transform import LUMA, TransformParams

tf = tensorflow()
MODELS = Path(__file__).resolve().parent.parent / "models"
COMMITTED = sorted(p.name for p in MODELS.iterdir() if (p / "meta.json").is_file())


def test_at_least_two_themes_are_committed():
    assert "nebula" in COMMITTED and len(COMMITTED) >= 2


@pytest.fixture(scope="module", params=COMMITTED)
def model(request):
    path = MODELS / request.param
    meta = read_meta(path)
    serve = tf.saved_model.load(str(path / "saved_model")).signatures["serving_default"]
    params = TransformParams(size=meta["input"]["size"], downscale=meta["transform"]["downscale"])
    _, inputs = photo_inputs(params)
    outputs = np.concatenate([next(iter(serve(tf.constant(x[None])).values())).numpy() for x in inputs])
    return path, meta, inputs, outputs


def test_model_directory_is_complete(model):
    path, meta, _, _ = model
    assert meta["input"]["size"] == 256 and meta["params"] <= 1_000_000
    for key in ("loss_curve", "samples", "evidence", "preview"):
        assert meta[key] and (path / meta[key]).is_file(), key
    assert sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) < 5_000_000


def test_output_follows_the_input_on_real_photographs(model):
    """Bright regions of the input become bright regions of the output."""
    _, _, inputs, outputs = model
    for x, y in zip(inputs, outputs):
        lum_in = x[..., 0].ravel()
        lum_out = (y @ np.asarray(LUMA, np.float32)).ravel()
        assert np.corrcoef(lum_in, lum_out)[0, 1] > 0.4


def test_output_is_vivid_and_structured(model):
    _, _, inputs, outputs = model
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
    _, _, _, outputs = model
    n = outputs.shape[1]
    checker = np.indices((n, n)).sum(0) % 2 * 2 - 1.0  # what a checkerboard artifact looks like
    for y in outputs:
        assert checkerboard_score(y) < 20
        assert checkerboard_score(y + 0.03 * checker[..., None]) > 20  # the measure would see one


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
