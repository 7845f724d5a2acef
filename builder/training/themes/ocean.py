"""Ocean: the sea to the horizon under a varied sky, or a coast seen from above."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from builder.training.themes.shared import hue_shift, noise, pixel_grid, sample, smoothstep, tone_map


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
    tile = np.stack([0.85 * noise(rng, 128, 3.4), 0.4 * noise(rng, 128, 2.2)], axis=-1)
    return _Sky(
        zenith=np.clip(hue_shift(np.array(zenith), turns), 0.0, None),
        horizon=np.clip(hue_shift(np.array(horizon), turns), 0.0, None),
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
    broad, fine = np.moveaxis(sample(sky.cloud_tile, u, v), -1, 0)
    texture = broad + fine if direct else broad
    texture = texture * np.exp(-reach / 25.0)
    density = smoothstep(sky.cloud_cover, sky.cloud_cover + 1.0, texture) * smoothstep(0.0, 0.12, up)
    silver = 0.8 * sky.glow * np.exp((cos_sun - 1.0) * 8.0)  # clouds near the sun shine
    lit = sky.cloud_colour * (0.55 + 0.5 * up[..., None]) + silver[..., None] * sky.sun_colour
    light = light * (1.0 - density[..., None]) + lit * density[..., None]
    if direct:
        disk = smoothstep(0.99980, 0.99990, cos_sun) + 0.08 * np.exp((cos_sun - 1.0) * 2000.0)
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


def draw(rng: np.random.Generator, size: int) -> np.ndarray:
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
        foam = smoothstep(-whitecaps + 0.6, -whitecaps - 0.6, fold)
        sea = _shade_water(sky, normal, view, slope_var, water, foam)
        fog = (1.0 - np.exp(-z / haze_m))[..., None]
        image[sea_rows] = sea * (1.0 - fog) + sky.horizon * fog
    return tone_map(image, rng.uniform(0.9, 1.3))




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

    yy, xx = pixel_grid(size)
    x_m, z_m = (xx + 0.5) * extent_m / size, (yy + 0.5) * extent_m / size
    across = ((xx + 0.5) / size - 0.5) * np.sin(shore_angle)  # towards the open sea, image widths
    across += ((yy + 0.5) / size - 0.5) * np.cos(shore_angle)
    coast, reef, grain, lace = (noise(rng, size, beta) for beta in (4.0, 3.0, 1.5, 2.2))
    offshore_m = (across - shore_at + 0.15 * coast) * extent_m  # negative on land
    depth = offshore_m * shelf + 0.4 * reef * np.clip(offshore_m * shelf, 0.0, 3.0)

    blur = np.full((size, 1), 0.6 * extent_m / size)
    _, slope_x, slope_z, jacobian, _ = _sea_surface(waves, x_m, z_m, blur, choppy=0.8)
    sun_light = sky.sun_colour * (0.4 + 1.2 * max(sky.sun[1], 0.0)) + 0.5 * sky.zenith

    sand = np.array([0.95, 0.78, 0.50]) * np.exp(0.08 * grain)[..., None]
    sand = sand * (1.0 - 0.45 * smoothstep(-4.0, 0.0, offshore_m))[..., None]  # wet near the water
    if green:
        bush = np.array([0.05, 0.16, 0.04]) * np.exp(0.5 * reef + 0.3 * grain)[..., None]
        inland = smoothstep(-0.15 * extent_m, -0.2 * extent_m, offshore_m + 0.08 * extent_m * reef)
        sand = sand * (1.0 - inland[..., None]) + bush * inland[..., None]
    seabed = sand * (1.0 - 0.6 * smoothstep(0.6, 1.2, reef) * smoothstep(1.0, 3.0, depth))[..., None]
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
    band = np.exp(-crest / 0.2) * smoothstep(0.0, 0.03, crest)  # sharp front, foam trailing behind
    surf = band * smoothstep(breaker_m, 0.5 * breaker_m, depth) * smoothstep(-1.0, 0.5, lace + band)
    swash = smoothstep(0.0, 0.05, depth) * smoothstep(0.3, 0.05, depth) * smoothstep(-0.3, 0.6, lace)
    caps = smoothstep(0.45, 0.2, jacobian)
    foam = np.clip(surf + swash + caps, 0.0, 1.0) * (depth > 0.0)
    sea = _shade_water(sky, normal, view, np.zeros((size, 1)), water, foam)
    image = np.where((depth > 0.0)[..., None], sea, sand * sun_light)
    return tone_map(image, rng.uniform(0.9, 1.2))
