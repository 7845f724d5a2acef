"""Built-in procedural datasets: target images made with NumPy alone, deterministic by seed.

`render(theme, seed, size)` draws one (size, size, 3) uint8 image. The generator learns to
recreate these from a heavy blur, so every theme varies its coarse light-and-dark layout from
seed to seed and carries detail at every scale. Noise is shaped in the Fourier domain and all
shading is vectorised: an image of 400 px takes a fraction of a second on one core.

Everything random is drawn in fractions of the image or in low-frequency Fourier blocks of a
fixed shape, so one seed gives the same picture at every size (only finer or coarser).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

from builder.errors import ConfigError


@dataclass(frozen=True)
class ThemeInfo:
    """What a theme draws, and which flips keep its images plausible."""

    title: str
    """Name shown to people."""
    description: str
    """One line saying what the images look like."""
    flip_horizontal: bool
    """A mirror image is still a plausible image of the theme."""
    flip_vertical: bool
    """An upside-down image is still plausible (false where there is a sky or gravity)."""


THEMES: dict[str, ThemeInfo] = {
    "nebula": ThemeInfo(
        "Nebula",
        "Hubble-style emission nebulae: warped gas in seeded palettes, dust lanes, stars.",
        flip_horizontal=True,
        flip_vertical=True,
    ),
    "ocean": ThemeInfo(
        "Ocean",
        "The sea: waves to the horizon under a varied sky with sun glint, or a beach from above.",
        flip_horizontal=True,
        flip_vertical=False,
    ),
    "fire": ThemeInfo(
        "Fire",
        "Flames rising from the bottom in black-body colours, with sparks and smoke-dark gaps.",
        flip_horizontal=True,
        flip_vertical=False,
    ),
}

_LOW_FREQS = 12
"""Fourier coefficients below this many cycles per image come from a fixed-shape draw."""


def render(theme: str, seed: int, size: int) -> np.ndarray:
    """Draw image `seed` of `theme`: (size, size, 3) uint8, the same for the same arguments."""
    if theme not in THEMES:
        known = ", ".join(sorted(THEMES))
        raise ConfigError(f"unknown theme {theme!r}: use one of {known}")
    if size < 16:
        raise ValueError(f"size must be at least 16 pixels, got {size}")
    # crc32, not hash(): str hashes change between Python processes.
    entropy = [int(seed) & 0xFFFFFFFFFFFFFFFF, zlib.crc32(theme.encode())]
    rng = np.random.default_rng(np.random.SeedSequence(entropy))
    image = _RENDERERS[theme](rng, size)  # (size, size, 3) float, display values in [0, 1]
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


# ---------------------------------------------------------------- shared tools


def _noise(rng: np.random.Generator, size: int, beta: float, stretch: tuple[float, float] = (1.0, 1.0)
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


def _sample(tile: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
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


def _smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (y, x), each (size, size)."""
    axis = np.arange(size, dtype=np.float64)
    return np.meshgrid(axis, axis, indexing="ij")


def _splat(size: int, xy: np.ndarray, values: np.ndarray) -> np.ndarray:
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


def _convolve(image: np.ndarray, kernel_at: Kernel, reach_px: float) -> np.ndarray:
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


def _hue_shift(rgb: np.ndarray, turns: float) -> np.ndarray:
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


# ---------------------------------------------------------------- nebula

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


def _nebula(rng: np.random.Generator, size: int) -> np.ndarray:
    palette = _NEBULA_PALETTES[rng.integers(len(_NEBULA_PALETTES))]
    palette = np.clip(_hue_shift(palette, rng.normal(0.0, 0.04)), 0.0, None)
    exposure = rng.uniform(0.5, 1.0)
    coverage = rng.uniform(-0.9, 0.4)  # how much of the frame the cloud fills
    dust_amount = rng.uniform(0.8, 3.0)
    warp_px = rng.uniform(0.04, 0.10) * size
    gas_beta = rng.uniform(2.8, 3.3)

    yy, xx = _pixel_grid(size)
    warp_x, warp_y = _noise(rng, size, 3.2), _noise(rng, size, 3.2)
    fields = np.stack(
        [
            _noise(rng, size, gas_beta),  # broad emission
            _noise(rng, size, gas_beta + 0.3),  # hot core emission
            _noise(rng, size, 3.0),  # filaments (zero crossings)
            _noise(rng, size, 3.2),  # dust
            _noise(rng, size, 2.8),  # fine dust texture
        ],
        axis=-1,
    )
    fields = _sample(fields, xx + warp_px * warp_x, yy + warp_px * warp_y)  # (size, size, 5)
    broad, core, filament, dust, fine = np.moveaxis(fields, -1, 0)

    envelope = 1.0 / (1.0 + np.exp(-2.5 * (_noise(rng, size, 4.5) + coverage)))  # coarse layout, 0..1
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

    # Stars: power-law fluxes, so a few bright ones (glow, spikes) and many faint.
    count = int(rng.integers(500, 1400))
    positions = rng.random((count, 2))
    flux = np.minimum(0.08 * rng.random(count) ** (-1.0 / 1.1), 300.0)
    bright = int(rng.integers(2, 7))  # every field has a few stars with a glow
    flux[:bright] = np.exp(rng.uniform(np.log(20.0), np.log(300.0), bright))
    colour = _STAR_COLOURS[rng.integers(len(_STAR_COLOURS), size=count)]
    behind = rng.random(count) < 0.7  # most stars sit behind the cloud's dust
    dimmed = _sample(transmit, positions[:, 0] * size - 0.5, positions[:, 1] * size - 0.5) ** 0.7
    flux = np.where(behind, flux * dimmed, flux)
    points = _splat(size, positions, flux[:, None] * colour)  # (size, size, 3)
    light += _convolve(points, *_star_psf(size, rng.uniform(0.0, np.pi / 2)))

    background = np.array([0.004, 0.006, 0.015]) * np.exp(0.4 * fine[..., None])
    light = np.maximum(light * exposure + background, 0.0)  # FFT ringing leaves tiny negatives
    # asinh stretch, as astronomers display high dynamic range: faint wisps and bright cores both show.
    stretched = np.arcsinh(light * 6.0) / np.arcsinh(6.0 * 1.6)
    return stretched ** 0.9


def _star_psf(size: int, spike_angle: float) -> tuple[Kernel, float]:
    """A telescope's point-spread function for `_convolve` (summing to about one), and its reach."""
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


# ---------------------------------------------------------------- ocean


@dataclass(frozen=True)
class _Sky:
    """Light for one ocean picture, linear RGB."""

    zenith: np.ndarray
    horizon: np.ndarray
    sun: np.ndarray  # unit vector towards the sun, y up, z forward
    sun_colour: np.ndarray
    glow: float  # brightness of the haze around the sun
    cloud_tile: np.ndarray  # (128, 128, 2) periodic noise: broad shapes, fine detail
    cloud_cover: float  # -1 (overcast) .. 1.5 (clear)
    cloud_colour: np.ndarray


def _pick_sky(rng: np.random.Generator, sun_azimuth: float,
              odds: tuple[float, float, float] = (0.6, 0.28, 0.12)) -> _Sky:
    """Sky light for one picture; `odds` of midday, golden hour, overcast."""
    mood = rng.choice(3, p=odds)
    if mood == 0:
        zenith, horizon, sun_colour = [0.03, 0.14, 0.62], [0.42, 0.62, 0.95], [1.0, 0.96, 0.88]
        elevation, glow, cover = rng.uniform(0.12, 0.7), 0.4, rng.uniform(0.2, 1.5)
        cloud = [1.0, 1.0, 1.0]
    elif mood == 1:
        zenith, horizon, sun_colour = [0.10, 0.16, 0.42], [1.00, 0.55, 0.25], [1.0, 0.62, 0.30]
        elevation, glow, cover = rng.uniform(0.03, 0.16), 1.2, rng.uniform(0.0, 1.2)
        cloud = [1.0, 0.65, 0.55]
    else:
        zenith, horizon, sun_colour = [0.30, 0.36, 0.44], [0.62, 0.68, 0.74], [0.8, 0.8, 0.78]
        elevation, glow, cover = rng.uniform(0.2, 0.6), 0.2, rng.uniform(-0.8, 0.0)
        cloud = [0.75, 0.78, 0.82]
    turns = rng.normal(0.0, 0.02)
    level = np.cos(elevation)
    sun = np.array([level * np.sin(sun_azimuth), np.sin(elevation), level * np.cos(sun_azimuth)])
    tile = np.stack([0.85 * _noise(rng, 128, 3.4), 0.4 * _noise(rng, 128, 2.2)], axis=-1)
    return _Sky(
        zenith=np.clip(_hue_shift(np.array(zenith), turns), 0.0, None),
        horizon=np.clip(_hue_shift(np.array(horizon), turns), 0.0, None),
        sun=sun,
        sun_colour=np.array(sun_colour),
        glow=glow,
        cloud_tile=tile,
        cloud_cover=cover,
        cloud_colour=np.array(cloud),
    )


def _sky_light(sky: _Sky, direction: np.ndarray, direct: bool) -> np.ndarray:
    """Radiance seen along unit `direction` (..., 3): gradient, sun haze, clouds. (..., 3)

    `direct` is false for reflections: they leave out the sun's disk (the glint draws it) and
    the clouds' fine detail, which wavy water would scramble into speckle.
    """
    up = np.clip(direction[..., 1], 0.0, 1.0)
    height = (1.0 - np.exp(-4.0 * up))[..., None]
    light = sky.horizon + (sky.zenith - sky.horizon) * height
    cos_sun = direction @ sky.sun
    haze = sky.glow * (np.exp((cos_sun - 1.0) * 30.0) + 0.35 * np.exp((cos_sun - 1.0) * 3.0))
    light = light + haze[..., None] * sky.sun_colour
    # Clouds on a flat layer overhead: further away, they shrink towards the horizon and fade.
    reach = 1.0 / np.maximum(up, 0.02)
    u = direction[..., 0] * reach * 40.0
    v = direction[..., 2] * reach * 40.0
    broad, fine = np.moveaxis(_sample(sky.cloud_tile, u, v), -1, 0)
    texture = broad + fine if direct else broad
    texture = texture * np.exp(-reach / 25.0)
    density = _smoothstep(sky.cloud_cover, sky.cloud_cover + 1.0, texture) * _smoothstep(0.0, 0.12, up)
    silver = 0.8 * sky.glow * np.exp((cos_sun - 1.0) * 8.0)  # clouds near the sun shine
    lit = sky.cloud_colour * (0.55 + 0.5 * up[..., None]) + silver[..., None] * sky.sun_colour
    light = light * (1.0 - density[..., None]) + lit * density[..., None]
    if direct:
        disk = _smoothstep(0.99980, 0.99990, cos_sun) + 0.08 * np.exp((cos_sun - 1.0) * 2000.0)
        light = light + 30.0 * (disk * (1.0 - density))[..., None] * sky.sun_colour
    return light


def _waves(rng: np.random.Generator, count: int, longest_m: float, wind: float, spread: float,
           slope_var: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directional wave components: wavenumbers (n, 2) rad/m, amplitudes (n,) m, phases (n,)."""
    # Several directions per wavelength: one plane wave per scale would draw endless crests.
    wavelength = np.geomspace(longest_m, 0.06, count) * np.exp(rng.uniform(-0.1, 0.1, count))
    k = 2.0 * np.pi / wavelength
    theta = wind + rng.normal(0.0, 1.0, count) * spread * np.linspace(0.5, 1.5, count)
    wavenumber = k[:, None] * np.stack([np.sin(theta), np.cos(theta)], axis=1)
    # Equal slope in every octave (an equilibrium sea), a little random per component.
    steepness = np.sqrt(2.0 * slope_var / count) * rng.uniform(0.5, 1.5, count)
    return wavenumber, steepness / k, rng.uniform(0.0, 2.0 * np.pi, count)


def _sea_surface(waves, x: np.ndarray, z: np.ndarray, blur: np.ndarray, choppy: float):
    """Height, slopes, Jacobian and unresolved slope variance of the sea at ground points.

    x, z: (rows, cols) metres. blur: (rows, 1) metres, the pixel footprint; waves shorter
    than it are filtered out (they would alias) and only widen the glint instead.
    `choppy` scales the Gerstner-style horizontal displacement whose folds (Jacobian < 1) foam.
    Returns height, slope_x, slope_z, jacobian (rows, cols) and slope_var (rows, 1).
    """
    wavenumber, amplitude, phase0 = waves
    kx, kz = wavenumber[:, 0], wavenumber[:, 1]
    k = np.hypot(kx, kz)
    keep = np.exp(-0.5 * (k * blur) ** 2)  # (rows, n)
    # float32: far away, where phases lose precision, the short waves are filtered out anyway.
    f32 = np.float32
    phase = x.astype(f32)[..., None] * kx.astype(f32) + z.astype(f32)[..., None] * kz.astype(f32)
    phase += phase0.astype(f32)  # (rows, cols, n)
    a = amplitude * keep  # (rows, n)
    cos_weights = np.stack([a, a * kx * kx / k, a * kz * kz / k, a * kx * kz / k], axis=-1).astype(np.float32)
    sin_weights = np.stack([-a * kx, -a * kz], axis=-1).astype(np.float32)
    height, jxx, jzz, jxz = np.moveaxis(np.cos(phase) @ cos_weights, -1, 0)  # (rows, n) @ (rows, n, 4)
    slope_x, slope_z = np.moveaxis(np.sin(phase) @ sin_weights, -1, 0)
    jacobian = (1.0 - choppy * jxx) * (1.0 - choppy * jzz) - (choppy * jxz) ** 2
    slope_var = 0.5 * ((amplitude * k) ** 2 * (1.0 - keep**2)).sum(axis=-1, keepdims=True)
    return height, slope_x, slope_z, jacobian, slope_var


def _shade_water(sky, normal, view, slope_var, body, foam):
    """Fresnel mix of sky reflection and water body, sun glint, foam: (..., 3) linear RGB."""
    facing = np.clip((normal * view).sum(-1), 0.02, 1.0)
    mirror = 2.0 * facing[..., None] * normal - view
    # Slopes too small to draw still tilt facets towards the eye: on average they reflect
    # higher, bluer sky and show more of the water body than a flat surface would.
    sigma = np.sqrt(slope_var)
    facing = np.clip(facing + 0.7 * sigma, 0.02, 1.0)
    fresnel = 0.02 + 0.98 * (1.0 - facing) ** 5
    mirror[..., 1] = np.maximum(mirror[..., 1], 0.0) + 1.5 * sigma + 0.01
    mirror /= np.linalg.norm(mirror, axis=-1, keepdims=True)
    reflected = _sky_light(sky, mirror, direct=False)
    # Glint: Beckmann distribution of the slopes too small to draw, around the drawn normal.
    half = view + sky.sun
    half /= np.linalg.norm(half, axis=-1, keepdims=True)
    cos_h = np.clip((normal * half).sum(-1), 1e-3, 1.0)
    tan2 = (1.0 - cos_h**2) / cos_h**2
    roughness = slope_var + 0.002
    beckmann = np.exp(-tan2 / roughness) / (np.pi * roughness * cos_h**4)
    glint = np.minimum(1.0 * beckmann * fresnel / (4.0 * facing), 40.0) * max(sky.sun[1], 0.0) ** 0.3
    fresnel = fresnel[..., None]
    light = fresnel * reflected + (1.0 - fresnel) * body + glint[..., None] * sky.sun_colour
    white = (0.75 * sky.horizon + 0.6 * sky.sun_colour * max(sky.sun[1], 0.1) ** 0.5) * 1.1
    return light * (1.0 - foam[..., None]) + white * foam[..., None]


def _ocean(rng: np.random.Generator, size: int) -> np.ndarray:
    """Open sea to the horizon under a varied sky (or, one time in three or so, a coast from above)."""
    if rng.random() < 0.3:
        return _ocean_from_above(rng, size)
    sun_azimuth = rng.normal(0.0, 0.35) if rng.random() < 0.7 else rng.uniform(-np.pi, np.pi)
    sky = _pick_sky(rng, sun_azimuth)
    horizon_frac = rng.uniform(0.2, 0.55)  # horizon's height from the top, in image heights
    focal = 1.0 / np.tan(np.radians(rng.uniform(25.0, 40.0)))  # half field of view
    eye_m = rng.uniform(2.0, 15.0)
    wind = rng.uniform(-np.pi, np.pi)
    waves = _waves(rng, 72, rng.uniform(15.0, 90.0), wind, rng.uniform(0.4, 0.8), rng.uniform(0.015, 0.05))
    choppy = rng.uniform(0.6, 1.0)
    whitecaps = rng.uniform(1.6, 2.8)  # foam where the surface folds this many std devs
    haze_m = rng.uniform(300.0, 3000.0)
    body = np.array([0.0, 0.03, 0.12]) * rng.uniform(0.5, 1.5)  # deep blue
    body = body + np.array([0.0, 0.05, 0.03]) * rng.uniform(0.0, 1.0)  # some seas greener
    body = body * (0.4 + sky.horizon.mean())

    # Screen coordinates: u across, v up from the horizon, in half image widths.
    u = (np.arange(size) + 0.5 - size / 2) / (size / 2)
    v = (horizon_frac * size - (np.arange(size) + 0.5)) / (size / 2)
    image = np.empty((size, size, 3))
    ray = np.stack(np.broadcast_arrays(u[None, :] / focal, v[:, None] / focal, 1.0), axis=-1)
    ray /= np.linalg.norm(ray, axis=-1, keepdims=True)
    sea_rows = v < -0.5 / size  # rows whose centre is below the horizon
    image[~sea_rows] = _sky_light(sky, ray[~sea_rows], direct=True)

    if sea_rows.any():
        below = -v[sea_rows][:, None]  # (rows, 1)
        z = eye_m * focal / below  # distance along the view, metres
        x = eye_m * u[None, :] / below  # (rows, cols)
        pixel_rad = 2.0 / (size * focal)
        # Filter as wide as the footprint's long (z) side: filtering x less leaves only the waves
        # running towards the camera, which draws streaks converging on the vanishing point.
        blur = 0.6 * np.maximum(z, eye_m) * z * pixel_rad / eye_m
        z = np.broadcast_to(z, x.shape)
        height, slope_x, slope_z, jacobian, slope_var = _sea_surface(waves, x, z, blur, choppy)
        normal = np.stack([-slope_x, np.ones_like(slope_x), -slope_z], axis=-1)
        normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
        view = -ray[sea_rows]
        crest = np.clip(height / (3.0 * waves[1].max()), 0.0, 1.0)[..., None]
        water = body * (1.0 + crest) + crest * np.array([0.0, 0.05, 0.04])  # light through crests
        # Compare folding with its spread in the same row: far rows lose short waves to the
        # filter, but whitecaps stay as common there, only smaller.
        fold = (jacobian - 1.0) / (jacobian.std(axis=1, keepdims=True) + 1e-6)
        foam = _smoothstep(-whitecaps + 0.6, -whitecaps - 0.6, fold)
        sea = _shade_water(sky, normal, view, slope_var, water, foam)
        fog = (1.0 - np.exp(-z / haze_m))[..., None]
        image[sea_rows] = sea * (1.0 - fog) + sky.horizon * fog
    return _tone_map(image, rng.uniform(0.9, 1.3))


def _tone_map(linear: np.ndarray, exposure: float) -> np.ndarray:
    """Linear RGB to display values: soft shoulder for glints, then gamma."""
    return (1.0 - np.exp(-np.maximum(linear, 0.0) * exposure * 1.6)) ** (1.0 / 2.2)


def _ocean_from_above(rng: np.random.Generator, size: int) -> np.ndarray:
    """A coast seen from straight above: sand, turquoise shallows, surf lines, deep blue water."""
    sky = _pick_sky(rng, rng.uniform(-np.pi, np.pi), odds=(0.85, 0.0, 0.15))  # low sun looks murky here
    extent_m = rng.uniform(50.0, 180.0)  # width of the picture on the ground
    shore_angle = rng.uniform(-np.pi, np.pi)  # direction of the open sea
    shore_at = rng.uniform(-0.8, 0.15)  # waterline's distance from the centre, image widths
    shelf = rng.uniform(0.03, 0.1)  # metres of depth per metre offshore
    swell_m = rng.uniform(8.0, 25.0)
    breaker_m = rng.uniform(0.6, 2.0)  # depth at which swell breaks
    wind = shore_angle + np.pi  # onshore
    waves = _waves(rng, 48, rng.uniform(6.0, 20.0), wind, rng.uniform(0.4, 0.8), rng.uniform(0.01, 0.04))
    green = rng.random() < 0.5  # vegetation behind the beach

    yy, xx = _pixel_grid(size)
    x_m, z_m = (xx + 0.5) * extent_m / size, (yy + 0.5) * extent_m / size
    across = ((xx + 0.5) / size - 0.5) * np.sin(shore_angle)  # towards the open sea, image widths
    across += ((yy + 0.5) / size - 0.5) * np.cos(shore_angle)
    coast, reef, grain, lace = (_noise(rng, size, beta) for beta in (4.0, 3.0, 1.5, 2.2))
    offshore_m = (across - shore_at + 0.15 * coast) * extent_m  # negative on land
    depth = offshore_m * shelf + 0.4 * reef * np.clip(offshore_m * shelf, 0.0, 3.0)

    blur = np.full((size, 1), 0.6 * extent_m / size)
    _, slope_x, slope_z, jacobian, _ = _sea_surface(waves, x_m, z_m, blur, choppy=0.8)
    sun_light = sky.sun_colour * (0.4 + 1.2 * max(sky.sun[1], 0.0)) + 0.5 * sky.zenith

    sand = np.array([0.95, 0.78, 0.50]) * np.exp(0.08 * grain)[..., None]
    sand = sand * (1.0 - 0.45 * _smoothstep(-4.0, 0.0, offshore_m))[..., None]  # wet near the water
    if green:
        bush = np.array([0.05, 0.16, 0.04]) * np.exp(0.5 * reef + 0.3 * grain)[..., None]
        inland = _smoothstep(-0.15 * extent_m, -0.2 * extent_m, offshore_m + 0.08 * extent_m * reef)
        sand = sand * (1.0 - inland[..., None]) + bush * inland[..., None]
    seabed = sand * (1.0 - 0.6 * _smoothstep(0.6, 1.2, reef) * _smoothstep(1.0, 3.0, depth))[..., None]
    # Light focused by the waves onto a shallow bottom (caustics): where the surface's folding
    # term dips, it is curved like a lens.
    curvature = jacobian - 1.0
    caustic = np.clip(1.0 - 3.0 * curvature * np.clip(depth, 0.0, 4.0) / 4.0, 0.3, 3.0) ** 1.5
    wet = np.clip(depth, 0.0, None)[..., None]
    absorb = np.array([0.45, 0.07, 0.035])
    bottom_seen = seabed * caustic[..., None] * np.exp(-2.0 * wet * absorb)
    scatter = np.array([0.0, 0.05, 0.20]) * (1.0 - np.exp(-0.2 * wet))
    water = (bottom_seen + scatter) * sun_light

    normal = np.stack([-slope_x, np.ones_like(slope_x), -slope_z], axis=-1)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    view = np.broadcast_to(np.array([0.0, 1.0, 0.0]), normal.shape)
    # Surf: bands of foam on the crests of a swell that breaks where the water gets shallow.
    crest = (offshore_m / swell_m + 0.4 * coast + 0.1 * lace) % 1.0
    band = np.exp(-crest / 0.2) * _smoothstep(0.0, 0.03, crest)  # sharp front, foam trailing behind
    surf = band * _smoothstep(breaker_m, 0.5 * breaker_m, depth) * _smoothstep(-1.0, 0.5, lace + band)
    swash = _smoothstep(0.0, 0.05, depth) * _smoothstep(0.3, 0.05, depth) * _smoothstep(-0.3, 0.6, lace)
    caps = _smoothstep(0.45, 0.2, jacobian)
    foam = np.clip(surf + swash + caps, 0.0, 1.0) * (depth > 0.0)
    sea = _shade_water(sky, normal, view, np.zeros((size, 1)), water, foam)
    image = np.where((depth > 0.0)[..., None], sea, sand * sun_light)
    return _tone_map(image, rng.uniform(0.9, 1.2))


# ---------------------------------------------------------------- fire

# Colour ramps of flame temperature 0..1, linear RGB at 0, 0.25, 0.5, 0.75, 1.
_FIRE_RAMPS = np.array(
    [
        [[0, 0, 0], [0.35, 0.02, 0.0], [1.0, 0.22, 0.01], [1.0, 0.62, 0.12], [1.0, 0.95, 0.7]],  # wood fire
        [[0, 0, 0], [0.45, 0.0, 0.03], [1.0, 0.08, 0.02], [1.0, 0.45, 0.05], [1.0, 0.85, 0.4]],  # deep red
        [[0, 0, 0], [0.02, 0.05, 0.35], [0.1, 0.3, 1.0], [0.45, 0.75, 1.0], [0.9, 0.97, 1.0]],  # gas blue
        [[0, 0, 0], [0.0, 0.25, 0.05], [0.15, 0.8, 0.15], [0.6, 1.0, 0.35], [0.95, 1.0, 0.85]],  # copper
    ]
)


def _fire(rng: np.random.Generator, size: int) -> np.ndarray:
    """Flames rising from a bed of embers, with sparks and smoke, against the dark."""
    ramp = _FIRE_RAMPS[rng.choice(len(_FIRE_RAMPS), p=[0.55, 0.25, 0.1, 0.1])]
    count = int(rng.integers(1, 5))
    centres, widths = rng.uniform(0.05, 0.95, count), rng.uniform(0.06, 0.3, count)
    heights = rng.uniform(0.3, 0.95, count)  # flame heights, image heights
    wall = rng.random() < 0.3  # a line of fire across the frame instead of separate fires
    bed = rng.uniform(0.04, 0.16)  # height of the glowing bed at the bottom
    sway_px = rng.uniform(0.04, 0.12) * size
    lean = rng.normal(0.0, 0.15)  # wind, in image widths per image height

    yy, xx = _pixel_grid(size)
    up = 1.0 - (yy + 0.5) / size  # 0 at the bottom edge
    sway = _noise(rng, size, 3.5, stretch=(1.5, 1.0))
    tongues = _noise(rng, size, 3.0, stretch=(3.0, 1.0))  # tall: flames are drawn out upwards
    licks = _noise(rng, size, 2.6, stretch=(2.5, 1.0))
    smoke = _noise(rng, size, 3.0, stretch=(1.5, 1.0))
    coals = _noise(rng, size, 3.0, stretch=(1.0, 1.5))
    # Flames lean and sway more the higher they reach; their texture sways with them.
    shift_px = (sway_px * sway + lean * size * up) * up
    tongues, licks = np.moveaxis(_sample(np.stack([tongues, licks], axis=-1), xx + shift_px, yy), -1, 0)
    x = ((xx + 0.5 + shift_px) / size)[..., None]
    reach = (heights * np.exp(-(((x - centres) / widths) ** 2))).max(axis=-1)  # (size, size)
    if wall:
        reach = np.maximum(reach, heights.mean() * (0.7 + 0.2 * np.tanh(tongues)))
    # Hot at the base, cooling with height; noise tears the top into tongues.
    heat = 1.25 * (1.0 - up / np.maximum(reach, 1e-3)) + 0.5 * tongues + 0.15 * licks
    heat = np.clip(heat, 0.0, 1.4) * _smoothstep(0.02, 0.08, reach)

    # Bed of embers: glowing seams between dark lumps of fuel.
    in_bed = _smoothstep(bed + 0.02, bed - 0.02, up + 0.02 * smoke)
    seams = np.clip(1.0 - np.abs(coals) * 3.0, 0.0, 1.0) ** 2
    bed_heat = in_bed * (0.15 + 0.8 * seams) * (0.3 + 0.7 * _smoothstep(0.0, 0.3, reach))
    heat = np.maximum(heat * (1.0 - in_bed), bed_heat)

    light = _ramp(ramp, heat / 1.4) * (1.0 + 2.0 * _smoothstep(1.0, 1.4, heat))[..., None]
    bloom_px = 0.06 * size  # light scattered by smoke and air around the flames

    def gaussian(dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
        return np.exp(-(dy * dy + dx * dx) / (2.0 * bloom_px**2)) / (2.0 * np.pi * bloom_px**2)

    glow = _convolve(light, gaussian, 3.0 * bloom_px)
    haze = _smoothstep(-1.0, 1.5, smoke)[..., None]  # smoke darkens some of the glow
    light = light + 0.6 * glow * (1.0 - 0.7 * haze)

    # Sparks: points carried up from the flames, smeared into short streaks by their motion.
    sparks = int(rng.integers(10, 60))
    across = (rng.choice(centres, sparks) + rng.normal(0.0, 0.12, sparks)) % 1.0
    down = 1.0 - rng.uniform(0.1, 1.0, sparks) ** 0.7  # more near the flames
    where = np.stack([across, down], axis=1)
    colour = _ramp(ramp, rng.uniform(0.6, 0.9, sparks)) * (0.5 * rng.random(sparks) ** -0.8)[:, None]
    streak_px = max(1.0, 0.006 * size)

    def streak(dy: np.ndarray, dx: np.ndarray) -> np.ndarray:  # short trail along the rise
        return np.exp(-((dx + lean * dy) ** 2) / 0.3 - (dy / streak_px) ** 2)

    trails = _convolve(_splat(size, where, colour), streak, 3.0 * streak_px)
    light = light + trails / (np.sqrt(np.pi) * streak_px)
    return _tone_map(light, rng.uniform(0.8, 1.2))


def _ramp(stops: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Piecewise-linear colour ramp: stops (n, 3) evenly spaced over t in [0, 1]. (..., 3)"""
    position = np.clip(t, 0.0, 1.0) * (len(stops) - 1)
    low = np.minimum(position.astype(np.intp), len(stops) - 2)
    frac = (position - low)[..., None]
    return stops[low] * (1.0 - frac) + stops[low + 1] * frac


_RENDERERS: dict[str, Callable[[np.random.Generator, int], np.ndarray]] = {
    "nebula": _nebula,
    "ocean": _ocean,
    "fire": _fire,
}
