"""The scorecard proves itself: each figure catches its defect when planted, and passes the
theme's own pictures. Synthetic outputs at full size against a real Judge (real photographs
through the transform, real theme renders); `evaluate --name` and `--run` on tiny models."""

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from builder.training.evaluate import evaluate_model, evaluate_run, references_for
from builder.training.evaluate import inputs as ev
from builder.training.evaluate import metrics as m
from builder.training.evaluate.scorecard import TARGETS, Judge, rank_key
from builder.training.transform import TransformParams

SIZE = 256


@pytest.fixture(scope="module")
def judge(tmp_path_factory):
    params = TransformParams(size=SIZE)
    own, spare, others = references_for("nebula", params, tmp_path_factory.mktemp("cache"), count=8)
    return Judge.prepare(params, own, spare, others)


@pytest.fixture(scope="module")
def pans(judge):
    """The pans' own photographs as outputs: detail that truly moves with the scene."""
    return [ev.pan_clip(ev.skimage_photo(name), SIZE) / 127.5 - 1.0 for name in ev.PAN_PHOTOS]


def like_outputs(judge, images: np.ndarray) -> np.ndarray:
    """As many outputs as the judge has inputs, cycling through `images`."""
    return np.stack([images[i % len(images)] for i in range(len(judge.inputs))]).astype(np.float32)


def stamped(images: np.ndarray, period: int = 16) -> np.ndarray:
    """A bright star every `period` px, carrying twice the picture's own fine detail."""
    dots = np.zeros((SIZE, SIZE))
    dots[period // 2::period, period // 2::period] = 1.0
    stamps = gaussian_filter(dots, 1.0)
    out = []
    for y in images:
        gain = np.sqrt(2 * np.mean(m.high_pass(y) ** 2) / np.mean((stamps - gaussian_filter(stamps, 3)) ** 2))
        out.append(y + gain * stamps[..., None])
    return np.clip(np.stack(out), -1, 1)


def test_the_themes_own_pictures_pass(judge, pans):
    card = judge.figures(like_outputs(judge, judge.references), pans)
    assert card["likeness"] < 0.15 and card["likeness_fine"] < 0.15, card
    assert card["lattice_peak_median"] <= TARGETS["lattice_peak_median"][1]
    assert card["moves_with_scene"] > 0.9
    # ... and a theme's pictures say nothing of the camera's scene.
    assert card["correlation_median"] < 0.3


def test_another_theme_is_as_far_as_the_ceiling(judge, pans, tmp_path):
    ocean = ev.theme_references("ocean", judge.params, 8, 3_000_000, tmp_path)
    card = judge.figures(like_outputs(judge, ocean), pans)
    assert card["likeness"] > 0.7 and card["passes"]["likeness"] is False


@pytest.mark.parametrize("colour", [(0.0, 0.0, 0.0), (0.6, -0.3, 0.2)], ids=["grey", "one-colour"])
def test_a_flat_output_is_no_theme(judge, pans, colour):
    flat = np.broadcast_to(np.asarray(colour, np.float32), (1, SIZE, SIZE, 3))
    card = judge.figures(like_outputs(judge, flat), pans)
    assert card["passes"]["likeness"] is False and card["passes"]["likeness_fine"] is False


def test_a_copy_of_the_input_follows_the_scene_but_is_no_theme(judge, pans):
    copy = np.repeat(judge.inputs, 3, axis=-1)
    card = judge.figures(copy, pans)
    assert card["correlation_median"] > 0.99
    assert card["passes"]["likeness"] is False and card["passes"]["likeness_fine"] is False


def test_a_stamped_lattice_is_seen(judge, pans):
    clean = like_outputs(judge, judge.references)
    card, lattice = judge.figures(clean, pans), judge.figures(stamped(clean), pans)
    assert lattice["lattice_peak_median"] > 3 * TARGETS["lattice_peak_median"][1]
    assert lattice["repetition_median"] > card["repetition_median"] + 0.2
    assert lattice["passes"]["lattice_peak_median"] is False


def test_detail_that_moves_with_the_scene_is_within_reach_of_the_soft_input(judge):
    """The transform's own grid is fixed to the screen, yet detail invented from the soft input's
    blurred values travels with the scene: the target asks for what a generator can do."""
    anchors = judge.anchors()
    assert anchors["soft_input_moves_with_scene"] < 0.2
    assert anchors["invented_from_blurred_input_moves_with_scene"] >= 0.8 * TARGETS["moves_with_scene"][1]


def test_a_texture_frozen_to_the_screen_is_seen(judge, pans):
    rng = np.random.default_rng(0)
    texture = gaussian_filter(rng.standard_normal((SIZE, SIZE)), 1.0)
    texture *= 0.5 / texture.std()
    frozen = [np.clip(clip + texture[..., None], -1, 1) for clip in pans]  # the same pattern every frame
    assert judge.figures(like_outputs(judge, judge.references), frozen)["moves_with_scene"] < 0.2
    # The same texture painted on the scene, so that it pans with it, is seen to travel.
    clip = pans[0]
    travelling = np.stack([np.clip(frame + np.roll(texture, -ev.PAN_SHIFT * t, axis=1)[..., None], -1, 1)
                           for t, frame in enumerate(clip)])
    assert m.travel(travelling, ev.PAN_SHIFT) > 0.5


def test_lattice_peak_is_low_on_real_photographs():
    labels, photos = ev.photo_crops(ev.builtin_photos())
    from PIL import Image

    peaks = [m.lattice_peak(np.asarray(Image.fromarray(p).resize((SIZE, SIZE)), np.float32) / 127.5 - 1) for p in photos]
    assert np.median(peaks) < TARGETS["lattice_peak_median"][1] / 1.5


def test_rank_prefers_more_targets_met_then_likeness():
    def card(likeness, ok):
        return {"likeness": likeness, "likeness_fine": likeness, "passes": {k: ok for k in TARGETS}}

    cards = {1: card(0.1, False), 2: card(0.5, True), 3: card(0.2, True)}
    assert min(cards, key=lambda s: rank_key(cards[s])) == 3


def test_evaluate_writes_the_scorecard_of_a_model(tiny_models_dir, tmp_path):
    import shutil

    model = shutil.copytree(tiny_models_dir / "tiny_a", tmp_path / "models" / "tiny_a")
    result = evaluate_model(model, site_dir=tmp_path / "no-site", cache_dir=tmp_path / "cache")
    saved = json.loads((model / "quality.json").read_text())
    assert saved == json.loads(json.dumps(result))
    for field in (*TARGETS, "correlation_min", "lattice_peak_max", "repetition_median", "swd_per_level", "anchors"):
        assert field in saved, field
    assert saved["psnr_db"] is None and saved["passes"]["psnr_db"] is None  # no build, no PSNR
    assert saved["anchors"]["pyramid_levels_px"] == [64, 32, 16]
    assert (model / "quality.png").stat().st_size > 10_000


def own_photos(folder: Path, names=("gravel.png", "retina.jpg", "motorcycle_right.png")) -> Path:
    """A folder of photographs the built-in scorecard never shows (scikit-image's others)."""
    import shutil

    import skimage

    folder.mkdir(parents=True)
    for name in names:
        shutil.copy(Path(skimage.__file__).parent / "data" / name, folder)
    return folder


def test_evaluate_scores_a_model_on_a_folder_of_ones_own_photographs(tiny_models_dir, tmp_path):
    import shutil

    model = shutil.copytree(tiny_models_dir / "tiny_a", tmp_path / "models" / "tiny_a")
    photos = own_photos(tmp_path / "mine")
    builtin = evaluate_model(model, site_dir=tmp_path / "no-site", cache_dir=tmp_path / "cache")
    mine = evaluate_model(model, site_dir=tmp_path / "no-site", cache_dir=tmp_path / "cache", photos_dir=photos)
    saved = json.loads((model / "quality-mine.json").read_text())
    assert saved["photos"] == str(photos) and saved["anchors"]["photos"] == 3 * len(ev.CROPS)
    assert saved["anchors"]["pans"] == 3  # the folder's own photographs, panned
    assert json.loads((model / "quality.json").read_text())["anchors"]["photos"] == builtin["anchors"]["photos"]
    assert (model / "quality-mine.png").stat().st_size > 10_000
    assert mine["correlation_median"] != builtin["correlation_median"]  # other scenes, other figures


def test_a_photograph_too_small_to_score_is_named(tmp_path):
    from PIL import Image

    from builder.errors import DataError

    photos = own_photos(tmp_path / "mine", names=("gravel.png",))
    Image.new("RGB", (100, 80), "red").save(photos / "thumb.jpg")
    with pytest.raises(DataError, match=r"thumb\.jpg: 100x80 is smaller than the model's 256px"):
        ev.folder_photos(photos, 256)
    with pytest.raises(DataError, match="no such folder"):
        ev.folder_photos(tmp_path / "missing", 256)


def test_evaluate_run_ranks_every_checkpoint(tmp_path):
    from builder.config import TrainConfig
    from builder.training.train import train

    config = TrainConfig(name="tiny", dataset="nebula", size=64, depth=3, base_filters=4, max_filters=8, steps=20,
                         checkpoint_every=10, sample_every=10, val_every=10, log_every=10, theme_images=8,
                         val_pairs=2, ema_decay=0.9, runs_dir=str(tmp_path / "runs"),
                         models_dir=str(tmp_path / "models"), cache_dir=str(tmp_path / "cache"))
    run_dir = train(config, export=False)
    result = evaluate_run(run_dir, cache_dir=tmp_path / "cache")
    assert sorted(result["checkpoints"]) == ["10", "20"]
    best = result["best_step"]
    assert best in (10, 20)
    cards = result["checkpoints"]
    assert rank_key(cards[str(best)]) == min(rank_key(c) for c in cards.values())
    assert json.loads((Path(run_dir) / "quality.json").read_text())["best_step"] == best

    # --grade rooms: each checkpoint scored with its own colour grade, fitted to it; a shift of the
    # picture's mean colour moves the coarsest level, and leaves how it follows the scene alone.
    graded = evaluate_run(run_dir, cache_dir=tmp_path / "cache", grade="rooms")["checkpoints"]
    for step, card in cards.items():
        assert graded[step]["swd_per_level"][-1] != card["swd_per_level"][-1]
        assert abs(graded[step]["correlation_median"] - card["correlation_median"]) < 0.02


def desaturated(images: np.ndarray, keep: float) -> np.ndarray:
    """Each picture moved towards its own grey by 1 - keep."""
    return images * keep + m.luminance(images)[..., None] * (1 - keep)


def hatched(images: np.ndarray, directions: list[np.ndarray], seed: int = 0) -> np.ndarray:
    """Short 7-px strokes at random places (1 % of pixels), carrying as much fine detail as the
    picture's own; the k-th picture's strokes run along directions[k % len(directions)]."""
    from scipy.signal import fftconvolve

    rng, out = np.random.default_rng(seed), []
    for k, y in enumerate(images):
        strokes = gaussian_filter(fftconvolve(rng.random((SIZE, SIZE)) < 0.01, directions[k % len(directions)],
                                              mode="same"), 0.7)
        gain = np.sqrt(np.mean(m.high_pass(y) ** 2) / np.mean(m.high_pass(strokes[..., None]) ** 2))
        out.append(np.clip(y + gain * strokes[..., None], -1, 1))
    return np.stack(out).astype(np.float32)


def test_a_greyed_theme_is_seen_and_its_own_colours_pass(judge, pans):
    own = like_outputs(judge, judge.references)
    assert judge.figures(own, pans)["colour_ratio"] > 0.9
    grey = judge.figures(desaturated(own, 0.5), pans)
    assert grey["colour_ratio"] < 0.6 and grey["passes"]["colour_ratio"] is False


def test_strokes_all_leaning_one_way_are_seen_and_strokes_every_way_are_not(judge, pans):
    diagonal = np.eye(7, dtype=np.float32)
    own = like_outputs(judge, judge.references)
    assert judge.figures(own, pans)["passes"]["stroke_bias"] is True
    one_way = judge.figures(hatched(own, [diagonal]), pans)
    assert one_way["stroke_bias"] > 2 * TARGETS["stroke_bias"][1] and one_way["passes"]["stroke_bias"] is False
    # The same strokes, half the pictures one diagonal and half the other: no lean, taken together.
    both_ways = judge.figures(hatched(own, [diagonal, diagonal[::-1]]), pans)
    assert both_ways["passes"]["stroke_bias"] is True
