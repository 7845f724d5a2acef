"""Nebula: warped emission gas in seeded palettes, dust lanes, stars with a power-law brightness."""

from __future__ import annotations

import numpy as np

from builder.training.themes.shared import Kernel, convolve, hue_shift, noise, pixel_grid, sample, splat


# Emission palettes: (broad gas, hot core gas, filaments, dust rims), linear RGB.
_NEBULA_PALETTES = np.array(
    [
        [[1.00, 0.55, 0.18], [0.10, 0.75, 0.80], [1.00, 0.80, 0.35], [1.0, 0.85, 0.6]],  # Hubble gold/teal
        [[1.00, 0.12, 0.22], [0.15, 0.65, 1.00], [1.00, 0.35, 0.55], [1.0, 0.6, 0.7]],  # H-alpha, OIII
        [[0.75, 0.15, 0.95], [0.05, 0.85, 0.75], [1.00, 0.40, 0.75], [0.9, 0.7, 1.0]],  # magenta/teal
        [[1.00, 0.30, 0.10], [0.95, 0.85, 0.30], [0.85, 0.20, 0.50], [1.0, 0.75, 0.4]],  # fiery red/gold
        [[0.20, 0.35, 1.00], [0.55, 0.95, 1.00], [0.70, 0.30, 1.00], [0.8, 0.9, 1.0]],  # reflection blue
    ]
)

# Star colours from hot to cool, linear RGB.
_STAR_COLOURS = np.array(
    [[0.65, 0.78, 1.0], [0.92, 0.95, 1.0], [1.0, 0.95, 0.85], [1.0, 0.82, 0.6], [1.0, 0.65, 0.45]]
)


def draw(rng: np.random.Generator, size: int) -> np.ndarray:
    palette = _NEBULA_PALETTES[rng.integers(len(_NEBULA_PALETTES))]
    palette = np.clip(hue_shift(palette, rng.normal(0.0, 0.04)), 0.0, None)
    exposure = rng.uniform(0.6, 1.1)
    # How much of the frame the cloud fills. Mostly filled: webcam scenes are bright, and a model
    # that saw mostly black sky extrapolates on them.
    coverage = rng.uniform(-0.5, 0.8)
    dust_amount = rng.uniform(0.8, 3.0)
    warp_px = rng.uniform(0.04, 0.10) * size
    gas_beta = rng.uniform(2.8, 3.3)

    yy, xx = pixel_grid(size)
    warp_x, warp_y = noise(rng, size, 3.2), noise(rng, size, 3.2)
    fields = np.stack(
        [
            noise(rng, size, gas_beta),  # broad emission
            noise(rng, size, gas_beta + 0.3),  # hot core emission
            noise(rng, size, 3.0),  # filaments (zero crossings)
            noise(rng, size, 3.2),  # dust
            noise(rng, size, 2.8),  # fine dust texture
        ],
        axis=-1,
    )
    fields = sample(fields, xx + warp_px * warp_x, yy + warp_px * warp_y)  # (size, size, 5)
    broad, core, filament, dust, fine = np.moveaxis(fields, -1, 0)

    envelope = 1.0 / (1.0 + np.exp(-2.5 * (noise(rng, size, 4.5) + coverage)))  # coarse layout, 0..1
    broad_light = np.exp(1.1 * broad) * envelope
    core_light = np.exp(1.3 * core) * envelope**2.5
    filament_light = (1.0 - np.abs(np.tanh(1.2 * filament))) ** 8 * envelope * np.exp(0.5 * broad)
    tau = dust_amount * np.logaddexp(0.0, 3.0 * (dust + 0.12 * fine - 0.5)) * (0.3 + envelope)
    transmit = np.exp(-tau)
    rim = transmit * (1.0 - transmit) * envelope  # bright ionisation fronts on the dust edges

    light = (
        0.35 * broad_light[..., None] * palette[0]
        + 0.30 * core_light[..., None] * palette[1]
        + 0.45 * filament_light[..., None] * palette[2]
    ) * transmit[..., None]
    light += 0.9 * rim[..., None] * palette[3]

    # Stars: power-law fluxes, so a few bright ones (glow, spikes) and many faint. Kept sparse:
    # the soft input cannot say where a star goes, so the generator invents their places, and a
    # dense field taught it to stamp them on a lattice.
    count = int(rng.integers(150, 500))
    positions = rng.random((count, 2))
    flux = np.minimum(0.08 * rng.random(count) ** (-1.0 / 1.1), 300.0)
    bright = int(rng.integers(1, 4))  # every field has a star or three with a glow
    flux[:bright] = np.exp(rng.uniform(np.log(20.0), np.log(300.0), bright))
    colour = _STAR_COLOURS[rng.integers(len(_STAR_COLOURS), size=count)]
    behind = rng.random(count) < 0.7  # most stars sit behind the cloud's dust
    dimmed = sample(transmit, positions[:, 0] * size - 0.5, positions[:, 1] * size - 0.5) ** 0.7
    flux = np.where(behind, flux * dimmed, flux)
    points = splat(size, positions, flux[:, None] * colour)  # (size, size, 3)
    light += convolve(points, *_star_psf(size, rng.uniform(0.0, np.pi / 2)))

    background = np.array([0.004, 0.006, 0.015]) * np.exp(0.4 * fine[..., None])
    light = np.maximum(light * exposure + background, 0.0)  # FFT ringing leaves tiny negatives
    # asinh stretch, as astronomers display high dynamic range: faint wisps and bright cores both show.
    stretched = np.arcsinh(light * 6.0) / np.arcsinh(6.0 * 1.6)
    return stretched ** 0.9


def _star_psf(size: int, spike_angle: float) -> tuple[Kernel, float]:
    """A telescope's point-spread function for `convolve` (summing to about one), and its reach."""
    halo_px, glow_px, spike_px = 0.004 * size, 0.02 * size, 0.05 * size

    def kernel_at(dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
        r2 = dx * dx + dy * dy
        core = np.exp(-r2 / (2 * 0.55**2))
        halo = 1.0 / (1.0 + r2 / halo_px**2) ** 1.5
        glow = np.exp(-r2 / (2 * glow_px**2))
        u = dx * np.cos(spike_angle) + dy * np.sin(spike_angle)
        v = -dx * np.sin(spike_angle) + dy * np.cos(spike_angle)
        spikes = np.exp(-(v * v) / 0.5 - np.abs(u) / spike_px) + np.exp(-(u * u) / 0.5 - np.abs(v) / spike_px)
        parts = (core, halo, glow, spikes)
        return sum(w * part / part.sum() for w, part in zip((1.0, 0.15, 0.25, 0.04), parts))

    return kernel_at, 4.0 * spike_px
