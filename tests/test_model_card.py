"""The model card's scorecard: quality.json (from `python -m builder evaluate`) on the built page.

Real builds (build_site) of copies of the tiny models, one with a real evaluation; the page is
read back from the files the build wrote.
"""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from builder.config import SiteConfig
from builder.errors import BuildError
from builder.site.build import build_site
from builder.training.evaluate.scorecard import TARGETS

# A scorecard as evaluate writes it (figures only; evaluate also writes swd_per_level, anchors…).
HAND_WRITTEN = {
    "likeness": 0.21, "likeness_fine": 0.45, "correlation_median": 0.77, "correlation_min": 0.41,
    "lattice_peak_median": 6.5, "lattice_peak_max": 12.3, "repetition_median": 0.07, "repetition_max": 0.09,
    "colour_ratio": 0.83, "stroke_bias": 0.31, "moves_with_scene": 0.62, "psnr_db": None,
}


@pytest.fixture(scope="module")
def convert_cache(tmp_path_factory) -> Path:
    """One conversion cache for the module: the copies have the same SavedModels, so each converts once."""
    return tmp_path_factory.mktemp("convert-cache")


def build(models_dir: Path, out: Path, cache: Path, models: tuple[str, ...], default: str | None = None) -> str:
    config = SiteConfig(models=models, default_model=models[0] if default is None else default,
                        models_dir=str(models_dir), out_dir=str(out), cache_dir=str(cache))
    build_site(config, out, progress=lambda _: None)
    return (out / "index.html").read_text()


def card(html: str, name: str) -> str:
    return re.search(rf'<article class="card" id="model-{name}".*?</article>', html, re.DOTALL).group(0)


def text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html).strip()


def rows(card_html: str) -> dict[str, tuple[str, str, str]]:
    """Figure name (as a screen reader has it) -> (value, target, met) as the page shows them."""
    found = re.findall(r'<th scope="row">(.*?)</th><td>(.*?)</td><td>(.*?)</td>\s*<td>(.*?)</td>', card_html, re.DOTALL)
    return {text(name): (value, target, text(met)) for name, value, target, met in found}


def write_quality(model_dir: Path, figures: dict) -> None:
    passes = {k: None if figures.get(k) is None else
              (figures[k] <= t if c == "<=" else figures[k] >= t) for k, (c, t) in TARGETS.items()}
    (model_dir / "quality.json").write_text(json.dumps({"model": model_dir.name, **figures, "passes": passes}))
    Image.fromarray(np.full((24, 72, 3), 90, np.uint8)).save(model_dir / "quality.png")


def check_targets(shown: dict) -> None:
    """Every target of scorecard.TARGETS is on the card, with its comparison and number."""
    from builder.site.quality import FIGURES

    for key, (comparison, target) in TARGETS.items():
        _, target_text, _ = shown[FIGURES[key][0]]
        symbol, number = target_text.split(" ", 1)
        assert symbol == ("≤" if comparison == "<=" else "≥"), (key, target_text)
        assert float(number.removesuffix(" dB")) == pytest.approx(target), (key, target_text)


def test_card_shows_the_scorecard_beside_its_targets(tiny_models_dir, tmp_path, convert_cache):
    models = tmp_path / "models"
    shutil.copytree(tiny_models_dir, models)
    figures = dict(HAND_WRITTEN, likeness_fine=0.45)  # fails its target (<= 0.30)
    write_quality(models / "tiny_a", figures)
    html = build(models, tmp_path / "site", convert_cache, ("tiny_a", "tiny_b"))

    evaluated = card(html, "tiny_a")
    assert "Scorecard" in evaluated
    shown = rows(evaluated)
    check_targets(shown)
    assert shown["Theme likeness"] == ("0.21", "≤ 0.30", "✓ yes")
    assert shown["Likeness, fine detail"] == ("0.45", "≤ 0.30", "✗ no")  # a word says it, not only colour
    assert shown["Follows the scene, worst photograph"] == ("0.41", "", "")  # no target, no mark
    assert shown["Lattice peak, worst photograph"][0] == "12.3"
    assert shown["Repetition, worst photograph"][0] == "0.09"
    # The PSNR evaluate could not know (no built site) is the one this build measured.
    quantization = json.loads((tmp_path / "site" / "quantization.json").read_text())
    psnr = shown["Quantized weights"]
    assert psnr[0] == f"{quantization['tiny_a']['psnr_db']:.1f} dB" and psnr[2] == "✓ yes"
    met = sum(1 for v in shown.values() if v[2] == "✓ yes")
    assert f"Meets {met} of {len(TARGETS)} targets." in evaluated

    sheet = re.search(r'<img src="(models/tiny_a/quality\.[0-9a-f]{10}\.png)"', evaluated).group(1)
    assert (tmp_path / "site" / sheet).read_bytes() == (models / "tiny_a" / "quality.png").read_bytes()
    assert "Scorecard" not in card(html, "tiny_b"), "a model without quality.json has no scorecard"
    assert not list((tmp_path / "site" / "models" / "tiny_b").glob("quality.*"))
    assert " style=" not in html and "<style" not in html  # CSP: style-src 'self' only


def test_the_default_model_is_the_best_scored_unless_one_is_named(tiny_models_dir, tmp_path, convert_cache):
    models = tmp_path / "models"
    shutil.copytree(tiny_models_dir, models)
    write_quality(models / "tiny_a", dict(HAND_WRITTEN, likeness_fine=0.45))  # one target short
    write_quality(models / "tiny_b", dict(HAND_WRITTEN, likeness_fine=0.25, stroke_bias=0.1))

    def default_of(html: str) -> str:
        config = re.search(r'<script type="application/json" id="runtime-config">(.*?)</script>', html, re.DOTALL)
        return json.loads(config.group(1))["defaultModel"]

    assert default_of(build(models, tmp_path / "site", convert_cache, ("tiny_a", "tiny_b"), default="")) == "tiny_b"
    assert default_of(build(models, tmp_path / "site", convert_cache, ("tiny_a", "tiny_b"), default="tiny_a")) == "tiny_a"


@pytest.mark.parametrize("damage, words", [
    (lambda d: (d / "quality.json").write_text('{"likeness": 0.2,'), ("not valid JSON",)),
    (lambda d: (d / "quality.json").write_text("[1, 2]"), ("not a JSON object",)),
    (lambda d: (d / "quality.json").write_text(json.dumps(dict(HAND_WRITTEN, likeness="low"))),
     ("'likeness'", "not a number")),
    (lambda d: (d / "quality.json").write_text(json.dumps({k: v for k, v in HAND_WRITTEN.items()
                                                            if k != "moves_with_scene"})),
     ("'moves_with_scene'", "missing")),
    (lambda d: (d / "quality.png").unlink(), ("quality.png", "missing")),
], ids=["truncated", "not-an-object", "not-a-number", "missing-figure", "missing-sheet"])
def test_broken_quality_json_fails_with_a_one_line_error(tiny_models_dir, tmp_path, convert_cache, damage, words):
    models = tmp_path / "models"
    shutil.copytree(tiny_models_dir / "tiny_a", models / "tiny_a")
    write_quality(models / "tiny_a", HAND_WRITTEN)
    damage(models / "tiny_a")
    with pytest.raises(BuildError) as failure:
        build(models, tmp_path / "site", convert_cache, ("tiny_a",))
    message = str(failure.value)
    assert "\n" not in message
    assert str(models / "tiny_a" / "quality") in message, message
    assert f"run `python -m builder evaluate --name tiny_a --models-dir {models}`" in message, message
    for w in words:
        assert w in message, message
    assert not (tmp_path / "site").exists()


def test_card_from_a_real_evaluation(tiny_models_dir, tmp_path, convert_cache):
    """evaluate's own quality.json and quality.png, on the card."""
    from builder.training.evaluate import evaluate_model

    models = tmp_path / "models"
    shutil.copytree(tiny_models_dir / "tiny_a", models / "tiny_a")
    quality = evaluate_model(models / "tiny_a", site_dir=tmp_path / "no-site", cache_dir=tmp_path / "cache")
    html = build(models, tmp_path / "site", convert_cache, ("tiny_a",))

    shown = rows(card(html, "tiny_a"))
    check_targets(shown)
    for key, name in (("likeness", "Theme likeness"), ("correlation_median", "Follows the scene"),
                      ("repetition_max", "Repetition, worst photograph"), ("moves_with_scene", "Moves with the scene")):
        value, _, met = shown[name]
        assert float(value) == pytest.approx(quality[key], abs=0.005), key
        if key in TARGETS:
            assert met == ("✓ yes" if quality["passes"][key] else "✗ no"), key
    sheet = re.search(r'src="(models/tiny_a/quality\.[0-9a-f]{10}\.png)"', html).group(1)
    assert (tmp_path / "site" / sheet).read_bytes() == (models / "tiny_a" / "quality.png").read_bytes()
