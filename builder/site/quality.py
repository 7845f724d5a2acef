"""A model card's scorecard: models/<name>/quality.json (written by `python -m builder evaluate`)
read and checked, and the rows of its table, each figure beside its target.

The targets and the pass rule are the evaluation's own (scorecard.TARGETS, scorecard.meets), so
the card cannot show a target the evaluation does not check.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from builder import REPO_ROOT
from builder.errors import BuildError
from builder.training.evaluate.scorecard import TARGETS, meets

QUALITY_JSON, QUALITY_SHEET = "quality.json", "quality.png"

# figure -> (its name on the card, how to print it), in the card's order. A worst case (_min, _max) follows
# its median, named after it: "Lattice peak, worst photograph".
FIGURES = {
    "likeness": ("Theme likeness", "{:.2f}"),
    "likeness_fine": ("Likeness, fine detail", "{:.2f}"),
    "correlation_median": ("Follows the scene", "{:.2f}"),
    "correlation_min": ("worst photograph", "{:.2f}"),
    "lattice_peak_median": ("Lattice peak", "{:.1f}"),
    "lattice_peak_max": ("worst photograph", "{:.1f}"),
    "colour_ratio": ("Colourfulness", "{:.2f}"),
    "stroke_bias": ("Strokes lean one way", "{:.2f}"),
    "repetition_median": ("Repetition", "{:.2f}"),
    "repetition_max": ("worst photograph", "{:.2f}"),
    "moves_with_scene": ("Moves with the scene", "{:.2f}"),
    "psnr_db": ("Quantized weights", "{:.1f} dB"),
}
ORDER = list(FIGURES) + [k for k in TARGETS if k not in FIGURES]  # a new target shows up unnamed, not lost
OPTIONAL = {k for k in FIGURES if k not in TARGETS}  # older scorecards may lack a figure without a target
_MISSING = object()


def evaluate_command(model_dir: Path) -> str:
    default = model_dir.parent.resolve() == (REPO_ROOT / "models").resolve()
    return (f"python -m builder evaluate --name {model_dir.name}"
            + ("" if default else f" --models-dir {model_dir.parent}"))


def read_quality(model_dir: Path) -> dict | None:
    """The model's quality.json, checked: every figure with a target a number (PSNR may be null,
    measured only against a built site). None when the model has not been evaluated."""
    path = model_dir / QUALITY_JSON
    if not path.is_file():
        return None
    fix = f"run `{evaluate_command(model_dir)}`"
    try:
        quality = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BuildError(f"{path}: not valid JSON ({e}); {fix}") from None
    if not isinstance(quality, dict):
        raise BuildError(f"{path}: not a JSON object; {fix}")
    for key in ORDER:
        value = quality.get(key, _MISSING)
        if (value is _MISSING and key in OPTIONAL) or (value is None and key == "psnr_db"):
            continue
        if value is _MISSING:
            raise BuildError(f"{path}: field '{key}' missing; {fix}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise BuildError(f"{path}: field '{key}' is not a number ({json.dumps(value)[:40]}); {fix}")
    sheet = model_dir / QUALITY_SHEET
    if not sheet.is_file():
        raise BuildError(f"{sheet}: missing beside {QUALITY_JSON}; {fix}")
    return quality


def _median_name(key: str) -> str | None:
    """The name of the figure a worst case belongs to: correlation_min -> "Follows the scene"."""
    stem, _, end = key.rpartition("_")
    return FIGURES[f"{stem}_median"][0] if end in ("min", "max") and f"{stem}_median" in FIGURES else None


def scorecard(quality: dict, shipped_psnr_db: float | None) -> dict:
    """What the card shows: {"rows": [...], "met": targets met, "targets": targets checked}."""
    rows = scorecard_rows(quality, shipped_psnr_db)
    return {"rows": rows, "met": sum(r["passed"] is True for r in rows),
            "targets": sum(r["passed"] is not None for r in rows)}


def scorecard_rows(quality: dict, shipped_psnr_db: float | None) -> list[dict]:
    """One row per figure: name (and the figure a worst case is "of"), value and target as text,
    passed True/False/None (no target, or not measured). The PSNR is this build's measurement of
    the weights it ships where it has one (evaluate copies it from a built site, and may have run
    before any build)."""
    values = dict(quality)
    if shipped_psnr_db is not None:
        values["psnr_db"] = shipped_psnr_db
    rows = []
    for key in ORDER:
        if key not in values:
            continue
        name, fmt = FIGURES.get(key, (key.replace("_", " ").capitalize(), "{:.2f}"))
        value = values[key]
        comparison, target = TARGETS.get(key, (None, None))
        rows.append({
            "key": key, "name": name, "of": _median_name(key),
            "value": "not measured" if value is None else fmt.format(value),
            "target": "" if comparison is None else ("≤ " if comparison == "<=" else "≥ ") + fmt.format(target),
            "passed": None if comparison is None else meets(value, comparison, target),
        })
    return rows
