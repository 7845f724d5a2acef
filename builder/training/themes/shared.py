"""Shared tools of the procedural themes: Fourier-shaped noise, sampling, splats,
convolution, colour helpers. Vectorised NumPy throughout."""

from __future__ import annotations

from typing import Callable

import numpy as np

_LOW_FREQS = 12
"""Fourier coefficients below this many cycles per image come from a fixed-shape draw."""


def noise(rng: np.random.Generator, size: int, beta: float, stretch: tuple[float, float] = (1.0, 1.0)
          ) -> np.ndarray:
    """Periodic Gaussian noise with power spectrum 1/f**beta, zero mean, unit std: (size, size).

    `stretch` = (y, x) scales the frequencies: (3, 1) makes features 3x taller than wide.
    """
    child = rng.spawn(1)[0]  # each field its own stream, so size changes nothing upstream
    low = child.standard_normal((2, 2 * _LOW_FREQS, _LOW_FREQS + 1))
    high = child.standard_normal((2, size, size // 2 + 1))
    spectrum = high[0] + 1j * high[1]
    n = min(_LOW_FREQS, size // 2)
    low = low[0] + 1j * low[1]  # rows: frequencies 0 .. _LOW_FREQS - 1, then -_LOW_FREQS .. -1
    spectrum[:n, : n + 1] = low[:n, : n + 1]
    spectrum[size - n :, : n + 1] = low[2 * _LOW_FREQS - n :, : n + 1]
    fy = np.fft.fftfreq(size, 1.0 / size)[:, None] * stretch[0]  # cycles per image, scaled
    fx = np.fft.rfftfreq(size, 1.0 / size)[None, :] * stretch[1]
    f2 = fy * fy + fx * fx
    f2[0, 0] = 1.0
    amplitude = f2 ** (-beta / 4.0)
    amplitude[0, 0] = 0.0
    field = np.fft.irfft2(spectrum * amplitude, s=(size, size))
    return field / (field.std() + 1e-12)


def sample(tile: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear lookup of a periodic tile (h, w) or (h, w, c) at float pixel coordinates."""
    h, w = tile.shape[:2]
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = x - x0, y - y0
    if tile.ndim == 3:
        fx, fy = fx[..., None], fy[..., None]
    x0 = x0.astype(np.intp) % w
    y0 = y0.astype(np.intp) % h
    x1, y1 = (x0 + 1) % w, (y0 + 1) % h
    top = tile[y0, x0] * (1.0 - fx) + tile[y0, x1] * fx
    bottom = tile[y1, x0] * (1.0 - fx) + tile[y1, x1] * fx
    return top * (1.0 - fy) + bottom * fy


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (y, x), each (size, size)."""
    axis = np.arange(size, dtype=np.float64)
    return np.meshgrid(axis, axis, indexing="ij")


def splat(size: int, xy: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Add point sources at fractional positions xy (n, 2) with values (n, c): (size, size, c)."""
    px = xy[:, 0] * size - 0.5
    py = xy[:, 1] * size - 0.5
    x0, y0 = np.floor(px), np.floor(py)
    fx, fy = px - x0, py - y0
    x0, y0 = x0.astype(np.intp), y0.astype(np.intp)
    out = np.zeros((size * size, values.shape[1]))
    corners = ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy))
    for dx, dy, weight in corners:
        index = ((y0 + dy) % size) * size + (x0 + dx) % size
        for c in range(values.shape[1]):
            out[:, c] += np.bincount(index, weights=values[:, c] * weight, minlength=size * size)
    return out.reshape(size, size, values.shape[1])


Kernel = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""kernel(dy, dx) -> weights, for pixel offsets dy, dx that broadcast together."""


def convolve(image: np.ndarray, kernel_at: Kernel, reach_px: float) -> np.ndarray:
    """Convolve (size, size, c) with kernel_at(dy, dx) -> weights, offsets in pixels.

    The image is padded with reach_px of black (where the kernel has faded), so light
    near one edge does not wrap around to the other as it would in a bare FFT.
    """
    size = image.shape[0]
    n = _fast_fft_length(size + int(np.ceil(reach_px)))
    offset = ((np.arange(n) + n // 2) % n - n // 2).astype(np.float64)  # signed wrap-around distance
    kernel = kernel_at(offset[:, None], offset[None, :])
    padded = np.zeros((n, n, image.shape[2]))
    padded[:size, :size] = image
    spectrum = np.fft.rfft2(padded, axes=(0, 1)) * np.fft.rfft2(kernel)[..., None]
    return np.fft.irfft2(spectrum, s=(n, n), axes=(0, 1))[:size, :size]


def _fast_fft_length(n: int) -> int:
    """The smallest length >= n with no prime factor above 5 (FFTs of those are fast)."""
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


def hue_shift(rgb: np.ndarray, turns: float) -> np.ndarray:
    """Rotate colours (..., 3) about the grey axis by `turns` of a full circle."""
    angle = 2.0 * np.pi * turns
    c, s = np.cos(angle), np.sin(angle)
    k = 1.0 / 3.0
    r = np.sqrt(k)
    rotation = np.array(
        [
            [c + (1 - c) * k, k * (1 - c) - r * s, k * (1 - c) + r * s],
            [k * (1 - c) + r * s, c + (1 - c) * k, k * (1 - c) - r * s],
            [k * (1 - c) - r * s, k * (1 - c) + r * s, c + (1 - c) * k],
        ]
    )
    return rgb @ rotation.T




def tone_map(linear: np.ndarray, exposure: float) -> np.ndarray:
    """Linear RGB to display values: soft shoulder for glints, then gamma."""
    return (1.0 - np.exp(-np.maximum(linear, 0.0) * exposure * 1.6)) ** (1.0 / 2.2)
