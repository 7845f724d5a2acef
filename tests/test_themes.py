"""Built-in datasets: deterministic, well-formed, rich at every scale, varied in coarse layout."""

import itertools
import time

import numpy as np
import pytest
from PIL import Image

from builder.errors import ConfigError
from builder.training.themes import THEMES, render

LUMA = np.array([0.299, 0.587, 0.114])  # the transform's grayscale weights
LOW_SIZE = 11  # the transform's low-resolution side: what the generator gets to see


def luminance(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float64) @ LUMA  # (h, w), 0..255


def coarse_layout(image: np.ndarray) -> np.ndarray:
    """Luminance area-downscaled to 11 x 11, as the input transform sees it."""
    lum = Image.fromarray(luminance(image).astype(np.float32))
    return np.asarray(lum.resize((LOW_SIZE, LOW_SIZE), Image.Resampling.BOX), dtype=np.float64)


def band_std(lum: np.ndarray, block: int) -> float:
    """Std of the detail between block-averages of `block` px and of 2 * `block` px."""
    n = lum.shape[0] // block
    fine = lum[: n * block, : n * block].reshape(n, block, n, block).mean(axis=(1, 3))
    coarse = fine[: n // 2 * 2, : n // 2 * 2].reshape(n // 2, 2, n // 2, 2).mean(axis=(1, 3))
    return float((fine[: n // 2 * 2, : n // 2 * 2] - np.kron(coarse, np.ones((2, 2)))).std())


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_same_arguments_give_the_same_image_and_seeds_differ(theme):
    first = render(theme, 7, 96)
    assert np.array_equal(first, render(theme, 7, 96))
    assert not np.array_equal(first, render(theme, 8, 96))


@pytest.mark.parametrize("theme", sorted(THEMES))
@pytest.mark.parametrize("size", [16, 33, 128])
def test_shape_and_dtype(theme, size):
    image = render(theme, 3, size)
    assert image.shape == (size, size, 3)
    assert image.dtype == np.uint8


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_images_have_contrast_and_detail_at_every_scale(theme):
    for seed in range(4):
        lum = luminance(render(theme, seed, 256))
        assert lum.std() > 12.0, f"{theme} seed {seed}: flat image (luminance std {lum.std():.1f})"
        for block in (1, 4, 16):  # pixel detail, texture, large shapes
            energy = band_std(lum, block)
            assert energy > 2.0, f"{theme} seed {seed}: no detail at {block} px (band std {energy:.2f})"


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_coarse_layout_differs_from_seed_to_seed(theme):
    # The generator sees only an 11 x 11 blur; if that were the same for every image it
    # could not learn to follow its input.
    layouts = [coarse_layout(render(theme, seed, 128)) for seed in range(8)]
    for (i, a), (j, b) in itertools.combinations(enumerate(layouts), 2):
        difference = np.abs(a - b).mean()
        assert difference > 8.0, f"{theme}: seeds {i} and {j} have nearly the same layout ({difference:.1f})"
    spread = np.std(layouts, axis=0).mean()  # how much each cell varies across seeds
    assert spread > 15.0, f"{theme}: coarse layouts vary too little across seeds ({spread:.1f})"


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_a_seed_draws_the_same_picture_at_any_size(theme):
    small, large = (coarse_layout(render(theme, 5, size)) for size in (96, 192))
    assert np.corrcoef(small.ravel(), large.ravel())[0, 1] > 0.9


@pytest.mark.filterwarnings("error")  # no overflow, no NaN cast, whatever the seed draws
@pytest.mark.parametrize("theme", sorted(THEMES))
def test_many_seeds_render_cleanly(theme):
    for seed in range(40):
        render(theme, seed, 48)


def test_unknown_theme_is_a_config_error_naming_the_themes():
    with pytest.raises(ConfigError) as error:
        render("lava", 0, 64)
    message = str(error.value)
    assert "lava" in message and "\n" not in message
    assert all(name in message for name in THEMES)


def test_too_small_a_size_is_refused():
    with pytest.raises(ValueError, match="at least 16"):
        render("nebula", 0, 8)


def test_theme_info_describes_each_theme():
    assert {"nebula", "ocean"} <= set(THEMES)
    for name, info in THEMES.items():
        assert info.title and info.description and "\n" not in info.description, name
        assert isinstance(info.flip_horizontal, bool) and isinstance(info.flip_vertical, bool), name
    assert THEMES["nebula"].flip_vertical  # space has no up
    assert not THEMES["ocean"].flip_vertical  # the sky stays on top


@pytest.mark.timed
@pytest.mark.parametrize("theme", sorted(THEMES))
def test_render_time_floor(theme):
    # Loose floor only; the target is well under 0.5 s at 400 px on one core.
    render(theme, 0, 64)  # warm up imports and caches
    start = time.perf_counter()
    render(theme, 1, 400)
    assert time.perf_counter() - start < 2.0


# -- clouds ----------------------------------------------------------------------------------

def test_clouds_flip_left_right_but_keep_the_sky_on_top():
    assert THEMES["clouds"].flip_horizontal
    assert not THEMES["clouds"].flip_vertical


@pytest.mark.filterwarnings("error")
def test_clouds_draw_display_values_in_range_without_clipping():
    from builder.training.themes import clouds

    for seed in range(12):
        image = clouds.draw(np.random.default_rng(seed), 48)
        assert image.shape == (48, 48, 3) and np.isfinite(image).all(), seed
        assert image.min() >= 0.0 and image.max() <= 1.0, f"seed {seed}: {image.min()}..{image.max()}"
    for seed in range(4):  # nothing blown out or crushed but the sun's disk
        image = render("clouds", seed, 128)
        clipped = ((image == 255).any(axis=-1) | (image == 0).any(axis=-1)).mean()
        assert clipped < 0.01, f"seed {seed}: {clipped:.1%} of pixels clipped"


def test_clouds_skies_are_never_one_flat_colour():
    for seed in range(16):
        image = render("clouds", seed, 64).astype(np.float64)
        lum = luminance(image)
        spread = np.percentile(lum, 95) - np.percentile(lum, 5)
        assert spread > 25.0, f"seed {seed}: flat sky (luminance 5-95 % spread {spread:.0f})"
        assert image.reshape(-1, 3).std(axis=0).mean() > 8.0, f"seed {seed}: one colour"


def test_clouds_light_varies_across_seeds_not_all_blue():
    means = np.array([render("clouds", seed, 48).reshape(-1, 3).mean(axis=0) for seed in range(32)])
    red, blue = means[:, 0], means[:, 2]
    blue_sky = blue > red + 30.0  # midday
    warm = red > blue  # golden hour, dusk
    grey = np.ptp(means, axis=1) < 15.0  # overcast
    assert 0.25 < blue_sky.mean() < 0.8, f"{blue_sky.mean():.0%} of skies blue"
    assert warm.sum() >= 3, f"only {warm.sum()} warm skies of 32"
    assert grey.sum() >= 1, "no grey sky in 32"


def test_clouds_repeat_no_motif():
    # Each octave of the clouds lies on a periodic tile; turned and scaled each its own way, no two
    # repeat together. A tiled picture puts its repeat in isolated spectral peaks (shown planted).
    from builder.training.evaluate.metrics import lattice_peak

    for seed in range(6):
        image = render("clouds", seed, 256).astype(np.float32) / 127.5 - 1.0
        assert lattice_peak(image, max_period=128, tile=256) < 40.0, seed
        tiled = np.tile(image[:96, :96], (3, 3, 1))[:256, :256]
        assert lattice_peak(tiled, max_period=128, tile=256) > 60.0, seed
