"""python -m builder evaluate: the scorecard of an exported model, or of every checkpoint of a run.

  evaluate --name NAME     models/NAME/quality.json + quality.png
  evaluate --run runs/NAME runs/NAME/quality.json (every checkpoint, ranked) + quality.png (the best)
  ... --photos DIR         the same on a folder of one's own photographs: quality-DIR.json + .png
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from builder.atomic import write_text
from builder.errors import ConfigError

SHEET_COLUMNS = 10


def references_for(theme_or_folder: str, params, cache_dir: Path, count: int | None = None):
    """Two disjoint sets of `count` of the theme's held-out pictures, and other themes' (the ceiling):
    (own, spare, {theme: references})."""
    from builder.training import themes
    from builder.training.data import REFERENCE_SEED_OFFSET
    from builder.training.evaluate import inputs as ev
    from builder.training.evaluate.scorecard import REFERENCES

    count, seeds = count or REFERENCES, REFERENCE_SEED_OFFSET
    others = {t: ev.theme_references(t, params, count, seeds, cache_dir) for t in themes.THEMES if t != theme_or_folder}
    if theme_or_folder in themes.THEMES:
        own = ev.theme_references(theme_or_folder, params, count, seeds, cache_dir)
        spare = ev.theme_references(theme_or_folder, params, count, seeds + count, cache_dir)
        return own, spare, others
    from builder.training.data import load_folder

    held_out = load_folder(Path(theme_or_folder), size=params.size, cache_dir=cache_dir, val_pairs=2 * count,
                           min_images=2).val
    if len(held_out) < 2:
        raise ConfigError(f"{theme_or_folder}: too few held-out images to score against; add images")
    half = len(held_out) // 2
    return ev.targets(held_out[:half], params), ev.targets(held_out[half:2 * half], params), others


def _generate(run, size: int, batch: int = 8):
    """The Judge's generate(x, moved=None) from run(x, noise_shift=None) (and its noise_side):
    stills in batches; a pan frame by frame, the noise pattern moved with the scene (`moved`: px
    per frame, motion.py)."""
    from builder.training import motion

    def generate(x: np.ndarray, moved: np.ndarray | None = None) -> np.ndarray:
        if moved is None or run.noise_side is None:
            return np.concatenate([run(x[i:i + batch]) for i in range(0, len(x), batch)])
        return np.concatenate([run(x[i:i + 1], motion.noise_shift(m, size, run.noise_side))
                               for i, m in enumerate(moved)])
    return generate


def _keras_run(generator):
    """run(x, noise_shift=None) of a Keras generator, like load_saved_model's: its stored pattern
    moved as the exported graph moves it (noise.moved_pattern), put back after each call."""
    from builder.training.noise import moved_pattern

    patterns = [v for v in generator.non_trainable_variables if v.name == "pattern"]
    stored = [p.numpy() for p in patterns]

    def run(x: np.ndarray, noise_shift=None) -> np.ndarray:
        try:
            for p, values in zip(patterns, stored):
                p.assign(values if noise_shift is None else moved_pattern(values, noise_shift))
            return generator(x, training=False).numpy()
        finally:
            for p, values in zip(patterns, stored):
                p.assign(values)

    run.noise_side = int(patterns[0].shape[0]) if patterns else None
    return run


def build_psnr(site_dir: Path, name: str) -> float | None:
    """The built model's PSNR against float32, from the build's report when there is one."""
    report = site_dir / "quantization.json"
    if not report.is_file():
        return None
    return json.loads(report.read_text()).get(name, {}).get("psnr_db")


def write_sheet(judge, card: dict, path: Path) -> None:
    from builder.training import plots

    every = max(1, len(judge.inputs) // SHEET_COLUMNS)
    picked = slice(0, every * SHEET_COLUMNS, every)
    plots.contact_sheet({"input": list(judge.inputs[picked]), "output": list(card["outputs"][picked]),
                         "theme": list(judge.references[:SHEET_COLUMNS])}, path)


def table(rows: list[tuple[str, dict]]) -> str:
    from builder.training.evaluate.scorecard import TARGETS

    head = f"{'':>10}" + "".join(f"{k:>21}" for k in TARGETS)
    lines = [head, f"{'target':>10}" + "".join(f"{c + ' ' + str(t):>21}" for c, t in TARGETS.values())]
    for label, card in rows:
        cells = []
        for k in TARGETS:
            value, ok = card[k], card["passes"][k]
            mark = "" if ok is None else (" ok" if ok else " NO")
            cells.append(f"{'-' if value is None else value:>18}{mark:>3}")
        lines.append(f"{label:>10}" + "".join(cells))
    return "\n".join(lines)


def public(card: dict) -> dict:
    return {k: v for k, v in card.items() if k != "outputs"}


def write_scorecard(folder: Path, result: dict, judge, card: dict, photos_dir: Path | None) -> None:
    """quality.json/.png for the built-in photographs; quality-<folder>.json/.png for one's own, so
    neither overwrites the other. `result` gains the photographs' source."""
    stem = "quality" if photos_dir is None else f"quality-{Path(photos_dir).resolve().name}"
    result["photos"] = str(photos_dir or "built-in")
    write_text(folder / f"{stem}.json", json.dumps(result, indent=2) + "\n")
    write_sheet(judge, card, folder / f"{stem}.png")


def evaluate_model(model_dir: Path, *, site_dir: Path, cache_dir: Path, photos_dir: Path | None = None) -> dict:
    from builder.site.build import read_meta
    from builder.site.convert import load_saved_model
    from builder.training.evaluate.scorecard import Judge
    from builder.training.transform import TransformParams

    meta = read_meta(model_dir)
    params = TransformParams.from_meta(meta)
    with tqdm(total=3, desc=f"evaluate {model_dir.name}", unit="stage", leave=False) as bar:
        own, spare, others = references_for(meta["dataset"], params, cache_dir)
        bar.update()
        judge = Judge.prepare(params, own, spare, others, photos_dir)
        bar.update()
        run = load_saved_model(model_dir / "saved_model")
        card = judge.score(_generate(run, params.size), build_psnr(site_dir, model_dir.name))
        bar.update()
    result = {"model": model_dir.name, "theme": meta["theme"], "steps": meta.get("steps"), **public(card),
              "anchors": judge.anchors()}
    write_scorecard(model_dir, result, judge, card, photos_dir)
    print(table([(model_dir.name, card)]))
    return result


def evaluate_run(run_dir: Path, *, cache_dir: Path, photos_dir: Path | None = None,
                 sharpen: float | None = None, grade: str | None = None) -> dict:
    from builder.training.evaluate.scorecard import Judge, rank_key
    from builder.training.grade import graded
    from builder.training.runs import Run, load_generator

    run = Run(Path(run_dir))
    config = run.config()
    params, dataset_name = run.transform(config)
    steps = run.checkpoint_steps()
    if not steps:
        raise ConfigError(f"{run.ckpt_dir}: no checkpoint to score; train first")
    own, spare, others = references_for(config.dataset, params, cache_dir)
    judge = Judge.prepare(params, own, spare, others, photos_dir)
    cards = {}
    for step in tqdm(steps, desc=f"evaluate {run.dir.name}", unit="ckpt"):
        config, generator, _ = load_generator(run, step, sharpen=sharpen, grade=grade)
        generator, _ = graded(generator, config, params)  # as it would be exported
        cards[step] = judge.score(_generate(_keras_run(generator), params.size))
    best = min(cards, key=lambda s: rank_key(cards[s]))
    result = {"run": str(run.dir), "theme": dataset_name, "best_step": best,
              "rule": "most targets met, then the lowest mean of likeness and likeness_fine",
              "checkpoints": {str(s): public(c) for s, c in cards.items()}, "anchors": judge.anchors()}
    write_scorecard(run.dir, result, judge, cards[best], photos_dir)
    print(table([(str(s), c) for s, c in cards.items()]))
    chosen = ("" if sharpen is None else f" --sharpen {sharpen:g}") + ("" if grade is None else f" --grade {grade}")
    print(f"best: step {best}; export it with: python -m builder export --name {run.dir.name} "
          f"--runs-dir {run.dir.parent} --step {best}{chosen}")
    return result

