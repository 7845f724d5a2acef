"""The checks of a configuration's values that a type cannot express: pure functions of the
values. `bad(field, why)` raises the one-line error (config.validate makes it name the source)."""

from __future__ import annotations

AUGMENTATIONS = ("translation", "cutout", "color")


def augment_list(augment: str) -> list[str]:
    """'translation,cutout' -> ['translation', 'cutout']; 'none' or '' -> []."""
    return [a.strip() for a in augment.split(",") if a.strip() and a.strip() != "none"]


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a run's or a model's folder under runs/ or models/; None when it can.

    An empty name (an unset shell variable) would make runs/ itself the run, and the export would
    swap the whole models/ folder out for one model."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        return f"must be one folder name (no '/', not '.' or '..', not empty), got {name!r}"
    return None


def check_training(c, bad) -> None:
    """A TrainConfig's values, field by field."""
    if name_problem(c.name):
        bad("name", name_problem(c.name))
    if not c.lr > 0:
        bad("lr", f"must be positive, got {c.lr}")
    if c.size < 16:
        bad("size", f"must be at least 16, got {c.size}")
    if c.depth < 1:
        bad("depth", f"must be at least 1 (a U-Net needs one down-sampling level), got {c.depth}")
    if c.size % (2 ** c.depth):
        bad("depth", f"must divide the size: {c.size} is not a multiple of 2**{c.depth}")
    if c.min_images < 2:
        bad("min_images", f"must be at least 2 (one image is held out for validation), got {c.min_images}")
    if c.size // c.downscale < 1:
        bad("downscale", f"leaves no pixels: size {c.size} / downscale {c.downscale} < 1")
    if not 1.0 <= c.scale_min <= c.scale_max:
        bad("scale_min", "must satisfy 1.0 <= scale_min <= scale_max")
    unknown = [a for a in augment_list(c.augment) if a not in AUGMENTATIONS]
    if unknown:
        bad("augment", f"has {unknown[0]!r}; use none or a comma-separated list of {', '.join(AUGMENTATIONS)}")
    for name in ("ema_decay", "brightness", "contrast"):
        if not 0 <= getattr(c, name) < 1:
            bad(name, f"must be in [0, 1), got {getattr(c, name)}")
    if not 0 <= c.lr_decay <= 1:
        bad("lr_decay", f"must be in [0, 1], got {c.lr_decay}")
    if c.shift_consistency > 0 and c.batch_size % 2:
        bad("shift_consistency", f"needs an even batch_size (pairs of pan frames), got {c.batch_size}")
    if not 0 <= c.refine <= 4:
        bad("refine", f"must be 0 (none) to 4 layers, got {c.refine}")
    if not 1 <= c.noise_stretch <= 8:
        bad("noise_stretch", f"must be 1 (round grains) to 8, got {c.noise_stretch}")
    if not 0 <= c.input_blur <= c.size / 8:
        bad("input_blur", f"must be 0 (off) or a sigma up to size / 8 = {c.size / 8:g} px, got {c.input_blur}")
    if not 0 <= c.sharpen <= 4:
        bad("sharpen", f"must be 0 (off) or an amount up to 4, got {c.sharpen}")
    if c.l1_pool < 1 or c.size % c.l1_pool:
        bad("l1_pool", f"must be a positive factor of size {c.size}, got {c.l1_pool}")
    if c.unpaired_weight > 0 and c.loss == "wgan-gp":  # its discriminator has no gradient penalty
        bad("unpaired_weight", "needs loss gan or hinge")
    if c.texture_weight > 0 and c.size < 32:  # the pyramid has no band-pass level below 32 px
        bad("texture_weight", f"needs size 32 or more, got {c.size}")
    if c.disc_warmup >= c.steps:
        bad("disc_warmup", f"must be fewer than steps ({c.steps}), got {c.disc_warmup}")
    if c.stroke_weight > 0 and c.size < 32:  # the high-pass blur reaches 12 px each way
        bad("stroke_weight", f"needs size 32 or more, got {c.size}")
    # What only the unpaired loss uses: its paintings' scores and what they are painted from.
    unpaired_parts = {"unpaired_follow": c.unpaired_follow > 0, "unpaired_colour": c.unpaired_colour > 0,
                      "unpaired_inputs": c.unpaired_inputs != "themes"}
    for name, used in unpaired_parts.items():
        if used and not c.unpaired_weight > 0:
            bad(name, "needs unpaired_weight above 0 (only the unpaired loss uses it)")
    for name in ("r1_gamma", "theme_refresh", "feature_matching", "shift_consistency", "unpaired_weight", "unpaired_follow",
                 "unpaired_colour", "texture_weight", "stroke_weight",
                 "patience", "disc_warmup"):
        if getattr(c, name) < 0:
            bad(name, f"must be 0 (off) or positive, got {getattr(c, name)}")
    if not 1 <= c.disc_scales <= 4 or c.size % 2 ** (c.disc_scales - 1) or c.size >> (c.disc_scales - 1) < 16:
        bad("disc_scales", f"must be 1 to 4, size {c.size} / 2**(scales - 1) whole and >= 16 px; got {c.disc_scales}")
    for name in ("batch_size", "steps", "checkpoint_every", "sample_every", "log_every", "val_every",
                 "val_pairs", "base_filters", "max_filters", "theme_images", "min_images"):
        if getattr(c, name) < 1:
            bad(name, f"must be a positive integer, got {getattr(c, name)}")


def check_site(c, bad) -> None:
    """A SiteConfig's values."""
    if c.shard_bytes < 1024:
        bad("shard_bytes", f"must be at least 1024, got {c.shard_bytes}")
    if c.installation_cycle_minutes < 0:
        bad("installation_cycle_minutes", f"must be 0 (never) or positive, got {c.installation_cycle_minutes}")
