"""Only the tf.js ops the site's models use, for the graph-model converter's op executors.

tfjs-converter runs a graph through `@tensorflow/tfjs-core/dist/ops/ops_for_converter`, which
re-exports every op tf.js has (about 115 KB of a frame worker's 550 KB of JavaScript, all parsed
and run before the first frame). tf.js ships the map from a graph's op names to the tf.js ops
that run them (tfjs-converter's metadata/kernel2op.json; its own custom-bundle tool uses it), so
the build, which knows every op of every model it ships, writes a module exporting just those
and bundles it in place of the whole set. A graph op the map does not name is left to the
converter, which refuses it when the model loads, as it would anyway.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from builder.atomic import write_text
from builder.errors import BuildError

KERNEL2OP = Path("node_modules/@tensorflow/tfjs-converter/metadata/kernel2op.json")
OPS_DIR = Path("node_modules/@tensorflow/tfjs-core/dist/ops")
# The module the converter imports every op through, and which the bundle's alias replaces.
CONVERTER_OPS = "@tensorflow/tfjs-core/dist/ops/ops_for_converter"
# Where the written module goes (git-ignored). Its path is part of what esbuild hashes into the
# chunks' names, so it is fixed, and named by its content so that builds never share one.
WRITTEN_DIR = Path(".cache/converter-ops")

_NAMED = re.compile(r"^(?:export|import) \{ (\w+) \} from '(\.[\w/]+)';$", re.M)


def graph_ops(model_json: dict) -> set[str]:
    """The op names of a converted model.json's graph (its nodes and its functions')."""
    topology = model_json.get("modelTopology", {})
    nodes = list(topology.get("node", []))
    for function in topology.get("library", {}).get("function", []):
        nodes += function.get("nodeDef", [])
    return {node["op"] for node in nodes if "op" in node}


def tfjs_ops(ops: set[str], root: Path) -> list[str]:
    """The tf.js ops (`conv2d`, `image.resizeBilinear`) that run graph ops `ops`, sorted."""
    path = root / KERNEL2OP
    try:
        kernel2op = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise BuildError(f"{KERNEL2OP} could not be read ({error}): run `npm ci` to reinstall @tensorflow/tfjs-converter") from error
    return sorted({name for op in ops for name in kernel2op.get(op, [])})


def _modules_named(source: Path) -> dict[str, Path]:
    """name -> the file `source` (an ops index) imports or re-exports it from, by its own
    `import { name } from './file'` or `export { name } from './file'` lines."""
    return {name: (source.parent / relative).with_suffix(".js") for name, relative in _NAMED.findall(source.read_text())}


def converter_ops_module(names: list[str], root: Path) -> str:
    """JavaScript for a module exporting tf.js ops `names` as ops_for_converter does: top-level
    ops from tfjs-core's ops index, namespaced ones (`image.`, `fused.`) as objects of just the
    members named, each imported from its own file where the index names one (else the whole
    namespace, which is still correct, only larger)."""
    ops_dir = (root / OPS_DIR).resolve()
    index = ops_dir / "ops.js"
    if not index.is_file():
        raise BuildError(f"{OPS_DIR / 'ops.js'} is missing: run `npm ci` to reinstall @tensorflow/tfjs-core")
    top = sorted(n for n in names if "." not in n)
    spaces: dict[str, list[str]] = {}
    for name in names:
        if "." in name:
            space, member = name.split(".", 1)
            spaces.setdefault(space, []).append(member)
    lines = ["// Written by the build (builder/site/converter_ops.py): the ops this site's models use."]
    if top:
        lines.append(f"export {{ {', '.join(top)} }} from {json.dumps(index.as_posix())};")
    for space, members in sorted(spaces.items()):
        # fused's members live in fused_ops.js (its conv2d is not the plain one); the others' in ops.js
        source = ops_dir / "fused_ops.js" if space == "fused" else index
        named = _modules_named(source)
        files = {member: named.get(member) for member in members}
        if all(files.values()):
            entries = []
            for i, (member, file) in enumerate(sorted(files.items())):
                lines.append(f"import {{ {member} as {space}{i} }} from {json.dumps(file.as_posix())};")
                entries.append(f"{member}: {space}{i}")
            lines.append(f"export const {space} = {{ {', '.join(entries)} }};")
        else:
            lines.append(f"export {{ {space} }} from {json.dumps(index.as_posix())};")
    return "\n".join(lines) + "\n"


def write_converter_ops(ops: set[str], root: Path) -> Path:
    """Writes the module for graph ops `ops` under root/WRITTEN_DIR (once per distinct module)
    and returns its absolute path, for esbuild's alias of CONVERTER_OPS."""
    source = converter_ops_module(tfjs_ops(ops, root), root)
    path = (root / WRITTEN_DIR / f"ops-{hashlib.sha256(source.encode()).hexdigest()[:16]}.js").resolve()
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, source)
    return path
