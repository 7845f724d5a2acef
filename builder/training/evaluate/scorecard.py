"""The scorecard of one generator: does it paint its theme in its colours, follow the scene, stamp
no pattern and hatch no strokes, let its detail move with the scene, and survive quantization? (README, "Scorecard".)

`Judge` prepares everything that does not depend on the generator once (photographs through the
transform, pans, references and the two anchors), so that the checkpoints of a run are scored
against the same inputs, references and random projections.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from builder.training import motion
from builder.training.evaluate import inputs as ev
from builder.training.evaluate import metrics as m
from builder.training.transform import LUMA

REFERENCES = 24  # per reference set
FINE_LEVELS = (0, 1)  # 256 and 128 px: the invented texture

# figure -> (comparison, target): the targets of issue #9, checked on every scorecard.
TARGETS = {
    "likeness": ("<=", 0.30),
    "likeness_fine": ("<=", 0.30),
    "correlation_median": (">=", 0.6),
    "lattice_peak_median": ("<=", 15.0),
    "colour_ratio": (">=", 0.6),
    "stroke_bias": ("<=", 0.2),
    "moves_with_scene": (">=", 0.5),
    "psnr_db": (">=", 40.0),
}


def _invented(soft: np.ndarray, sigma: float = 10.0) -> np.ndarray:
    """Fine detail a generator could invent from what the transform keeps: a ripple that is a
    function of the soft input's blurred values at each pixel, (frames, S, S, 1) -> (frames, S, S, 3).
    It owes nothing to the transform's screen-fixed 24-px grid or to a fixed noise texture, and it
    moves with the scene (about 0.5): `moves_with_scene` is within reach of a generator whose
    invented detail answers only to the scene."""
    from scipy.ndimage import gaussian_filter

    blurred = gaussian_filter(soft[..., 0], sigma=(0, sigma, sigma))
    return np.repeat((0.5 * blurred + 0.5 * np.sin(40.0 * blurred))[..., None], 3, axis=-1)


def meets(value, comparison: str, target: float) -> bool | None:
    if value is None:
        return None
    return value <= target if comparison == "<=" else value >= target


@dataclass
class Judge:
    params: object
    labels: list[str]
    inputs: np.ndarray  # (n, S, S, 1): the photographs through the transform
    pans: list[np.ndarray]  # each (frames, S, S, 1)
    pan_moves: list[np.ndarray]  # each (frames, 2): how far its scene moved, as the runtime estimates it (motion.py)
    pan_travel: list[float]  # how far each pan's own photograph travels (the anchor of moves_with_scene)
    input_travel: float  # the same figure for the soft input itself: what the transform leaves to follow
    reachable_travel: float  # and for detail invented from the soft input's blurred values (see _invented)
    references: np.ndarray  # (r, S, S, 3): the theme's own held-out pictures, compared with outputs
    reference_patches: list
    floor: list[float]  # SWD per level: two disjoint sets of the theme's own pictures
    ceiling: list[float]  # SWD per level: other themes against this one's references
    ceiling_themes: list[str]
    reference_colour: float  # the theme's own median colourfulness

    @classmethod
    def prepare(cls, params, own: np.ndarray, spare: np.ndarray, others: dict[str, np.ndarray], photos_dir=None):
        """own/spare: two disjoint sets of the theme's references; others: theme -> references;
        photos_dir: a folder of one's own photographs instead of the built-in ones."""
        rng = np.random.default_rng(0)
        scenes, pan_scenes = ev.scene_photos(photos_dir, params.size)
        labels, photos = ev.photo_crops(scenes)
        pans, pan_moves, pan_travel = [], [], []
        for scene in pan_scenes:
            clip = ev.pan_clip(scene, params.size)
            pans.append(ev.camera_inputs(list(clip), params))
            pan_moves.append(motion.travelled([motion.motion_map(frame, LUMA) for frame in clip], params.size))
            pan_travel.append(m.travel(clip / 127.5 - 1.0, ev.PAN_SHIFT))
        own_patches = m.level_patches(own, rng)
        floor = m.swd_per_level(own_patches, m.level_patches(spare, rng))
        per_theme = [m.swd_per_level(m.level_patches(refs, rng), own_patches) for refs in others.values()]
        ceiling = list(np.mean(per_theme, axis=0))
        # The soft input's own fine detail sits on the transform's screen-fixed 24-px grid.
        input_travel = float(np.median([m.travel(np.repeat(p, 3, -1), ev.PAN_SHIFT) / t
                                        for p, t in zip(pans, pan_travel)]))
        reachable_travel = float(np.median([m.travel(_invented(p), ev.PAN_SHIFT) / t
                                            for p, t in zip(pans, pan_travel)]))
        reference_colour = float(np.median([m.colourfulness(y) for y in own]))
        return cls(params, labels, ev.camera_inputs(photos, params), pans, pan_moves, pan_travel, input_travel,
                   reachable_travel, own, own_patches, floor, ceiling, list(others), reference_colour)

    def score(self, generate, psnr_db: float | None = None) -> dict:
        """generate(x, moved=None): (n, S, S, 1) -> (n, S, S, 3), both in [-1, 1]; for a pan, `moved`
        ((n, 2) px) says how far the scene had moved at each frame, so that a generator's noise
        texture moves with it as it does in the browser. Returns the scorecard."""
        outputs = generate(self.inputs)
        pan_outputs = [generate(p, moved) for p, moved in zip(self.pans, self.pan_moves)]
        return {**self.figures(outputs, pan_outputs, psnr_db), "outputs": outputs}

    def figures(self, outputs: np.ndarray, pan_outputs: list[np.ndarray], psnr_db: float | None = None) -> dict:
        """The figures of outputs already made (the self-checks plant defects in them)."""
        swd = m.swd_per_level(m.level_patches(outputs, np.random.default_rng(1)), self.reference_patches)
        corr = m.correlation(self.inputs, outputs)
        lattice = [m.lattice_peak(y) for y in outputs]
        repeat = [m.repetition(y) for y in outputs]
        colour = [m.colourfulness(y) for y in outputs]
        travel = [m.travel(o, ev.PAN_SHIFT) / max(t, 1e-6) for o, t in zip(pan_outputs, self.pan_travel)]
        card = {
            "likeness": round(m.likeness(swd, self.floor, self.ceiling), 4),
            "likeness_fine": round(m.likeness(swd, self.floor, self.ceiling, FINE_LEVELS), 4),
            "correlation_median": round(float(np.median(corr)), 4),
            "correlation_min": round(float(np.min(corr)), 4),
            "lattice_peak_median": round(float(np.median(lattice)), 2),
            "lattice_peak_max": round(float(np.max(lattice)), 2),
            "repetition_median": round(float(np.median(repeat)), 4),
            "repetition_max": round(float(np.max(repeat)), 4),
            "colour_ratio": round(float(np.median(colour)) / self.reference_colour, 4),
            "stroke_bias": round(m.stroke_bias(outputs, self.references), 4),
            "moves_with_scene": round(float(np.median(travel)), 4),
            "psnr_db": psnr_db,
            "swd_per_level": [round(v, 3) for v in swd],
        }
        card["passes"] = {k: meets(card[k], *TARGETS[k]) for k in TARGETS}
        return card

    def pan_motion_error(self) -> float:
        """The worst error, in px, of the runtime's motion estimate (what moves the noise texture)
        on the pans, whose scenes truly move PAN_SHIFT px a frame to the left."""
        truth = [np.stack([np.zeros(len(m_)), -ev.PAN_SHIFT * np.arange(len(m_))], axis=1) for m_ in self.pan_moves]
        return float(max(np.abs(moved - true).max() for moved, true in zip(self.pan_moves, truth)))

    def anchors(self) -> dict:
        return {"floor_swd_per_level": [round(v, 3) for v in self.floor],
                "ceiling_swd_per_level": [round(v, 3) for v in self.ceiling],
                "ceiling_themes": self.ceiling_themes, "pyramid_levels_px": m.pyramid_sizes(self.params.size),
                "fine_levels_px": [m.pyramid_sizes(self.params.size)[i] for i in FINE_LEVELS],
                "photos": len(self.labels), "references": len(self.references),
                "pans": len(self.pans), "pan_shift_px": ev.PAN_SHIFT,
                "pan_motion_error_px": round(self.pan_motion_error(), 3),
                "soft_input_moves_with_scene": round(self.input_travel, 4),
                "invented_from_blurred_input_moves_with_scene": round(self.reachable_travel, 4),
                "reference_colourfulness": round(self.reference_colour, 4)}


def rank_key(card: dict):
    """The rule that names a run's best checkpoint: the most targets met (unknown PSNR counts as
    met: checkpoints are not quantized), then the lowest mean of likeness and fine likeness."""
    met = sum(1 for v in card["passes"].values() if v is not False)
    return (-met, (card["likeness"] + card["likeness_fine"]) / 2)
