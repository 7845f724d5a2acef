"""The scorecard's measures: pure NumPy functions of images in [-1, 1], (S, S, 3) or (n, S, S, 3).

Each is shown to catch its defect when planted, and to pass the theme's own pictures
(tests/test_evaluate.py).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

LUMA = np.asarray((0.299, 0.587, 0.114), np.float32)
COARSEST_PX, MAX_LEVELS = 16, 5  # Laplacian pyramid: 256, 128, 64, 32, 16 px for a 256-px model
PATCH = 7
PATCHES_PER_IMAGE = 128
PROJECTIONS, REPEATS = 128, 4


def luminance(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) colour or (..., 1) grey -> (...)."""
    rgb = np.asarray(rgb, np.float32)
    return rgb[..., 0] if rgb.shape[-1] == 1 else rgb @ LUMA


# -- theme likeness: sliced Wasserstein distance of Laplacian-pyramid patches (Karras et al. 2018) ----

def _half(image: np.ndarray) -> np.ndarray:
    """Gaussian blur then 2x decimation, (n, S, S, c) -> (n, S/2, S/2, c)."""
    return gaussian_filter(image, sigma=(0, 1, 1, 0), mode="reflect")[:, ::2, ::2]


def _double(image: np.ndarray) -> np.ndarray:
    return gaussian_filter(image.repeat(2, axis=1).repeat(2, axis=2), sigma=(0, 1, 1, 0), mode="reflect")


def laplacian_pyramid(images: np.ndarray, levels: int) -> list[np.ndarray]:
    """Band-pass levels, finest first; the last one is the coarse Gaussian level itself."""
    bands, current = [], np.asarray(images, np.float32)
    for _ in range(levels - 1):
        smaller = _half(current)
        bands.append(current - _double(smaller))
        current = smaller
    return bands + [current]


def pyramid_sizes(size: int) -> list[int]:
    """The pyramid's level sizes for `size`-px images, finest first, down to 16 px (at most 5)."""
    sizes = [size]
    while len(sizes) < MAX_LEVELS and sizes[-1] // 2 >= COARSEST_PX:
        sizes.append(sizes[-1] // 2)
    return sizes


def level_patches(images: np.ndarray, rng: np.random.Generator, per_image: int = PATCHES_PER_IMAGE) -> list:
    """For each pyramid level: (n * per_image, 7*7*3) random patches of (n, S, S, 3) images."""
    out = []
    for band in laplacian_pyramid(images, len(pyramid_sizes(images.shape[1]))):
        n, h, w, c = band.shape
        ys = rng.integers(0, h - PATCH + 1, (n, per_image))
        xs = rng.integers(0, w - PATCH + 1, (n, per_image))
        offsets = np.arange(PATCH)
        rows = ys[..., None, None] + offsets[:, None]  # (n, k, 7, 1)
        cols = xs[..., None, None] + offsets[None, :]  # (n, k, 1, 7)
        patches = band[np.arange(n)[:, None, None, None], rows, cols]  # (n, k, 7, 7, c)
        out.append(patches.reshape(n * per_image, PATCH * PATCH * c))
    return out


def _normalise(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension zero mean, unit std over both sets together (so a scale change still counts)."""
    both = np.concatenate([a, b])
    mean, std = both.mean(0), both.std(0) + 1e-8
    return (a - mean) / std, (b - mean) / std


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> float:
    """Mean over random unit directions of the 1-D Wasserstein distance of the projections."""
    n = min(len(a), len(b))
    a = a[rng.permutation(len(a))[:n]]
    b = b[rng.permutation(len(b))[:n]]
    a, b = _normalise(a, b)
    total = 0.0
    for _ in range(REPEATS):
        directions = rng.standard_normal((a.shape[1], PROJECTIONS)).astype(np.float32)
        directions /= np.linalg.norm(directions, axis=0, keepdims=True)
        pa, pb = np.sort(a @ directions, axis=0), np.sort(b @ directions, axis=0)
        total += float(np.abs(pa - pb).mean())
    return 1e3 * total / REPEATS  # x1e3, as Karras et al. report it


def swd_per_level(a_patches: list, b_patches: list, seed: int = 0) -> list[float]:
    """One SWD per pyramid level, with a fixed projection seed so figures compare within a run."""
    return [sliced_wasserstein(a, b, np.random.default_rng([seed, i]))
            for i, (a, b) in enumerate(zip(a_patches, b_patches))]


def likeness(swd: list[float], floor: list[float], ceiling: list[float], levels=None) -> float:
    """(swd - floor) / (ceiling - floor) averaged over `levels` (all by default): 0 is as alike as two
    sets of the theme's own pictures, 1 is as far as another theme."""
    idx = range(len(swd)) if levels is None else levels
    s, f, c = (np.mean([v[i] for i in idx]) for v in (swd, floor, ceiling))
    return float((s - f) / max(c - f, 1e-9))


# -- follows the scene ------------------------------------------------------------------------------

def correlation(inputs: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """Per image: Pearson correlation of output luminance with the (1-channel) input."""
    x = np.asarray(inputs, np.float32)[..., 0].reshape(len(inputs), -1)
    y = luminance(outputs).reshape(len(outputs), -1)
    x, y = x - x.mean(1, keepdims=True), y - y.mean(1, keepdims=True)
    return (x * y).sum(1) / (np.sqrt((x * x).sum(1) * (y * y).sum(1)) + 1e-12)


# -- no stamped pattern -------------------------------------------------------------------------------

def welch_power(gray: np.ndarray, tile: int = 128) -> np.ndarray:
    """Power spectrum averaged over Hann-windowed tiles at 50 % overlap (Welch): a stamped lattice
    is the same in every tile and survives the average; chance peaks of one tile do not."""
    window = np.outer(np.hanning(tile), np.hanning(tile))
    step = tile // 2
    spectra = [np.abs(np.fft.fft2((t - t.mean()) * window)) ** 2
               for y in range(0, gray.shape[0] - tile + 1, step)
               for x in range(0, gray.shape[1] - tile + 1, step)
               for t in [gray[y:y + tile, x:x + tile]]]
    return np.fft.fftshift(np.mean(spectra, axis=0))


def lattice_peak(rgb: np.ndarray, min_period: float = 2.0, max_period: float = 64.0, tile: int | None = None) -> float:
    """The strongest spectral peak at periods min_period..max_period px, as a multiple of the median
    power of its 9x9 spectral neighbourhood, off the two frequency axes. A stamped motif repeats on
    a 2-D grid and puts its power in isolated bins, on and off the axes; the axes themselves carry
    every horizontal and vertical edge of a scene (a horizon, a table's edge), which is no lattice.
    Measured here: the evaluation's photographs 3-40 (median 6), the themes' own pictures 3-8
    (ocean's waves up to 170), the session-3 nebula model 9-23 (median 16)."""
    from scipy.ndimage import median_filter

    tile = tile or min(128, rgb.shape[0] // 2)  # 128-px tiles of a 256-px picture
    power = welch_power(luminance(rgb), tile)
    f = np.fft.fftshift(np.fft.fftfreq(tile)) * tile  # in bins
    fy, fx = np.meshgrid(f, f, indexing="ij")
    radius = np.hypot(fy, fx)
    band = (radius >= tile / max_period) & (radius <= tile / min_period) & (np.abs(fy) > 1.5) & (np.abs(fx) > 1.5)
    ratio = power / (median_filter(power, size=9, mode="wrap") + 1e-12)
    return float(ratio[band].max())


def high_pass(rgb: np.ndarray, sigma: float = 3.0) -> np.ndarray:
    g = luminance(rgb)
    return g - gaussian_filter(g, sigma)


def repetition(rgb: np.ndarray, min_lag: int = 8, max_lag: int = 40) -> float:
    """How strongly fine detail repeats: the peak autocorrelation of the high-passed luminance at
    shifts of min_lag..max_lag pixels (0: nothing repeats, 1: a perfect lattice). The frame's
    outer tenth is left out (a rim is another test's business)."""
    margin = rgb.shape[0] * 24 // 256
    max_lag = min(max_lag, (rgb.shape[0] - 2 * margin) // 2 - 1)
    high = high_pass(rgb)[margin:-margin, margin:-margin]
    n0, n1 = high.shape
    ac = np.fft.fftshift(np.real(np.fft.ifft2(np.abs(np.fft.fft2(high, s=(2 * n0, 2 * n1))) ** 2)))
    if ac[n0, n1] <= 1e-12:
        return 0.0  # no fine detail at all: nothing to repeat
    ac /= ac[n0, n1]
    dy, dx = np.mgrid[-max_lag:max_lag + 1, -max_lag:max_lag + 1]
    window = ac[n0 - max_lag:n0 + max_lag + 1, n1 - max_lag:n1 + max_lag + 1]
    return float(window[np.hypot(dy, dx) >= min_lag].max())


# -- colour and strokes -----------------------------------------------------------------------------

def colourfulness(rgb: np.ndarray) -> float:
    """Hasler and Suesstrunk's (2003) colourfulness of one picture, on [0, 1] values: the spread
    and the mean of its opponent channels (red-green, yellow-blue). 0: grey; a vivid photograph
    about 0.2."""
    x = (np.asarray(rgb, np.float32) + 1.0) / 2.0
    rg = x[..., 0] - x[..., 1]
    yb = 0.5 * (x[..., 0] + x[..., 1]) - x[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def stroke_direction(rgb: np.ndarray) -> complex:
    """Which way the fine detail's strokes run, as a doubled-angle mean of its gradients weighted by
    their energy (the structure tensor as one complex number): 0 when strokes run every way, modulus
    1 when all run one way, its angle (halved) their gradients' direction."""
    gy, gx = np.gradient(high_pass(rgb))
    z = (gx + 1j * gy) ** 2
    return complex(z.sum() / (np.abs(z).sum() + 1e-12))


def stroke_bias(outputs: np.ndarray, references: np.ndarray) -> float:
    """How far the outputs' strokes lean, taken together, from the way the theme's own pictures'
    strokes lean on average: a generator that hatches every picture in one direction (diagonal
    scratches, brush streaks) moves this away from 0; strokes at random places but every angle,
    or the theme's own lean (the sea's horizontal ripples), do not."""
    lean = lambda images: np.mean([stroke_direction(y) for y in images])
    return float(abs(lean(outputs) - lean(references)))


# -- moves with the scene --------------------------------------------------------------------------

def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (np.sqrt((a * a).sum() * (b * b).sum()) + 1e-12))


def travel(frames: np.ndarray, shift: int) -> float:
    """Whether fine detail travels with a scene panned `shift` px a frame to the left (the view
    moves right): corr(detail of frame t+1, detail of frame t moved with the scene) minus
    corr(the same, left where it was on the screen), averaged over consecutive frames.
    Near 1: detail moves with the scene; near or below 0: it stays fixed to the screen."""
    scores = []
    for a, b in zip(frames[:-1], frames[1:]):
        ha, hb = high_pass(a), high_pass(b)
        with_scene = _corr(hb[:, :-shift], ha[:, shift:])  # what was at x + shift is now at x
        on_screen = _corr(hb[:, :-shift], ha[:, :-shift])
        scores.append(with_scene - on_screen)
    return float(np.mean(scores))
