"""Typed configuration: frozen dataclasses with documented defaults, loaded from TOML and
overridable on the command line. One field, one `doc`; `--help` is generated from them."""

from __future__ import annotations

import argparse
import dataclasses
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from builder import checks
from builder.checks import AUGMENTATIONS, augment_list, name_problem  # noqa: F401 (cfg.augment_list, ...)
from builder.errors import ConfigError


def opt(default, doc: str, *, choices: tuple | None = None):
    """A dataclass field with a default, a one-line doc and maybe its choices (validated, listed by --help)."""
    return field(default=default, metadata={"doc": doc, "choices": choices})


GRADES = ("none", "rooms")  # the output colour grades (grade.py)


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs. Saved beside the run and the exported model."""

    name: str = opt("nebula", "Model name: the run goes to runs/<name>, the model to models/<name>.")
    dataset: str = opt("nebula", "A built-in theme or a folder of target images.")
    size: int = opt(256, "Square input/output size of the generator, in pixels (a multiple of 2**depth).")
    base_filters: int = opt(16, "Generator filters at the first level; doubles per level up to max_filters.")
    max_filters: int = opt(96, "Generator filter cap per level (keeps the model small).")
    depth: int = opt(6, "Generator down-sampling levels (256 px at depth 6 has a 4x4 bottleneck).")
    padding: str = opt("reflect", "Generator convolution padding: reflect (no rims at the frame's edges) or zero.",
                       choices=("reflect", "zero"))
    downsample: str = opt("blur+conv", "Generator down-sampling: conv (strided) or blur+conv (anti-aliased: no texture "
                          "stamped on the encoder's grid).", choices=("conv", "blur+conv"))
    noise: str = opt("half", "Generator noise texture, added at half or quarter resolution (fresh each training step, "
                     "fixed in the exported model: invented detail does not sit on the network's grid), or none.",
                     choices=("half", "quarter", "none"))
    noise_stretch: int = opt(1, "Generator noise texture: its grains this many times wider than tall (1: round; "
                             "for a theme whose fine detail runs sideways, as cloud banks seen edge-on do).")
    refine: int = opt(0, "Generator: that many more 3x3 convolutions (norm, ReLU) at half resolution after the last "
                      "join, where the noise texture is shaped into fine detail (each about 7 percent more work a frame at 16 "
                      "filters); 0: none.")
    input_blur: float = opt(0.0, "Generator: a Gaussian blur of the soft input, sigma in px, as its first layer "
                            "(hides the transform's screen-fixed 24-px grid from the rest; 0: off).")
    sharpen: float = opt(0.0, "Generator: an unsharp mask of this amount on the output (3x3 binomial blur), in use "
                         "only: training sees the unsharpened picture; may change on --resume or at export (0: off).")
    grade: str = opt("none", "Output colour grade, in use only: rooms adds the theme's mean colour minus the "
                     "generator's mean colour on procedural rooms (grade.py), fitted at export and in evaluate "
                     "--run; may change on --resume or at export; none.", choices=GRADES)
    disc_ratio: float = opt(0.5, "Discriminator width as a multiple of the generator's base_filters.")
    disc_scales: int = opt(1, "PatchGANs, 1 to 4 (pix2pixHD): the k-th judges the pair average-pooled by 2**k.")
    feature_matching: float = opt(0.0, "Feature-matching weight (pix2pixHD: 10), beside l1_weight's L1 (0: off).")
    shift_consistency: float = opt(0.0, "L1 weight between outputs of two crops 7 px apart (a pan), overlap (0: off).")
    unpaired_weight: float = opt(0.0, "Unpaired theme loss: also paint other themes' inputs, judged by a PatchGAN (0: off).")
    unpaired_follow: float = opt(0.0, "Weight of 1 - r, r: those paintings' luminance against their inputs (0: off).")
    unpaired_colour: float = opt(0.0, "Weight of the coarse colour loss: those paintings' 16-px colour mean and "
                                 "deviation against the theme pictures' (0: off).")
    unpaired_inputs: str = opt("themes", "What those target-less inputs are made from: the other built-in themes' "
                               "pictures, procedural rooms (scenes.py: a wall, a table, lit objects), or both.",
                               choices=("themes", "scenes", "both"))
    texture_weight: float = opt(0.0, "Sliced Wasserstein texture loss: paintings' pyramid patches against the theme's (0: off).")
    stroke_weight: float = opt(0.0, "Stroke loss: the paintings' fine strokes lean, taken together, as the theme "
                               "pictures' do (strokes.py: the scorecard's stroke_bias, squared; 0: off).")
    downscale: int = opt(24, "Input transform: downscale factor before the bicubic upscale.")
    scale_min: float = opt(1.0, "Input transform: smallest random scale of the target, x crop size.")
    scale_max: float = opt(1.3, "Input transform: largest random scale of the target, x crop size.")
    brightness: float = opt(0.2, "Input transform: random brightness delta, +- on [0,1] values.")
    contrast: float = opt(0.15, "Input transform: random contrast factor 1 +- this.")
    input_levels: str = opt("none", "Input levels: theme moves every input (training's and the camera's) to the "
                            "median mean and deviation of the training images' inputs; mean to their median "
                            "mean alone, keeping the scene's contrast; or none.",
                            choices=("none", "theme", "mean"))
    flip_horizontal: str = opt("auto", "Random horizontal flips: yes, no, or auto (the dataset's default).",
                               choices=("yes", "no", "auto"))
    flip_vertical: str = opt("auto", "Random vertical flips: yes, no, or auto (the dataset's default).",
                             choices=("yes", "no", "auto"))
    loss: str = opt("gan", "Adversarial loss: gan (pix2pix's non-saturating loss), hinge, or wgan-gp.",
                    choices=("gan", "hinge", "wgan-gp"))
    l1_weight: float = opt(100.0, "Weight of the L1 loss against the adversarial loss (lambda).")
    l1_pool: int = opt(1, "The L1 loss compares outputs and targets average-pooled by this factor: 1 every pixel "
                       "(pix2pix); 8 the 32-px layout alone, leaving finer detail to the discriminator.")
    gp_weight: float = opt(10.0, "Gradient-penalty weight for wgan-gp.")
    r1_gamma: float = opt(0.0, "R1 penalty on D's gradient at real pairs, gamma/2 * |grad|^2 (0: off; gan and hinge only).")
    augment: str = opt("none", "Differentiable augmentation of every pair the discriminator sees, real and fake "
                       "(DiffAugment): comma-separated translation, cutout, color; or none.")
    ema_decay: float = opt(0.999, "Exponential moving average of the generator's weights, decay per step "
                           "(0: off); the average is what is sampled, evaluated and exported.")
    lr_decay: float = opt(0.3, "Fraction of the run at its end over which the learning rate falls linearly to 0 "
                          "(pix2pix: 0.5; 0: constant).")
    lr: float = opt(2e-4, "Adam learning rate, generator and discriminator.")
    beta1: float = opt(0.5, "Adam beta_1.")
    batch_size: int = opt(4, "Pairs per step (over all devices).")
    steps: int = opt(20000, "Total training steps (a resumed run continues up to this).")
    checkpoint_every: int = opt(500, "Save a checkpoint every N steps (and on Ctrl-C).")
    sample_every: int = opt(500, "Write a sample grid (input | output | target) every N steps.")
    log_every: int = opt(50, "Append losses to log.jsonl every N steps.")
    val_every: int = opt(500, "Measure held-out L1 every N steps.")
    patience: int = opt(0, "Stop when the held-out L1 has not improved for this many validations (0: never).")
    val_pairs: int = opt(16, "Held-out pairs for the validation L1 and the sample grid.")
    theme_images: int = opt(384, "Images rendered for a built-in theme (plus val_pairs held out).")
    theme_refresh: int = opt(8, "Built-in themes streamed: one of the theme_images is replaced by a fresh render "
                             "every N steps (0: a fixed set; a finite set is what a discriminator memorises).")
    min_images: int = opt(8, "Refuse a folder with fewer usable images than this.")
    seed: int = opt(0, "Random seed: data order, transforms, initial weights.")
    disc_warmup: int = opt(0, "Steps at a run's start in which only the discriminators learn, the generator held as "
                           "it is: for a fine-tune (--init-from), whose fresh discriminators would otherwise steer "
                           "it before they can tell its pictures from the theme's (0: none).")
    init_from: str = opt("", "Fine-tune: a new run's generator (and its average) starts as this exported model's, "
                         "models/NAME, whose generator must be built alike; the discriminators start fresh "
                         "(empty: from scratch; a resume takes its checkpoint's).")
    runs_dir: str = opt("runs", "Where runs (checkpoints, samples, logs) are written.")
    models_dir: str = opt("models", "Where trained models are exported.")
    cache_dir: str = opt(".cache/datasets", "Pre-resized images, keyed by content.")


@dataclass(frozen=True)
class SiteConfig:
    """What `python -m builder build` puts on the site."""

    title: str = opt("Learning to See", "Page title.")
    description: str = opt("Point your camera at anything and watch a small neural network re-imagine it, live in "
                           "your browser.", "One-line description (page meta and header).")
    models: tuple[str, ...] = opt((), "Models to include, by directory name; empty means every model in models_dir.")
    default_model: str = opt("", "Model shown first; empty: the best scorecard (else the first in `models`).")
    quantization: str = opt("auto", "auto (smallest dtype meeting min_psnr_db), or force one dtype.",
                            choices=("auto", "uint8", "uint8+float16", "uint16", "float16", "float32"))
    min_psnr_db: float = opt(40.0, "Smallest acceptable PSNR of the quantized model against float32, in dB.")
    shard_bytes: int = opt(4 * 1024 * 1024, "Largest weight shard, in bytes.")
    models_dir: str = opt("models", "Where trained models are read from.")
    out_dir: str = opt("site", "Where the site is written: replaced when a build succeeds, and only if absent, empty "
                       "or a site built here.")
    cache_dir: str = opt(".cache/convert", "Converted models, keyed by content hash and options.")
    installation_fit: str = opt("contain", "Installation mode (?mode=installation): contain (the square picture "
                                "whole, letterboxed) or cover (filling the screen, its edges cropped).",
                                choices=("contain", "cover"))
    installation_cycle_minutes: float = opt(0.0, "Installation mode: the next model every N minutes, with a "
                                            "crossfade (0: never); ?cycle=MINUTES overrides it.")


# The TrainConfig fields that shape the generator: build_generator's arguments, locked on resume.
GENERATOR_FIELDS = ("size", "base_filters", "max_filters", "depth", "padding", "downsample", "noise", "input_blur",
                    "sharpen", "noise_stretch", "refine")


def generator_options(config: TrainConfig) -> dict:
    """build_generator's keyword arguments for a run's config."""
    return {name: getattr(config, name) for name in GENERATOR_FIELDS}


def fields_of(cls) -> list[dataclasses.Field]:
    return list(dataclasses.fields(cls))


def _coerce(cls, name: str, value, source: str):
    """Convert a TOML or command-line value to the field's type; name the field on failure."""
    hint = typing.get_type_hints(cls)[name]
    try:
        if typing.get_origin(hint) is tuple:
            if isinstance(value, str):
                value = [v for v in value.split(",") if v]
            if not isinstance(value, (list, tuple)):
                raise TypeError
            return tuple(str(v) for v in value)
        if hint is bool:
            if isinstance(value, str):
                return value.lower() in ("1", "true", "yes", "on")
            return bool(value)
        if hint is int and isinstance(value, float) and not value.is_integer():
            raise TypeError
        if hint in (int, float) and isinstance(value, bool):
            raise TypeError
        return hint(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: field '{name}' must be {getattr(hint, '__name__', hint)}, got {value!r}") from None


def typed_values(cls, data: dict, source: str) -> dict:
    """The mapping's values converted to their fields' types; unknown keys are an error naming the key."""
    known = {f.name for f in fields_of(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown field '{unknown[0]}'; known fields: {', '.join(sorted(known))}")
    return {k: _coerce(cls, k, v, source) for k, v in data.items()}


def from_mapping(cls, data: dict, source: str):
    """Build `cls` from a mapping (a TOML table) over the defaults, validated."""
    return validate(cls(**typed_values(cls, data, source)), source)


def read_toml(path: Path, table: str | None = None) -> dict:
    """The keys a TOML file (or one table of it) sets, as written; one-line errors for a missing or bad file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found; pass an existing .toml file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML ({e}); fix the syntax") from None
    return data.get(table, {}) if table else data


def load(cls, path: Path | None, overrides: dict | None = None, table: str | None = None):
    """Defaults <- TOML file (optionally one table of it) <- overrides (already typed or strings)."""
    data = read_toml(path, table) if path is not None else {}
    data = {**data, **{k: v for k, v in (overrides or {}).items() if v is not None}}
    return from_mapping(cls, data, str(path) if path else "command line")


def validate(config, source: str):
    """Check values a type cannot express; the message names the field."""
    def bad(name, why):
        raise ConfigError(f"{source}: field '{name}' {why}")

    for f in fields_of(type(config)):
        value = getattr(config, f.name)
        allowed = f.metadata.get("choices")
        if allowed and value not in allowed:
            bad(f.name, f"must be one of {', '.join(allowed)}, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            bad(f.name, f"must be a finite number, got {value}")
    if isinstance(config, TrainConfig):
        checks.check_training(config, bad)
    if isinstance(config, SiteConfig):
        checks.check_site(config, bad)
    return config


def add_arguments(parser: argparse.ArgumentParser, cls) -> None:
    """One --option per field, typed, with the field's doc and default as help."""
    hints = typing.get_type_hints(cls)
    for f in fields_of(cls):
        hint = hints[f.name]
        kind = str if typing.get_origin(hint) is tuple or isinstance(hint, types.UnionType) else hint
        default = f.default
        shown = ",".join(default) if isinstance(default, tuple) else default
        allowed = f.metadata.get("choices")
        parser.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=kind, default=None, choices=allowed,
                            metavar="{" + ",".join(allowed) + "}" if allowed else kind.__name__.upper(),
                            help=f"{f.metadata['doc']} (default: {shown!r})")


def overrides_from(args: argparse.Namespace, cls) -> dict:
    return {f.name: getattr(args, f.name) for f in fields_of(cls) if getattr(args, f.name, None) is not None}


def to_dict(config) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def to_toml(config) -> str:
    """Write a flat config as TOML (strings, numbers, booleans and lists of strings only)."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "".join(f"{k} = {value(v)}\n" for k, v in to_dict(config).items())


def load_site_config(path: Path | None = None, **overrides) -> SiteConfig:
    """The site config from a TOML file (site.toml) with keyword overrides."""
    return load(SiteConfig, path, overrides)
