"""Clouds: cumulus and stratus skies at midday, golden hour, overcast or dusk, seen from below or,
from a plane, as a sea of clouds to the horizon.

Clouds lie on a flat layer seen in perspective; their density is a sum of octaves of band-limited
noise, each on its own periodic tile, turned and scaled its own way, so no two octaves repeat
together (no visible tiling). Light is marched a few steps towards the sun across the layer:
cloud in the way shades undersides from below and casts shadows on the tops from above.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from builder.training.themes.shared import hue_shift, noise, sample, smoothstep, tone_map

_TILE = 256  # grid points per side of each octave's periodic tile
_CYCLES = 24.0  # the octave's wavelengths per side of its tile (about 11 grid points each)
_MAX_OCTAVES = 10


@dataclass(frozen=True)
class _Light:
    """The light of one picture, linear RGB."""

    zenith: np.ndarray
    horizon: np.ndarray  # the horizon below the sun
    away: np.ndarray  # the horizon opposite the sun
    sun: np.ndarray  # unit vector towards the sun, y up, z forward
    sun_level: np.ndarray  # unit (x, z): the sun's direction across the layer
    sun_colour: np.ndarray
    glow: float  # brightness of the haze around the sun


# Sky colours, linear RGB; sun elevation range in degrees; hue jitter range in turns (blue skies
# turn only towards cyan: the other way they go violet).
_MOODS = {
    "midday": dict(zenith=[0.025, 0.15, 0.58], horizon=[0.38, 0.60, 0.92], away=[0.36, 0.56, 0.90],
                   sun=[1.0, 0.96, 0.88], elevation=(30.0, 70.0), glow=0.4, hue=(-0.03, 0.005)),
    "golden": dict(zenith=[0.06, 0.16, 0.48], horizon=[1.00, 0.55, 0.22], away=[0.42, 0.50, 0.75],
                   sun=[1.0, 0.50, 0.17], elevation=(2.0, 12.0), glow=1.2, hue=(-0.02, 0.01)),
    "overcast": dict(zenith=[0.22, 0.25, 0.30], horizon=[0.50, 0.53, 0.58], away=[0.48, 0.51, 0.56],
                     sun=[0.8, 0.8, 0.78], elevation=(25.0, 60.0), glow=0.15, hue=(-0.03, 0.03)),
    "dusk": dict(zenith=[0.02, 0.04, 0.17], horizon=[1.00, 0.40, 0.28], away=[0.26, 0.22, 0.42],
                 sun=[1.0, 0.36, 0.40], elevation=(-3.0, 1.0), glow=0.8, hue=(-0.03, 0.025)),
}


def _pick_light(rng: np.random.Generator, mood: str, sun_azimuth: float, lowest_deg: float = -90) -> _Light:
    m = _MOODS[mood]
    turns = rng.uniform(*m["hue"])
    elevation = np.radians(max(rng.uniform(*m["elevation"]), lowest_deg))
    level = np.cos(elevation)
    sun = np.array([level * np.sin(sun_azimuth), np.sin(elevation), level * np.cos(sun_azimuth)])
    sky = [np.clip(hue_shift(np.array(m[key]), turns), 0.0, None) for key in ("zenith", "horizon", "away")]
    f32 = np.float32  # float32 throughout the per-pixel work: faster, and precise enough
    return _Light(*(c.astype(f32) for c in sky), sun=sun.astype(f32), sun_level=(sun[[0, 2]] / level).astype(f32),
                  sun_colour=np.array(m["sun"], f32), glow=m["glow"])


def _sky(light: _Light, direction: np.ndarray, disk: bool = True) -> np.ndarray:
    """Radiance of the clear sky along unit `direction` (..., 3): gradient, sun haze, disk."""
    up = np.clip(direction[..., 1], 0.0, 1.0)
    level = light.sun_level
    toward = (direction[..., 0] * level[0] + direction[..., 2] * level[1]) / np.sqrt(1.0 - up**2 + 1e-6)
    horizon = light.away + (light.horizon - light.away) * ((0.5 + 0.5 * toward) ** 2)[..., None]
    sky = horizon + (light.zenith - horizon) * (1.0 - np.exp(-4.0 * up))[..., None]
    cos_sun = direction @ light.sun
    glow = light.glow * np.exp((cos_sun - 1.0) * 30.0) + 30.0 * disk * smoothstep(0.99980, 0.99990, cos_sun)
    broad = 0.3 * light.glow * np.exp((cos_sun - 1.0) * 3.0)  # the haze about the sun, sky-coloured
    return sky + glow[..., None] * light.sun_colour + broad[..., None] * light.horizon


@dataclass(frozen=True)
class _Octaves:
    """Band-limited noise, one octave per periodic tile."""

    tiles: np.ndarray  # (octaves, _TILE, _TILE) float32, unit std
    wavelength: np.ndarray  # (octaves,) layer units
    turn: np.ndarray  # (octaves, 2, 2) layer -> tile axes
    shift: np.ndarray  # (octaves, 2) tile points


def _octaves(rng: np.random.Generator, size: int, coarsest: float, stretch: float, wind: float) -> _Octaves:
    """Octaves from `coarsest` wavelength (layer units) down, each about half the last; bigger
    images get more of them (the coarse ones are the same at every size). `stretch` > 1 draws
    features that many times longer along the `wind` direction than across."""
    child = rng.spawn(1)[0]
    wavelength = coarsest * np.cumprod(np.r_[1.0, np.exp(child.uniform(-0.82, -0.6, _MAX_OCTAVES - 1))])
    angle = wind + child.uniform(-1.0, 1.0, _MAX_OCTAVES) * (np.pi if stretch < 1.2 else 0.15)  # stretched: windward
    shift = child.uniform(0.0, _TILE, (_MAX_OCTAVES, 2))
    count = int(np.clip(round(8 + np.log2(size / 256)), 3, _MAX_OCTAVES))  # finest: ~3 px at 256
    # Only the frequencies the band reaches are drawn: it has faded to 1 % at 2.5 x _CYCLES.
    top = int(min(_TILE // 2, np.ceil(2.5 * _CYCLES * np.sqrt(stretch))))
    fy = np.r_[0:top, -top:0][:, None] * np.sqrt(stretch)
    fx = np.arange(top + 1)[None, :] / np.sqrt(stretch)
    f = np.maximum(np.hypot(fy, fx), 1e-6) / _CYCLES
    weight = np.exp(-0.5 * (np.log2(f) / 0.45) ** 2)  # an octave wide around _CYCLES per tile
    spectrum = np.zeros((count, _TILE, _TILE // 2 + 1), complex)
    for k in range(count):
        block = child.standard_normal((2, 2 * top, top + 1))
        spectrum[k, np.r_[0:top, _TILE - top:_TILE], : top + 1] = (block[0] + 1j * block[1]) * weight
    tiles = np.fft.irfft2(spectrum, s=(_TILE, _TILE))
    tiles = (tiles / tiles.std(axis=(1, 2), keepdims=True)).astype(np.float32)
    scale = (_TILE / _CYCLES) / wavelength[:count]  # tile points per layer unit
    c, s = np.cos(angle[:count]), np.sin(angle[:count])
    turn = np.stack([np.stack([c, s], -1), np.stack([-s, c], -1)], 1) * scale[:, None, None]
    return _Octaves(tiles, wavelength[:count], turn, shift[:count])


def _sample_octaves(octaves: _Octaves, x: np.ndarray, z: np.ndarray, footprint: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Each octave at layer points (x, z), and how much of it to keep where a pixel's
    `footprint` (layer units) is wider than its wavelength (it would alias): two (octaves, ...)."""
    values, keeps = np.zeros((2, len(octaves.wavelength)) + x.shape, np.float32)  # float32: faster
    x, z, footprint = x.astype(np.float32), z.astype(np.float32), footprint.astype(np.float32)
    for k, wavelength in enumerate(octaves.wavelength):
        keep = np.exp(-((np.float32(2.0 / wavelength) * footprint) ** 2))
        if not np.any(keep > 0.01):
            break
        (a, b), (c, d) = octaves.turn[k].astype(np.float32)
        u, v = a * x + b * z + np.float32(octaves.shift[k, 0]), c * x + d * z + np.float32(octaves.shift[k, 1])
        values[k], keeps[k] = sample(octaves.tiles[k], u, v), keep
    return values, keeps


def draw(rng: np.random.Generator, size: int) -> np.ndarray:
    """A sky of clouds seen from below or, about one time in three, a sea of clouds from above."""
    return (_from_above if rng.random() < 0.35 else _from_below)(rng, size)


def _camera(size: int, pitch: float, focal: float) -> np.ndarray:
    """Unit view rays (size, size, 3) of a camera pitched up by `pitch` (down if < 0), y up, z forward."""
    u = (np.arange(size) + 0.5 - size / 2) / (size / 2) / focal
    v = (size / 2 - (np.arange(size) + 0.5)) / (size / 2) / focal
    ray = np.stack(np.broadcast_arrays(u[None, :], v[:, None], 1.0), axis=-1)
    c, s = np.cos(pitch), np.sin(pitch)
    ray = np.stack([ray[..., 0], ray[..., 1] * c + s, -ray[..., 1] * s + c], axis=-1)
    return (ray / np.linalg.norm(ray, axis=-1, keepdims=True)).astype(np.float32)  # float32: faster


def _jacobian(x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, ...]:
    """d(x, z)/d(row, col) of the layer points seen at each pixel, and its determinant: five (size, size)."""
    x_row, x_col = np.gradient(x)
    z_row, z_col = np.gradient(z)
    det = x_col * z_row - x_row * z_col
    return x_row, x_col, z_row, z_col, np.where(np.abs(det) < 1e-12, 1e-12, det)


def _march(field: np.ndarray, x: np.ndarray, z: np.ndarray, direction: np.ndarray, reach: float,
           count: int) -> tuple[np.ndarray, np.ndarray]:
    """`field` (size, size) sampled at `count` steps of up to `reach` layer units along `direction`
    (x, z) from each pixel's layer point, in screen space (off the frame: its edge), and the
    distances: (count, size, size), (count,)."""
    x_row, x_col, z_row, z_col, det = _jacobian(x, z)
    d_col = (z_row * direction[0] - x_row * direction[1]) / det  # pixels per layer unit
    d_row = (x_col * direction[1] - z_col * direction[0]) / det
    size = field.shape[0]
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32)
    distance = (reach * (np.arange(1, count + 1) / count) ** 1.5).astype(np.float32)  # denser near
    out = [sample(field.astype(np.float32), np.clip(cols + d_col * r, 0.0, size - 1.001),
                  np.clip(rows + d_row * r, 0.0, size - 1.001)) for r in distance]
    return np.stack(out), distance


def _from_below(rng: np.random.Generator, size: int) -> np.ndarray:
    """Clouds overhead, their flat bases at height 1, lit through their own thickness."""
    mood = ["midday", "golden", "overcast", "dusk"][rng.choice(4, p=[0.4, 0.25, 0.15, 0.2])]
    # Odds of cumulus, stratocumulus, altocumulus, stratus (only under a grey or blue sky), and
    # their coarsest wavelength, stretch, cover, billow, octave gain, thickness, edge sharpness.
    odds = {"midday": [0.45, 0.2, 0.2, 0.15], "overcast": [0.0, 0.4, 0.0, 0.6]}.get(mood, [0.45, 0.3, 0.25, 0.0])
    coarsest, stretch, cover, billow, gain, thick, sharp = [
        (rng.uniform(1.5, 3.0), 1.0, rng.uniform(-0.9, 0.1), 0.8, 0.55, rng.uniform(1.0, 2.0), 10.0),
        (rng.uniform(1.5, 3.0), rng.uniform(1.2, 2.0), rng.uniform(0.0, 0.8), 0.7, 0.6, 1.0, 6.0),
        (rng.uniform(0.6, 1.2), rng.uniform(1.0, 2.0), rng.uniform(-0.4, 0.4), 0.9, 0.6, 0.4, 8.0),
        (rng.uniform(2.0, 4.0), rng.uniform(1.0, 2.0), rng.uniform(1.0, 1.8), 0.4, 0.7, 1.4, 3.0),
    ][rng.choice(4, p=odds)]
    light = _pick_light(rng, mood, rng.normal(0.0, 0.6) if rng.random() < 0.6 else rng.uniform(-np.pi, np.pi))
    half_fov = np.radians(rng.uniform(25.0, 40.0))
    focal = 1.0 / np.tan(half_fov)
    pitch = rng.uniform(half_fov - 0.2, np.radians(75.0))  # the horizon at most 30 % up the frame
    octaves = _octaves(rng, size, coarsest, stretch, rng.uniform(-np.pi, np.pi))
    layout = noise(rng, size, 4.0).astype(np.float32)  # cover varies across the frame

    ray = _camera(size, pitch, focal)
    up = np.maximum(ray[..., 1], 0.01)
    t = 1.0 / up  # distance to the cloud base
    x, z = ray[..., 0] * t, ray[..., 2] * t
    pixel = 2.0 / (size * focal)
    # Footprint: nearly the pixel's long side on the layer (filtering less along the view than
    # across it leaves streaks running to the vanishing point).
    values, keeps = _sample_octaves(octaves, x, z, t * pixel / up**0.7)
    shaped = (1.0 - billow) * values + billow * 1.65 * (np.abs(values) - 0.8)  # |octave|: puffs
    sums = np.cumsum((gain ** np.arange(len(values))).astype(np.float32)[:, None, None] * keeps * shaped, axis=0)
    coarse = sums[min(2, len(sums) - 1)]  # what shades the rest: the three coarsest octaves
    shape = coarse + 0.45 * layout + cover
    density = np.logaddexp(0.0, sharp * (shape + sums[-1] - coarse)) / sharp * thick  # soft-edged

    reach = np.clip(0.3 / max(light.sun[1], 0.05), 0.3, 3.0) * coarsest * 0.3
    ahead, _ = _march(np.logaddexp(0.0, sharp * shape) / sharp * thick, x, z, light.sun_level, reach, 5)
    low_sun = light.sun[1] < 0.25  # beside or below the clouds: it lights their bases directly
    own = 0.6 * light.sun[1] + 0.2 if not low_sun else (0.4 if light.sun[1] > 0.0 else 0.1)
    depth = 1.6 * (own * density + (0.6 if low_sun else 1.0) * ahead.mean(axis=0))
    # Light scattered many times reaches deeper: a sum of ever gentler extinctions (Wrenninge).
    lit = (np.exp(-depth) + 0.6 * np.exp(-0.25 * depth) + 0.4 * np.exp(-0.06 * depth)) / 2.0
    cos_sun = ray @ light.sun
    lit *= 1.0 + 4.0 * np.exp((cos_sun - 1.0) * 6.0) * np.exp(-3.0 * density)  # silver linings
    if low_sun:  # clouds towards the sun glow, the rest fade to grey; thick ones stay darker
        lit *= (0.45 + 0.55 * np.exp((cos_sun - 1.0) * 1.2)) * (0.3 + 0.7 / (1.0 + density))
    strength = 0.25 if mood == "overcast" else 1.0
    sun_light = light.sun_colour * (1.6 if low_sun else 0.3 + light.sun[1] ** 0.5) * strength
    skylight = 0.35 * light.zenith + 0.15 * light.away + 0.1 * strength * light.sun_colour
    through = 1.0 / (1.0 + 0.6 * density)  # diffuse light through the layer: thick parts darker
    cloud = lit[..., None] * sun_light + skylight * through[..., None]
    alpha = (1.0 - np.exp(-4.0 * density)) * smoothstep(0.01, 0.06, ray[..., 1])
    sky = _sky(light, ray, disk=mood != "overcast")
    haze = (1.0 - np.exp(-t / 12.0))[..., None]
    image = sky * (1.0 - alpha[..., None]) + (cloud * (1.0 - haze) + sky * haze) * alpha[..., None]
    if pitch - half_fov < 0.05:  # the horizon is in view, or nearly
        image = _land(rng, light, ray, pixel, layout, image)
    return tone_map(image, rng.uniform(0.9, 1.3))


def _land(rng: np.random.Generator, light: _Light, ray: np.ndarray, pixel: float, layout: np.ndarray,
          image: np.ndarray) -> np.ndarray:
    """Dark hills (a row of `layout`) and ragged trees on the skyline, in front of `image`."""
    size = ray.shape[0]
    texture = noise(rng, size, 2.6)
    profile = layout[size // 3] + 0.3 * texture[size // 2]
    ridge = rng.uniform(0.0, 0.025) * np.logaddexp(0.0, 1.5 * profile) + 0.003  # radians
    elevation = np.arcsin(np.clip(ray[..., 1], -1.0, 1.0))
    cover = smoothstep(0.5 * pixel, -0.5 * pixel, elevation - ridge[None, :])[..., None]
    land = (0.05 * light.horizon + 0.05 * light.zenith) * np.array([0.8, 1.0, 0.7], np.float32)
    land = land * np.exp(0.25 * texture).astype(np.float32)[..., None]
    haze = np.exp(-np.clip(ridge[None, :] - elevation, 0.0, None) * 25.0)[..., None] * 0.5
    land = land * (1.0 - haze) + _sky(light, _horizontal(ray), disk=False) * 0.6 * haze
    return image * (1.0 - cover) + land * cover


def _horizontal(ray: np.ndarray) -> np.ndarray:
    """Each ray turned level: the direction of the horizon behind it."""
    level = ray * np.array([1.0, 0.0, 1.0], ray.dtype)
    return level / np.maximum(np.linalg.norm(level, axis=-1, keepdims=True), 1e-9)


def _from_above(rng: np.random.Generator, size: int) -> np.ndarray:
    """A sea of clouds from a plane: puffed tops to the horizon, shadowing each other."""
    mood = ["midday", "golden", "dusk"][rng.choice(3, p=[0.5, 0.32, 0.18])]
    # The sun no lower than the horizon: below it, nothing lights the tops but the sky.
    azimuth = rng.normal(0.0, 0.7) if rng.random() < 0.6 else rng.uniform(-np.pi, np.pi)
    light = _pick_light(rng, mood, azimuth, lowest_deg=0.5)
    horizon_frac = rng.uniform(0.15, 0.5)  # from the top, in image heights
    focal = 1.0 / np.tan(np.radians(rng.uniform(25.0, 40.0)))
    pitch = -np.arctan((0.5 - horizon_frac) * 2.0 / focal)
    coarsest = rng.uniform(1.0, 2.5)  # in heights of the eye above the cloud tops
    cover = rng.uniform(-0.2, 1.4)
    octaves = _octaves(rng, size, coarsest, rng.uniform(1.0, 2.0), rng.uniform(-np.pi, np.pi))
    layout = noise(rng, size, 4.0).astype(np.float32)

    ray = _camera(size, pitch, focal)
    down = np.maximum(-ray[..., 1], 0.002)
    t = 1.0 / down
    x, z = ray[..., 0] * t, ray[..., 2] * t
    values, keeps = _sample_octaves(octaves, x, z, t * 2.0 / (size * focal) / down**0.7)
    deck = values[0] * keeps[0] + 0.5 * values[1] * keeps[1] + 0.4 * layout + cover  # > 0: it rises
    caps = np.sqrt(np.logaddexp(0.0, 2.5 * (values + 0.3)) / 2.5)  # rounded puffs, creased between
    fade = (0.72 ** np.arange(len(values)) * (np.arange(len(values)) >= 2)).astype(np.float32)[:, None, None]
    # Puffs about as tall as wide, but those under ~0.05 (some tens of metres) shade no sides of
    # their own (light diffuses through them): they only darken their creases.
    amplitude = (0.4 * octaves.wavelength * (octaves.wavelength > 0.05)).astype(np.float32)
    puffs = (amplitude[:, None, None] * fade * keeps * caps).sum(axis=0)
    cavity = (fade * keeps * smoothstep(0.8, 0.0, caps)).sum(axis=0) / fade.sum()  # deeper, darker
    lumps = (fade**1.5 * keeps * (caps - 0.6)).sum(axis=0) / (fade**1.5).sum()
    thickness = np.logaddexp(0.0, 3.0 * (deck + 1.5 * lumps)) / 3.0  # optical thickness, soft-edged
    broad = 0.15 * coarsest * np.logaddexp(0.0, 3.0 * deck) / 3.0  # what casts shadows: big lumps
    height = broad + puffs * smoothstep(0.0, 0.5, thickness)
    x_row, x_col, z_row, z_col, det = _jacobian(x, z)
    h_row, h_col = np.gradient(height)
    normal = np.stack([(z_col * h_row - z_row * h_col) / det, np.ones_like(height),
                       (x_row * h_col - x_col * h_row) / det], axis=-1)  # (-dh/dx, 1, -dh/dz)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)

    ahead, distance = _march(broad, x, z, light.sun_level, 0.5 * coarsest, 5)
    rise = np.tan(max(light.sun[1], 0.02)) * distance[:, None, None]  # the sunbeam climbs
    shadow = np.exp(-np.clip(ahead - broad - rise, 0.0, None).mean(axis=0) / (0.02 * coarsest))
    wrap = 0.2 + 0.3 * light.sun[1] if light.sun[1] > 0.0 else 0.0  # light scattered round puffs
    lambert = np.clip((normal @ light.sun + wrap) / (1.0 + wrap), 0.0, 1.0)
    sun_light = light.sun_colour * (1.0 + max(light.sun[1], 0.0) ** 0.5)
    low = smoothstep(0.5, -0.5, deck)  # where the deck sinks it lies lower, in its neighbours' shade
    ambient = (0.7 * light.zenith + 0.05 * light.horizon + 0.04) * (1.0 - 0.5 * low)[..., None]
    cloud = ((lambert * shadow)[..., None] * sun_light + ambient) * (1.0 - 0.6 * cavity)[..., None]
    cloud *= (0.35 + 0.65 * thickness / (thickness + 0.3))[..., None]  # thin cloud reflects less
    ground = 0.03 * sun_light * (0.5 + 0.5 * shadow)[..., None] + 0.3 * light.zenith  # through haze
    alpha = (1.0 - np.exp(-5.0 * thickness))[..., None]
    haze = (1.0 - np.exp(-t / 25.0))[..., None]
    distant = 0.9 * _sky(light, _horizontal(ray), disk=False) + 0.1 * light.glow * light.sun_colour
    cloud = (cloud * alpha + ground * (1.0 - alpha)) * (1.0 - haze) + distant * haze
    image = np.where((ray[..., 1] < -0.002)[..., None], cloud, _sky(light, ray))
    return tone_map(image, rng.uniform(0.9, 1.2))
