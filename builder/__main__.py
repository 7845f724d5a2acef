"""python -m builder {train,export,evaluate,build,serve,bench}

Heavy modules (TensorFlow, the converter) are imported inside each command so that
`python -m builder --help` answers at once.
"""

from __future__ import annotations

import argparse
import errno
import sys
from pathlib import Path

from builder import config as cfg
from builder.errors import BuilderError


def _train(args) -> None:
    from builder.training.runs import resolve_config
    from builder.training.train import train

    config = resolve_config(cfg.overrides_from(args, cfg.TrainConfig), args.config, args.resume)
    train(config, resume=args.resume, export=not args.no_export)


def _export(args) -> None:
    from builder.training.export import export_run, regrade_model

    if args.model:
        model_dir = Path(args.model)
        if args.name is not None or args.step is not None or args.sharpen is not None or args.grade is None:
            raise BuilderError("export: --model goes with --grade alone (a run's other choices need its run: --name)")
        if not (model_dir / "meta.json").is_file() or not (model_dir / "config.toml").is_file():
            raise BuilderError(f"{model_dir}: not an exported model (meta.json or config.toml missing); "
                               f"pass models/<name>")
        regrade_model(model_dir, args.grade)
        print(f"graded {model_dir} ({args.grade}); score it again: python -m builder build, then evaluate --name")
        return
    if args.name is None:
        raise BuilderError("export: pass --name NAME (a run) or --model models/NAME --grade GRADE")
    if cfg.name_problem(args.name):  # before a path is made of it: "" would export over models/ itself
        raise BuilderError(f"export: --name {cfg.name_problem(args.name)}")
    models_dir = Path(args.models_dir) if args.models_dir else None
    exported = export_run(Path(args.runs_dir) / args.name, step=args.step, models_dir=models_dir, sharpen=args.sharpen,
                          grade=args.grade)
    print(f"exported {exported}")


def _evaluate(args) -> None:
    from builder.training.evaluate import evaluate_model, evaluate_run

    photos = Path(args.photos) if args.photos else None
    if args.run:
        evaluate_run(Path(args.run), cache_dir=Path(args.cache_dir), photos_dir=photos, sharpen=args.sharpen,
                     grade=args.grade)
    elif args.sharpen is not None or args.grade is not None:
        raise BuilderError("evaluate: --sharpen and --grade go with --run; an exported model is scored with its own "
                           "(export it again with them)")
    elif args.name:
        model_dir = Path(args.models_dir) / args.name
        if not (model_dir / "meta.json").is_file():
            raise BuilderError(f"{model_dir}: no exported model (meta.json missing); train or export it first")
        evaluate_model(model_dir, site_dir=Path(args.site_dir), cache_dir=Path(args.cache_dir), photos_dir=photos)
    else:
        raise BuilderError("evaluate: pass --name NAME (an exported model) or --run runs/NAME (every checkpoint)")


def _build(args) -> None:
    from builder.atomic import interrupted_while
    from builder.site.build import build_site

    config = cfg.load(cfg.SiteConfig, args.config, cfg.overrides_from(args, cfg.SiteConfig))
    with interrupted_while(f"building {config.out_dir} (it is as it was)"):  # the site is swapped in whole
        report = build_site(config, Path(config.out_dir))
    print(report.summary())


def _serve(args) -> None:
    from builder.site import serve

    serve.command(args)


def _bench(args) -> None:
    from builder.measure import bench

    bench.command(args)


def _default_site_config() -> Path | None:
    return Path("site.toml") if Path("site.toml").is_file() else None


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments answer as every other error does: one line, with the fix (--help), exit 2."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message}; see {self.prog} --help\n")


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m builder", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from builder.training.themes import THEMES

    t = sub.add_parser("train", help="train a generator from target images only",
                       description="Train a pix2pix generator; inputs are made from each target on the fly.",
                       epilog=f"built-in themes for --dataset: {', '.join(THEMES)}")
    t.add_argument("--config", type=Path, help="TOML file of training options (command line wins)")
    t.add_argument("--resume", action="store_true", help="continue runs/<name> from its last checkpoint")
    t.add_argument("--no-export", action="store_true", help="do not export to models/<name> at the end")
    cfg.add_arguments(t, cfg.TrainConfig)
    t.set_defaults(func=_train)

    e = sub.add_parser("export", help="export a run's checkpoint to models/<name>")
    e.add_argument("--name", help="run name (runs/<name>)")
    e.add_argument("--model", help="an exported model, models/<name>, to give another --grade without its run")
    e.add_argument("--runs-dir", default=cfg.TrainConfig.runs_dir, help="where runs live")
    e.add_argument("--models-dir", default=None,
                   help="where to write the model (default: the run's own models_dir)")
    e.add_argument("--step", type=int, default=None,
                   help="export the checkpoint of this step (default: the latest; `evaluate --run` names the best)")
    e.add_argument("--sharpen", type=float, default=None,
                   help="the output's unsharp mask at this amount (0: off; default: the run's own)")
    e.add_argument("--grade", choices=cfg.GRADES, default=None,
                   help="the output's colour grade (grade.py; default: the run's own)")
    e.set_defaults(func=_export)

    v = sub.add_parser("evaluate", help="score a model (or every checkpoint of a run): does it paint its theme?",
                       description="Write the scorecard: quality.json and quality.png (README, Scorecard).")
    v.add_argument("--name", help="an exported model, models/<name>")
    v.add_argument("--run", help="a run folder, e.g. runs/<name>: score every checkpoint and name the best")
    v.add_argument("--models-dir", default=cfg.TrainConfig.models_dir, help="where exported models live")
    v.add_argument("--site-dir", default=cfg.SiteConfig.out_dir,
                   help="a built site whose quantization.json gives the PSNR (when present)")
    v.add_argument("--cache-dir", default=cfg.TrainConfig.cache_dir, help="rendered references are cached here")
    v.add_argument("--photos", help="a folder of your own photographs to score on instead of the built-in ones "
                   "(writes quality-<folder>.json/.png beside the usual scorecard)")
    v.add_argument("--sharpen", type=float, default=None,
                   help="with --run: score the checkpoints with the output's unsharp mask at this amount "
                   "(default: the run's own; an exported model keeps its own)")
    v.add_argument("--grade", choices=cfg.GRADES, default=None,
                   help="with --run: score the checkpoints with this colour grade (default: the run's own)")
    v.set_defaults(func=_evaluate)

    b = sub.add_parser("build", help="convert models and write the static site to site/")
    b.add_argument("--config", type=Path, default=_default_site_config(),
                   help="site TOML (default: site.toml when present)")
    cfg.add_arguments(b, cfg.SiteConfig)
    b.set_defaults(func=_build)

    s = sub.add_parser("serve", help="serve site/ on 127.0.0.1 with the netlify.toml headers")
    _add_lazy(s, "builder.site.serve")
    s.set_defaults(func=_serve)

    m = sub.add_parser("bench", help="measure frame rate and memory in headless Chromium; write JSON")
    _add_lazy(m, "builder.measure.bench")
    m.set_defaults(func=_bench)
    return p


def _add_lazy(p: argparse.ArgumentParser, module: str) -> None:
    import importlib

    importlib.import_module(module).add_arguments(p)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except BuilderError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        # A full disk anywhere but a checkpoint (train names those itself); outputs are written beside
        # and renamed over (atomic.py), so what failed left nothing half-written to clean up.
        where = f"{Path(e.filename).parent}: " if e.filename else ""
        print(f"error: {where}no space left on the disk; free some space and run it again", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:  # Ctrl-C; Interrupted names the job it stopped (training saves and exits itself)
        print(str(e) or "interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
