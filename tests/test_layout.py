"""The layout of the code (STYLE.md): no import cycles in builder/ or js/, no source file over
300 lines. Static checks: the files are parsed (Python with `ast`, JS by its import statements),
never imported or run. The cycle finder is itself checked on planted cycles in tmp_path.
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 300
SOURCE_SUFFIXES = (".py", ".js", ".mjs", ".glsl")


# --- the import graphs --------------------------------------------------------------------------

def python_modules(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of root/package (a package is its __init__)."""
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = path.relative_to(root).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def python_import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the modules of the package it imports, anywhere in the file (inside functions too).

    `from a.b import c` depends on a.b.c when that is a module, else on a.b (a name defined there).
    Importing a.b.c also runs a/__init__ and a/b/__init__, but that is no dependency of ours: a
    package's __init__ importing its own submodules makes a cycle only when a submodule needs a
    name the __init__ defines, and then `from a import NAME` names it (an edge to a).
    """
    modules = python_modules(root, package)

    def resolve(name: str) -> str | None:
        while name and name not in modules:  # `import a.b.c.func`-style names: the longest module prefix
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        here = module if is_package else module.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from ..x import y
                    anchor = here.split(".")[:len(here.split(".")) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            else:
                continue
            found.update(t for t in map(resolve, targets) if t and t != module)
        graph[module] = found
    return graph


JS_IMPORT = [
    re.compile(r"""\bfrom\s*['"](\.{1,2}/[^'"]+)['"]"""),  # import … from './x.js', export … from './x.js'
    re.compile(r"""\bimport\s*['"](\.{1,2}/[^'"]+)['"]"""),  # import './x.js' (side effects)
    re.compile(r"""\bimport\s*\(\s*['"](\.{1,2}/[^'"]+)['"]\s*\)"""),  # import('./x.js')
]
JS_COMMENT = re.compile(r"/\*.*?\*/|^\s*//[^\n]*", re.DOTALL | re.MULTILINE)


def js_import_graph(folder: Path) -> dict[str, set[str]]:
    """File (relative to folder's parent) -> the files it imports by relative path, statically or with
    import(). Bare specifiers (npm packages) are not ours and are left out."""
    base = folder.parent
    graph = {}
    for path in sorted(folder.rglob("*.js")):
        text = JS_COMMENT.sub("", path.read_text())
        specifiers = {m.group(1) for pattern in JS_IMPORT for m in pattern.finditer(text)}
        graph[path.relative_to(base).as_posix()] = {
            (path.parent / s).resolve().relative_to(base.resolve()).as_posix() for s in specifiers}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each group of mutually importing nodes (a strongly connected component of more than one),
    as one cycle through it: [a, b, …, a]. Tarjan's algorithm, iterative."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start), on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(component)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child), on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return [_cycle_through(graph, component) for component in components]


def _cycle_through(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """The shortest cycle from the component's first member back to itself (breadth first)."""
    start = min(component)
    previous = {start: None}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph.get(node, ())):
                if child == start and node != start:
                    path = [node]
                    while previous[path[-1]] is not None:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if child in component and child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"no cycle through {sorted(component)}")


def describe(found: list[list[str]]) -> str:
    return "; ".join(" -> ".join(c) for c in found)


# --- the tree -----------------------------------------------------------------------------------

def test_no_import_cycle_in_builder():
    graph = python_import_graph(ROOT, "builder")
    assert "builder.site.build" in graph and "builder.training.evaluate.scorecard" in graph  # the walk found them
    found = cycles(graph)
    assert not found, f"import cycles in builder/: {describe(found)}; move what both need to one module"


def test_no_import_cycle_in_js():
    graph = js_import_graph(ROOT / "js")
    assert "js/main.js" in graph and any(graph.values())  # the walk found the files and their imports
    found = cycles(graph)
    assert not found, f"import cycles in js/: {describe(found)}; move what both need to one module"


def test_no_source_file_over_300_lines():
    too_long = []
    for folder in ("builder", "js", "glsl"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in SOURCE_SUFFIXES and path.is_file() and "__pycache__" not in path.parts:
                lines = len(path.read_text().splitlines())
                if lines > MAX_LINES:
                    too_long.append(f"{path.relative_to(ROOT)} ({lines} lines)")
    assert not too_long, f"over {MAX_LINES} lines, split by job (STYLE.md): {', '.join(too_long)}"


# --- the cycle finder, on planted cycles --------------------------------------------------------

def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_cycle_finder_catches_two_python_modules_importing_each_other(tmp_path):
    write(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "from pkg.b import f\n",
                     "pkg/b.py": "def f():\n    from pkg import a  # inside a function: still a cycle\n",
                     "pkg/c.py": "from . import a\n"})
    graph = python_import_graph(tmp_path, "pkg")
    assert graph["pkg.c"] == {"pkg.a"}  # relative import resolved
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.a"]]


def test_cycle_finder_on_package_inits(tmp_path):
    # Packages' __init__s importing their own submodules, which import a sibling package's module:
    # importing pkg.sub.helper runs pkg/sub/__init__ too, but needs nothing from it. No cycle.
    write(tmp_path, {"pkg/__init__.py": "from pkg import sub\n", "pkg/sub/__init__.py": "from .leaf import x\n",
                     "pkg/sub/leaf.py": "from .. import other\nx = 1\n", "pkg/sub/helper.py": "",
                     "pkg/other.py": "from pkg.sub import helper\n"})
    graph = python_import_graph(tmp_path, "pkg")
    assert graph["pkg.sub.leaf"] == {"pkg.other"} and graph["pkg.other"] == {"pkg.sub.helper"}
    assert cycles(graph) == []
    # A module needing a name that an __init__ defines, while that __init__ imports it: a real cycle.
    write(tmp_path, {"pkg/other.py": "from pkg.sub import x\n"})
    assert cycles(python_import_graph(tmp_path, "pkg")) == [["pkg.other", "pkg.sub", "pkg.sub.leaf", "pkg.other"]]


def test_cycle_finder_catches_js_cycles(tmp_path):
    write(tmp_path, {
        "js/main.js": "import { a } from './a.js';\n// import { z } from './z.js';\n",
        "js/a.js": "import {\n  b,\n} from './frame/b.js';\nexport const a = 1;\n",
        "js/frame/b.js": "export { c } from './c.js';\nexport const b = 2;\n",
        "js/frame/c.js": "import '../lib.js';\nexport async function c() { return import('../a.js'); }\n",
        "js/lib.js": "import * as tf from '@tensorflow/tfjs';\n",
    })
    graph = js_import_graph(tmp_path / "js")
    assert graph["js/main.js"] == {"js/a.js"}  # the commented-out import is no edge
    assert graph["js/lib.js"] == set()  # npm packages are not ours
    assert cycles(graph) == [["js/a.js", "js/frame/b.js", "js/frame/c.js", "js/a.js"]]


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ({"a": {"a"}}, []),  # a module naming itself is no cycle between modules
    ({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}}, [["a", "b", "a"], ["c", "d", "c"]]),
])
def test_cycles_of_small_graphs(graph, expected):
    assert sorted(cycles(graph)) == expected
