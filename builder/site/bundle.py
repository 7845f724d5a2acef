"""Bundle the browser runtime: js/main.js and the frame worker js/frame/worker.js (GLSL imported
as text), split into chunks so a visitor fetches only the chosen backend's code, and
templates/style.css through esbuild, plus the tf.js WebAssembly binaries; and, the same way, any
other page's script (bundle_script: the benchmark's baseline). Returns bytes; the callers write
them."""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from builder.errors import BuildError
from builder.site.converter_ops import CONVERTER_OPS, write_converter_ops

WASM_FILES = (
    "tfjs-backend-wasm.wasm",
    "tfjs-backend-wasm-simd.wasm",
    "tfjs-backend-wasm-threaded-simd.wasm",
)
WASM_DIR = Path("node_modules/@tensorflow/tfjs-backend-wasm/dist")
TARGET = "es2020"  # Safari 14+, Chrome/Edge 80+, Firefox 80+: what WebGL2 phones run
SCRIPT_FLAGS = ["--bundle", "--format=esm", "--platform=browser"]  # a page's module script with its imports
# The runtime's entry points: the page's module script and the frame worker (a module worker).
ENTRIES = {"main.js": "js/main.js", "worker.js": "js/frame/worker.js"}
# esbuild names every output by its content, so the files can be cached forever as they are
# (renaming them would break the chunks' imports of each other).
SPLIT_FLAGS = ["--splitting", "--entry-names=[name]-[hash]", "--chunk-names=chunk-[hash]", "--loader:.glsl=text"]


def _esbuild(root: Path, entry: str | list[str], out: str, extra: list[str]) -> None:
    """Runs root/node_modules/.bin/esbuild on `entry` (or several) with `out` (--outfile=... or
    --outdir=...); raises BuildError with its first error."""
    entries = [entry] if isinstance(entry, str) else entry
    esbuild = root / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        raise BuildError(f"{esbuild.relative_to(root)} is missing: run `npm ci` (or `make build`) in {root}")
    command = [
        str(esbuild), *entries, "--minify", f"--target={TARGET}", "--charset=utf8",
        "--legal-comments=none", "--log-level=error", out, *extra,
    ]
    try:
        result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=300)
    except OSError as error:
        raise BuildError(f"{esbuild.relative_to(root)} could not run ({error}): run `npm ci` to reinstall it") from error
    except subprocess.TimeoutExpired as error:
        raise BuildError(f"esbuild on {', '.join(entries)} took over 300 s: check for an import cycle or a huge file") from error
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        detail = next((line for line in lines if "[ERROR]" in line), lines[0] if lines else "no output")
        detail = detail.split("[ERROR]", 1)[-1].strip()
        where = next((line for line in lines if line.startswith(("js/", "glsl/", "templates/", "node_modules/"))), entries[0])
        raise BuildError(f"esbuild failed at {where.rstrip(':')}: {detail} (fix it there; if a package is missing, run `npm ci`)")


def bundle_script(root: Path, entry: str) -> bytes:
    """root/entry (a .js module) and everything it imports, bundled as js/main.js is, as bytes.

    For pages beside the site, such as the benchmark's baseline; bare imports resolve in
    root/node_modules.
    """
    root = Path(root).resolve()
    if not (root / entry).is_file():
        raise BuildError(f"{entry} is missing under {root}: nothing to bundle")
    with tempfile.TemporaryDirectory(prefix="bundle-") as tmp:
        out = Path(tmp) / Path(entry).name
        _esbuild(root, entry, f"--outfile={out}", SCRIPT_FLAGS)
        return out.read_bytes()


@dataclass(frozen=True)
class Bundle:
    scripts: dict[str, bytes]  # esbuild's content-named files (entries and shared chunks) -> bytes
    entries: dict[str, str]    # "main.js", "worker.js" -> their file names in `scripts`
    assets: dict[str, bytes]   # "style.css" and the .wasm files, for the build to name by content
    static_imports: dict[str, list[str]]  # entry -> the chunks it imports statically, transitively


def static_closure(outputs: dict, start: str) -> list[str]:
    """The file names that output `start` (a metafile outputs key) imports by import statements,
    directly or through each other, in the metafile's order: what the page needs before its
    entry script can run, so the page can ask for them beside it (modulepreload) instead of
    after it. Dynamic imports (each backend's chunk) are left out."""
    seen: list[str] = []
    pending = [start]
    while pending:
        for imported in outputs[pending.pop()].get("imports", []):
            path = imported["path"]
            if imported.get("kind") == "import-statement" and path in outputs and path not in seen:
                seen.append(path)
                pending.append(path)
    return [Path(path).name for path in seen]


def _split_scripts(root: Path, tmp: Path, graph_ops: set[str] | None) -> tuple[dict[str, bytes], dict[str, str], dict[str, list[str]]]:
    """The runtime's entries and their chunks, through one esbuild run with code splitting, and
    each entry's static imports. With `graph_ops`, the graph-model converter gets only the tf.js
    ops those graph ops need (converter_ops.py)."""
    out_dir, metafile = tmp / "js", tmp / "meta.json"
    flags = [*SCRIPT_FLAGS, *SPLIT_FLAGS, f"--metafile={metafile}"]
    if graph_ops is not None:
        flags.append(f"--alias:{CONVERTER_OPS}={write_converter_ops(graph_ops, root)}")
    _esbuild(root, list(ENTRIES.values()), f"--outdir={out_dir}", flags)
    outputs = json.loads(metafile.read_text())["outputs"]
    by_entry = {info["entryPoint"]: path for path, info in outputs.items() if info.get("entryPoint")}
    entries = {name: Path(by_entry[source]).name for name, source in ENTRIES.items()}
    static_imports = {name: static_closure(outputs, by_entry[source]) for name, source in ENTRIES.items()}
    scripts = {path.name: path.read_bytes() for path in sorted(out_dir.glob("*.js"))}
    return scripts, entries, static_imports


def bundle(root: Path, graph_ops: set[str] | None = None) -> Bundle:
    """The runtime's scripts (split), templates/style.css and the three tfjs-backend-wasm*.wasm.
    graph_ops: every op of every graph the site will run (converter_ops.graph_ops), so that only
    their tf.js ops are bundled; None bundles them all."""
    root = Path(root).resolve()
    for needed in (*ENTRIES.values(), "templates/style.css"):
        if not (root / needed).is_file():
            raise BuildError(f"{needed} is missing under {root}: the browser runtime cannot be bundled without it")
    assets: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="bundle-") as tmp:
        scripts, entries, static_imports = _split_scripts(root, Path(tmp), graph_ops)
        css_out = Path(tmp) / "style.css"
        _esbuild(root, "templates/style.css", f"--outfile={css_out}", ["--loader:.css=css"])
        assets["style.css"] = css_out.read_bytes()
    for name in WASM_FILES:
        path = root / WASM_DIR / name
        if not path.is_file():
            raise BuildError(f"{WASM_DIR / name} is missing: run `npm ci` to install @tensorflow/tfjs-backend-wasm")
        assets[name] = path.read_bytes()
    return Bundle(scripts, entries, assets, static_imports)
