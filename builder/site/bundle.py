"""Bundle the browser runtime: js/main.js (GLSL imported as text) and templates/style.css
through esbuild, plus the tf.js WebAssembly binaries; and, the same way, any other page's script
(bundle_script: the benchmark's baseline). Returns bytes; the callers write them."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from builder.errors import BuildError

WASM_FILES = (
    "tfjs-backend-wasm.wasm",
    "tfjs-backend-wasm-simd.wasm",
    "tfjs-backend-wasm-threaded-simd.wasm",
)
WASM_DIR = Path("node_modules/@tensorflow/tfjs-backend-wasm/dist")
TARGET = "es2020"  # Safari 14+, Chrome/Edge 80+, Firefox 80+: what WebGL2 phones run
SCRIPT_FLAGS = ["--bundle", "--format=esm", "--platform=browser"]  # a page's module script with its imports


def _esbuild(root: Path, entry: str, outfile: Path, extra: list[str]) -> None:
    """Runs root/node_modules/.bin/esbuild on `entry`; raises BuildError with its first error."""
    esbuild = root / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        raise BuildError(f"{esbuild.relative_to(root)} is missing: run `npm ci` (or `make build`) in {root}")
    command = [
        str(esbuild), entry, "--minify", f"--target={TARGET}", "--charset=utf8",
        "--legal-comments=none", "--log-level=error", f"--outfile={outfile}", *extra,
    ]
    try:
        result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=300)
    except OSError as error:
        raise BuildError(f"{esbuild.relative_to(root)} could not run ({error}): run `npm ci` to reinstall it") from error
    except subprocess.TimeoutExpired as error:
        raise BuildError(f"esbuild on {entry} took over 300 s: check for an import cycle or a huge file") from error
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        detail = next((line for line in lines if "[ERROR]" in line), lines[0] if lines else "no output")
        detail = detail.split("[ERROR]", 1)[-1].strip()
        where = next((line for line in lines if line.startswith(("js/", "glsl/", "templates/", "node_modules/"))), entry)
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
        _esbuild(root, entry, out, SCRIPT_FLAGS)
        return out.read_bytes()


def bundle(root: Path) -> dict[str, bytes]:
    """Returns {'main.js', 'style.css', and the three tfjs-backend-wasm*.wasm} as bytes."""
    root = Path(root).resolve()
    for needed in ("js/main.js", "templates/style.css"):
        if not (root / needed).is_file():
            raise BuildError(f"{needed} is missing under {root}: the browser runtime cannot be bundled without it")
    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="bundle-") as tmp:
        js_out = Path(tmp) / "main.js"
        css_out = Path(tmp) / "style.css"
        _esbuild(root, "js/main.js", js_out, [*SCRIPT_FLAGS, "--loader:.glsl=text"])
        _esbuild(root, "templates/style.css", css_out, ["--loader:.css=css"])
        out["main.js"] = js_out.read_bytes()
        out["style.css"] = css_out.read_bytes()
    for name in WASM_FILES:
        path = root / WASM_DIR / name
        if not path.is_file():
            raise BuildError(f"{WASM_DIR / name} is missing: run `npm ci` to install @tensorflow/tfjs-backend-wasm")
        out[name] = path.read_bytes()
    return out
