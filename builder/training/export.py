"""Export a trained generator to models/<name>/: a SavedModel made for the tensorflowjs
converter, `meta.json` with everything the builder and the browser need, and the pictures
people look at. Written into a temporary sibling and swapped in, so a failed export leaves
the previous model in place."""

from __future__ import annotations

import datetime
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from builder import config as cfg
from builder.atomic import new_dir
from builder.errors import ConfigError

META_VERSION = 1


def save_for_converter(generator, path: Path) -> None:
    """A TF SavedModel with one `serving_default` signature: gray (b, S, S, 1) -> rgb (b, S, S, 3),
    and, for a generator with a noise texture, noise_shift (2,) int32.

    The weights are stored as float16 and cast to float32 in the graph: the committed models
    take half the space (1.8 MB instead of 3.6 MB), the converter folds the casts away, and
    the outputs move by < 1e-3, far below what the site's uint8 quantization costs anyway.

    Not the Keras 3 layers-model route (it converts, then fails to load in tf.js), and not
    `model.export(format="tf_saved_model")` either: Keras 3.15's export archive tracks every
    variable under two names and writes the weights twice.
    """
    from builder.tfenv import tensorflow
    from builder.training.noise import moved_pattern

    tf = tensorflow()
    size = generator.input.shape[1]

    def stored(variables) -> list:
        return [tf.Variable(tf.cast(v, tf.float16), trainable=False, name=v.name) for v in variables]

    # A plain tf.Module holding only the float16 copies: the generator itself is not tracked,
    # so its float32 variables are not saved; `stateless_call` runs it on the given values.
    module = tf.Module()
    module.trainable = stored(generator.trainable_variables)
    module.non_trainable = stored(generator.non_trainable_variables)

    # The noise texture's pattern (if the generator has one) is moved in the graph by its second
    # input, `noise_shift` (int32 [dy, dx], whole pattern pixels), so that invented detail moves
    # with the scene (builder/training/motion.py says by how much).
    noise_at = [i for i, v in enumerate(generator.non_trainable_variables) if v.name == "pattern"]
    specs = [tf.TensorSpec([None, size, size, 1], tf.float32, name="gray")]
    specs += [tf.TensorSpec([2], tf.int32, name="noise_shift")] if noise_at else []

    @tf.function(input_signature=specs)
    def serve(gray, noise_shift=None):
        as_float32 = lambda variables: [tf.cast(v, tf.float32) for v in variables]  # noqa: E731
        non_trainable = as_float32(module.non_trainable)
        for i in noise_at:
            non_trainable[i] = moved_pattern(non_trainable[i], noise_shift)
        rgb, _ = generator.stateless_call(as_float32(module.trainable), non_trainable, gray, training=False)
        return {"rgb": rgb}

    module.serve = serve
    tf.saved_model.save(module, str(path), signatures={"serving_default": serve})


def load_exported_generator(model_dir: Path):
    """The generator of models/<name>/, rebuilt by this code from its config.toml and given the
    SavedModel's own weights (the float16 values, exactly): an exported model without its run's
    checkpoints can still take a new graph."""
    from builder.tfenv import tensorflow
    from builder.training.model import build_generator

    tf = tensorflow()
    config = cfg.load(cfg.TrainConfig, Path(model_dir) / "config.toml")
    generator = build_generator(**cfg.generator_options(config))
    saved = tf.saved_model.load(str(Path(model_dir) / "saved_model"))
    for mine, stored in ((generator.trainable_variables, saved.trainable),
                         (generator.non_trainable_variables, saved.non_trainable)):
        # The same variables, in the order save_for_converter stored them.
        shapes = [tuple(v.shape) for v in mine], [tuple(v.shape) for v in stored]
        if shapes[0] != shapes[1]:
            at = next((i for i, (a, b) in enumerate(zip(*shapes)) if a != b), min(map(len, shapes)))
            raise ConfigError(f"{model_dir}/saved_model: its weights are not those of the generator its "
                              f"config.toml builds ({len(shapes[1])} against {len(shapes[0])}, the first to differ "
                              f"#{at}); export it again from its run")
        for v, value in zip(mine, stored):
            v.assign(tf.cast(value, v.dtype))
    return config, generator


def resave_model(model_dir: Path, *, redraw_pattern: int | None = None) -> None:
    """Replace models/<name>/saved_model with this code's graph of the same weights; the rest of
    the folder (meta.json, pictures, scorecard) stays as it is. `redraw_pattern` (a seed): the noise
    texture's stored pattern drawn again, periodic, from the same distribution as the fresh noise
    of every training step (so the model is as at home with it), and evidence.png and preview.png
    drawn again with it; for models whose pattern predates periodic ones (a seam where it wraps)."""
    import keras

    from builder.training.grade import shifted
    from builder.training.noise import draw_pattern

    config, generator = load_exported_generator(model_dir)
    meta_path = Path(model_dir) / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    offset = meta.get("architecture", {}).get("colour_offset")
    if offset:  # the grade it was exported with, as it was fitted (not fitted again)
        generator = shifted(generator, offset)
    if redraw_pattern is not None:
        patterns = [v for v in generator.non_trainable_variables if v.name == "pattern"]
        if not patterns:
            raise ConfigError(f"{model_dir}: the model has no noise texture, so no pattern to draw again")
        for k, pattern in enumerate(patterns):
            h, w, _ = pattern.shape
            field = keras.random.normal((1, h, w, 1), seed=redraw_pattern + k)
            pattern.assign(draw_pattern(field, config.noise_stretch))
    with new_dir(Path(model_dir) / "saved_model") as tmp:
        save_for_converter(generator, tmp)
    if redraw_pattern is not None:
        from builder.training.transform import TransformParams

        _write_photo_pictures(generator, TransformParams.from_meta(meta), Path(model_dir))


def regrade_model(model_dir: Path, grade: str) -> Path:
    """models/<name>/ with another colour grade, fitted anew to its own weights, without its run:
    its SavedModel, meta.json, config.toml, evidence.png and preview.png are written again (the
    whole folder swapped in at once); its scorecard is left as it was, to score again."""
    import dataclasses

    from builder.training.grade import grade_fields, graded
    from builder.training.transform import TransformParams

    model_dir = Path(model_dir)
    config, generator = load_exported_generator(model_dir)
    config = cfg.validate(dataclasses.replace(config, grade=grade), "--grade")
    meta = json.loads((model_dir / "meta.json").read_text())
    params = TransformParams.from_meta(meta)
    generator, offset = graded(generator, config, params)
    with new_dir(model_dir) as tmp:
        shutil.copytree(model_dir, tmp, dirs_exist_ok=True, ignore=shutil.ignore_patterns("saved_model"))
        save_for_converter(generator, tmp / "saved_model")
        architecture = {k: v for k, v in meta["architecture"].items() if k != "colour_offset"}
        meta["architecture"] = {**architecture, **grade_fields(grade, offset)}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        (tmp / "config.toml").write_text(cfg.to_toml(config))
        _write_photo_pictures(generator, params, tmp)
    return model_dir


def _write_photo_pictures(generator, params, folder: Path) -> list[str]:
    """evidence.png (real photographs through the input transform, and the outputs) and
    preview.png (each written beside and renamed over); returns the photographs' names."""
    from builder.atomic import new_file
    from builder.training import plots
    from builder.training.photos import photo_inputs

    names, inputs = photo_inputs(params)
    outputs = generator(inputs, training=False).numpy()
    plots.side_by_side(list(zip(inputs, outputs)), folder / "evidence.png", labels=("input", "output"))
    preview = ((outputs[0] + 1) * 127.5).clip(0, 255).astype(np.uint8)
    with new_file(folder / "preview.png") as tmp:
        Image.fromarray(preview).save(tmp, format="PNG", optimize=True)
    return names


def _title(name: str) -> str:
    return name.replace("-", " ").replace("_", " ").title()


def export_model(generator, config: cfg.TrainConfig, params, run_dir: Path | None, *, steps: int,
                 dataset_name: str, out_root: Path | None = None) -> Path:
    """Write models/<name>/ atomically, `generator` with config.grade's colour shift; returns its path."""
    from builder.training.grade import grade_fields, graded
    from builder.training.model import conv_flops, count_params
    from builder.training.runs import Run

    if cfg.name_problem(config.name):  # "" would swap the whole models folder out for this one model
        raise ConfigError(f"export: field 'name' {cfg.name_problem(config.name)}")
    out_root = Path(out_root or config.models_dir)
    out_root.mkdir(parents=True, exist_ok=True)
    dest = out_root / config.name
    generator, offset = graded(generator, config, params)  # before the temporary folder: a failed fit leaves nothing
    steps_before = Run(run_dir).steps_before() if run_dir is not None else 0
    with new_dir(dest) as tmp:
        save_for_converter(generator, tmp / "saved_model")
        names = _write_photo_pictures(generator, params, tmp)

        pictures = {}
        if run_dir is not None:
            for name in ("loss.png", "log.jsonl"):
                if (run_dir / name).exists():
                    shutil.copyfile(run_dir / name, tmp / name)
                    pictures[name] = name
            if (run_dir / "samples.png").exists():  # photographic content: a JPEG is 5x smaller
                Image.open(run_dir / "samples.png").convert("RGB").save(tmp / "samples.jpg", quality=88)
                pictures["samples.png"] = "samples.jpg"
        (tmp / "config.toml").write_text(cfg.to_toml(config))

        meta = {
            "meta_version": META_VERSION,
            "name": config.name,
            "title": _title(config.name),
            "theme": dataset_name,
            "dataset": config.dataset,
            "input": {"size": config.size, "channels": 1, "range": [-1, 1]},
            "output": {"channels": 3, "range": [-1, 1]},
            "transform": params.to_meta(),
            "architecture": {**{k: v for k, v in cfg.generator_options(config).items() if k != "size"},
                             "upsampling": "bilinear resize + 3x3 conv", "norm": "instance",
                             **grade_fields(config.grade, offset)},
            "params": count_params(generator),
            "flops": conv_flops(generator),
            # A fine-tune's model has trained for its starting model's steps and then its own.
            "steps": steps_before + steps,
            **({"fine_tune_steps": steps} if steps_before else {}),
            "batch_size": config.batch_size,
            "loss": config.loss,
            "created": datetime.date.today().isoformat(),
            "preview": "preview.png",
            "evidence": "evidence.png",
            "evidence_photos": names,
            "loss_curve": pictures.get("loss.png"),
            "samples": pictures.get("samples.png"),
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return dest


def export_run(run_dir: Path, *, step: int | None = None, models_dir: Path | None = None,
               sharpen: float | None = None, grade: str | None = None) -> Path:
    """Export a run's checkpoint (the latest, or `step`): e.g. while a long run goes on; `sharpen`,
    `grade` (not None): the output's unsharp mask and colour grade instead of the run's."""
    from builder.training.runs import Run, load_generator

    run = Run(Path(run_dir))
    config, generator, step = load_generator(run, step, sharpen=sharpen, grade=grade)
    params, dataset_name = run.transform(config)
    return export_model(generator, config, params, run.dir, steps=step, dataset_name=dataset_name,
                        out_root=models_dir)
