"""The input transform of Learning to See: a target image becomes the soft grayscale view the
generator learns from. One pure function, `make_pair`, used by training, tests, the builder's
PSNR check and the evidence pictures. The browser mirrors it in glsl/ from meta.json's numbers.

The resampling is written as two small matrices rather than tf.image.resize so that its
definition is exact and the WebGL shaders can reproduce it tap for tap:
  area:    each low-res pixel is the mean of the source pixels it covers (fractional overlap)
  bicubic: Keys kernel (a = -0.5), half-pixel centres, clamp-to-edge
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, as tf.image.rgb_to_grayscale
CUBIC_A = -0.5
LEVEL_GAIN = (0.5, 2.0)  # input levels: the contrast gain's range (a flat wall is not made noise)
# input_levels -> the contrast gain's range: "mean" moves the brightness alone and keeps the scene's contrast
LEVEL_MODES = {"theme": LEVEL_GAIN, "mean": (1.0, 1.0)}


@dataclass(frozen=True)
class TransformParams:
    size: int = 256
    downscale: int = 24
    scale_min: float = 1.0
    scale_max: float = 1.3
    brightness: float = 0.2
    contrast: float = 0.15
    flip_horizontal: bool = True
    flip_vertical: bool = False
    levels: tuple[float, float] | None = None  # input levels (mean, sd) of the low-res image, or None
    level_gain: tuple[float, float] = LEVEL_GAIN  # with levels, the range of their contrast gain sd / s

    @classmethod
    def from_config(cls, config, dataset_flips: tuple[bool, bool] = (True, False),
                    levels: tuple[float, float] | None = None) -> "TransformParams":
        """A run's transform: the TrainConfig's numbers, flips resolved ("auto") against the dataset's,
        and the input levels measured on its images (`theme_levels`) when the config asks for them."""
        def flip(choice: str, dataset_default: bool) -> bool:
            return dataset_default if choice == "auto" else choice == "yes"

        return cls(size=config.size, downscale=config.downscale, scale_min=config.scale_min,
                   scale_max=config.scale_max, brightness=config.brightness, contrast=config.contrast,
                   flip_horizontal=flip(config.flip_horizontal, dataset_flips[0]),
                   flip_vertical=flip(config.flip_vertical, dataset_flips[1]),
                   levels=levels if config.input_levels in LEVEL_MODES else None,
                   level_gain=LEVEL_MODES.get(config.input_levels, LEVEL_GAIN))

    @classmethod
    def from_meta(cls, meta: dict) -> "TransformParams":
        """The transform a model was trained with, read back from its meta.json (see `to_meta`)."""
        t = meta["transform"]
        levels = t.get("levels")  # absent in models from before input levels
        return cls(size=meta["input"]["size"], downscale=t["downscale"], scale_min=t["scale"][0],
                   scale_max=t["scale"][1], brightness=t["brightness"], contrast=t["contrast"],
                   flip_horizontal=t["flip_horizontal"], flip_vertical=t["flip_vertical"],
                   levels=(levels["mean"], levels["sd"]) if levels else None,
                   level_gain=tuple(levels["gain"]) if levels else LEVEL_GAIN)

    @property
    def low_size(self) -> int:
        return max(1, round(self.size / self.downscale))

    def to_meta(self) -> dict:
        """The numbers the browser mirrors, as written into meta.json."""
        return {
            "downscale": self.downscale,
            "low_size": self.low_size,
            "down_filter": "area",
            "up_filter": "bicubic",
            "cubic_a": CUBIC_A,
            "luma": list(LUMA),
            "brightness": self.brightness,
            "contrast": self.contrast,
            "scale": [self.scale_min, self.scale_max],
            "flip_horizontal": self.flip_horizontal,
            "flip_vertical": self.flip_vertical,
            "levels": None if self.levels is None else
            {"mean": self.levels[0], "sd": self.levels[1], "gain": list(self.level_gain)},
        }


def area_matrix(src: int, dst: int) -> np.ndarray:
    """(dst, src) weights: row i averages the source pixels under [i, i+1) * src/dst."""
    edges = np.arange(dst + 1) * (src / dst)
    lo, hi = edges[:-1, None], edges[1:, None]
    j = np.arange(src)[None, :]
    overlap = np.clip(np.minimum(hi, j + 1) - np.maximum(lo, j), 0, None)
    return (overlap / overlap.sum(axis=1, keepdims=True)).astype(np.float32)


def keys_cubic(x: np.ndarray, a: float = CUBIC_A) -> np.ndarray:
    x = np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x <= 1, near, np.where(x < 2, far, 0.0))


def bicubic_matrix(src: int, dst: int) -> np.ndarray:
    """(dst, src) weights of a bicubic upscale with half-pixel centres and clamped edges."""
    u = (np.arange(dst) + 0.5) * (src / dst) - 0.5
    base = np.floor(u).astype(int)
    m = np.zeros((dst, src), np.float64)
    for tap in range(-1, 3):
        j = base + tap
        w = keys_cubic(u - j)
        np.add.at(m, (np.arange(dst), np.clip(j, 0, src - 1)), w)
    return m.astype(np.float32)


def relevel(low, levels: tuple[float, float], gain: tuple[float, float]):
    """(..., L, L) low-res luma moved to the input levels' mean and standard deviation:
    (x - m) * k + mean, m and s the image's own, k = sd / s within `gain` ((1, 1): the mean alone). Training's
    images and a visitor's camera then reach the generator at the same levels, whatever the
    room's light (photographs' inputs are darker and more contrasted than a sky's or a sea's)."""
    from builder.tfenv import tensorflow

    tf = tensorflow()
    mean, sd = levels
    m = tf.reduce_mean(low, axis=[-2, -1], keepdims=True)
    s = tf.sqrt(tf.maximum(tf.reduce_mean(tf.square(low), axis=[-2, -1], keepdims=True) - tf.square(m), 0.0))
    k = tf.clip_by_value(sd / tf.maximum(s, 1e-6), *gain)
    return (low - m) * k + mean


def soften(gray, params: TransformParams):
    """(..., S, S) gray in [0,1] -> area down to low_size, input levels (if any), bicubic back up.
    Works on numpy or tf."""
    from builder.tfenv import tensorflow

    tf = tensorflow()

    down = tf.constant(area_matrix(params.size, params.low_size))  # (L, S)
    up = tf.constant(bicubic_matrix(params.low_size, params.size))  # (S, L)
    low = tf.einsum("ls,...st,mt->...lm", down, tf.cast(gray, tf.float32), down)  # (..., L, L)
    if params.levels is not None:
        low = relevel(low, params.levels, params.level_gain)
    return tf.einsum("sl,...lm,tm->...st", up, low, up)  # (..., S, S)


def low_levels(image: np.ndarray, params: TransformParams) -> tuple[float, float]:
    """Mean and standard deviation of one image's low-res luma (its centre square, as photo_input
    frames it): what `relevel` moves, and what `theme_levels` takes the median of."""
    square = centre_square(image, params.size)
    gray = square @ np.asarray(LUMA, np.float32)
    down = area_matrix(params.size, params.low_size)
    low = down @ gray @ down.T
    return float(low.mean()), float(low.std())


def theme_levels(images: list[np.ndarray], params: TransformParams) -> tuple[float, float]:
    """The input levels of a set of target images: the median of their low-res means and of
    their standard deviations, rounded (they are written into meta.json for the browser)."""
    stats = np.array([low_levels(image, params) for image in images])
    return round(float(np.median(stats[:, 0])), 4), round(float(np.median(stats[:, 1])), 4)


SHIFT_PX = 7  # shift_consistency's pan: prime to the 24-px grid, so its pairs link every grid phase


def _scaled(image, seed, params: TransformParams, min_width: int):
    """(H, W, 3) uint8 -> float [0, 1], its short side a random 100-130 % of the crop size."""
    from builder.tfenv import tensorflow

    tf = tensorflow()
    s = params.size
    img = tf.image.convert_image_dtype(image, tf.float32)  # [0, 1]
    scale = tf.random.stateless_uniform([], seed, params.scale_min, params.scale_max)
    hw = tf.cast(tf.shape(img)[:2], tf.float32)
    new_hw = tf.cast(tf.math.ceil(hw * (scale * s / tf.reduce_min(hw))), tf.int32)
    new_hw = tf.maximum(new_hw, [s, min_width])
    return tf.image.resize(img, new_hw, method="area" if params.scale_min >= 1 else "bilinear", antialias=True)


def _flipped(window, seeds, params: TransformParams):
    from builder.tfenv import tensorflow

    tf = tensorflow()
    if params.flip_horizontal:
        window = tf.image.stateless_random_flip_left_right(window, seeds[0])
    if params.flip_vertical:
        window = tf.image.stateless_random_flip_up_down(window, seeds[1])
    return tf.clip_by_value(window, 0.0, 1.0)


def _soft_input(target, seeds, params: TransformParams):
    """The generator's view of a target in [0, 1]: one channel, softened, brightness and contrast."""
    from builder.tfenv import tensorflow

    tf = tensorflow()
    gray = tf.tensordot(target, tf.constant(LUMA, tf.float32), axes=1)  # (S, S): one channel
    soft = soften(gray, params)

    delta = tf.random.stateless_uniform([], seeds[0], -params.brightness, params.brightness)
    factor = tf.random.stateless_uniform([], seeds[1], 1 - params.contrast, 1 + params.contrast)
    x = soft + delta  # on [0, 1] values, where +-0.2 means something
    mean = tf.reduce_mean(x)
    x = tf.clip_by_value((x - mean) * factor + mean, 0.0, 1.0)
    return x[..., None] * 2 - 1


def make_pair(image, seed, params: TransformParams):
    """One training pair from one target image, all randomness drawn from `seed`.

    image: (H, W, 3) uint8 with min(H, W) >= scale_max * size (pre-resized by the dataset).
    seed:  (2,) int32/int64, e.g. from tf.data.Dataset.random; a new seed per sample.
    Returns input (S, S, 1) and target (S, S, 3), both float32 in [-1, 1].
    """
    from builder.tfenv import tensorflow

    tf = tensorflow()
    s = params.size
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=6)
    img = _scaled(image, seeds[0], params, s)  # scale to a random 100-130 % of the crop size
    target = _flipped(tf.image.stateless_random_crop(img, [s, s, 3], seeds[1]), seeds[2:4], params)
    return _soft_input(target, seeds[4:6], params), target * 2 - 1


def make_shifted_pairs(image, seed, params: TransformParams, shift: int = SHIFT_PX):
    """Two pairs from one target as two frames of a camera panning right by `shift` px: the second
    crop lies `shift` px right of the first, each made into its input alone (so the 24-px grid
    stays with the screen while the scene moves under it), with the same flips, brightness and
    contrast. Returns inputs (2, S, S, 1) and targets (2, S, S, 3); the targets agree on their
    overlap, first[:, shift:] == second[:, :-shift]."""
    from builder.tfenv import tensorflow

    tf = tensorflow()
    s = params.size
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=6)
    img = _scaled(image, seeds[0], params, s + shift)
    window = _flipped(tf.image.stateless_random_crop(img, [s, s + shift, 3], seeds[1]), seeds[2:4], params)
    targets = tf.stack([window[:, :s], window[:, shift:]])
    inputs = tf.stack([_soft_input(t, seeds[4:6], params) for t in tf.unstack(targets)])
    return inputs, targets * 2 - 1


def photo_input(image: np.ndarray, params: TransformParams) -> np.ndarray:
    """A deterministic input for a whole photograph, as the browser makes it from a camera frame:
    centre square crop, resize to size, grayscale, soften; no random scale, flip, brightness
    or contrast. Returns (S, S, 1) float32 in [-1, 1]."""
    from builder.tfenv import tensorflow

    tf = tensorflow()
    gray = tf.tensordot(centre_square(image, params.size), tf.constant(LUMA, tf.float32), axes=1)
    soft = soften(gray, params)
    return (tf.clip_by_value(soft, 0, 1)[..., None] * 2 - 1).numpy()


def centre_square(image: np.ndarray, size: int) -> np.ndarray:
    """(H, W[, C]) uint8 -> its centre square, area-resized to (size, size, 3) float32 in [0, 1]."""
    from builder.tfenv import tensorflow

    tf = tensorflow()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    image = image[..., :3]
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = tf.image.convert_image_dtype(image[top:top + side, left:left + side], tf.float32)
    square = tf.image.resize(square, [size, size], method="area", antialias=True)
    return tf.clip_by_value(square, 0, 1).numpy()
