"""Only the code a visitor runs: the runtime is split (builder/site/bundle.py), and each path
fetches its own backend's chunk and not the others'. Requests are recorded from the first byte,
the frame workers' included."""

import re

import pytest

from builder import REPO_ROOT
from test_browser import PATHS, open_path

# A string only each tf.js backend's code holds (flag and file names survive minification).
MARKERS = {
    "webgl": b"WEBGL_PACK",               # tfjs-backend-webgl's flags
    "wasm": b"tfjs-backend-wasm-simd.wasm",  # tfjs-backend-wasm's binary names
}
# Where each path's code is expected: path -> (the backend it needs, the one it must not fetch).
EXPECTED = {"webgl": ("webgl", "wasm"), "workers": ("wasm", "webgl")}


def script_bodies(site) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (site / "assets").glob("*.js")}


# esbuild's static imports between chunks: `from"./chunk-X.js"` and `import"./chunk-X.js"`.
STATIC_IMPORT = re.compile(rb'(?:from|import)\s*"\./([\w.-]+\.js)"')


def static_closure(scripts: dict[str, bytes], entry: str) -> set[str]:
    """`entry` and every script it imports statically (what loads before any dynamic import)."""
    seen, todo = set(), [entry]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(m.decode() for m in STATIC_IMPORT.findall(scripts[name]))
    return seen


def test_the_page_loads_no_backend_before_it_chose_one(built_site):
    scripts = script_bodies(built_site)
    entry = next(name for name in scripts if name.startswith("main-"))
    first = static_closure(scripts, entry)
    for backend, marker in MARKERS.items():
        assert any(marker in body for body in scripts.values()), f"no script holds {backend}: the marker {marker!r} is stale"
        assert not [name for name in first if marker in scripts[name]], f"the page's entry script loads the {backend} backend"


def test_the_frame_workers_page_side_comes_with_the_page(built_site):
    """The first worker's start is the first frame's critical path: its page side (no tf.js) is
    imported with the page, not fetched on demand once the page's thread is free (110-180 ms
    later, traced). Its marker is one of its error messages; the worker's own script is apart."""
    scripts = script_bodies(built_site)
    entry = next(name for name in scripts if name.startswith("main-"))
    marker = b"a frame worker did not start within"
    holders = [name for name in scripts if marker in scripts[name]]
    assert holders, f"no script holds {marker!r}: the marker is stale"
    assert set(holders) <= static_closure(scripts, entry), f"{holders} load only on demand"


MODULEPRELOAD = re.compile(r'<link rel="modulepreload" href="assets/([\w.-]+\.js)">')


def test_the_page_asks_for_its_entry_scripts_imports_beside_it(built_site):
    """The entry's static imports are preloaded from the HTML (not found only once the entry is
    parsed), and nothing else: no backend's chunk before a backend is chosen."""
    scripts = script_bodies(built_site)
    entry = next(name for name in scripts if name.startswith("main-"))
    preloaded = MODULEPRELOAD.findall((built_site / "index.html").read_text())
    assert len(preloaded) == len(set(preloaded)), f"a chunk is preloaded twice: {preloaded}"
    assert set(preloaded) == static_closure(scripts, entry) - {entry}


@pytest.mark.parametrize("path", EXPECTED)
def test_a_path_fetches_only_its_own_backend(open_page, camera_context, built_site, path):
    fetched: list[str] = []

    def note(request):  # the page's and its frame workers' requests, not the service worker's
        if getattr(request, "service_worker", None) is None:  # (which keeps every file for offline use)
            fetched.append(request.url)

    camera_context.on("request", note)
    open_path(open_page, path)
    camera_context.remove_listener("request", note)  # from here the service worker fetches everything
    scripts = script_bodies(built_site)
    names = {url.rsplit("/", 1)[-1] for url in fetched if "/assets/" in url and url.endswith(".js")}
    assert names <= set(scripts), f"fetched scripts the site does not have: {names - set(scripts)}"
    needed, unwanted = EXPECTED[path]
    fetched_code = b"".join(scripts[name] for name in names)
    assert MARKERS[needed] in fetched_code, f"{path}: its own {needed} backend was not fetched ({sorted(names)})"
    assert MARKERS[unwanted] not in fetched_code, f"{path}: fetched the {unwanted} backend it never runs"
    share = len(fetched_code) / sum(map(len, scripts.values()))
    assert share < 0.7, f"{path}: fetched {share:.0%} of the site's JavaScript"


def site_graph_ops(site) -> set[str]:
    """Every op of every graph the built site serves (its converted model.json files)."""
    import json

    from builder.site.converter_ops import graph_ops

    return set().union(*(graph_ops(json.loads(p.read_text())) for p in (site / "models").glob("*/model.*.json")))


# tf.js makes each op as op({name_: f}); minified, that key survives, so it marks the op's code.
def holds_op(scripts: dict[str, bytes], name: str) -> bool:
    return any(f"{name}_:".encode() in body for body in scripts.values())


def test_the_converter_carries_only_the_ops_the_sites_models_use(built_site):
    """The graph-model converter reaches every tf.js op through one module; the build bundles
    in its place one with only the ops the site's graphs use (converter_ops.py), so the frame
    workers parse and run about 80 KB less JavaScript before the first frame."""
    from builder.site.converter_ops import tfjs_ops

    scripts = script_bodies(built_site)
    needed = tfjs_ops(site_graph_ops(built_site), REPO_ROOT)
    assert {"conv2d", "mirrorPad", "avgPool"} <= set(needed), f"the tiny models' graphs changed: {needed}"
    missing = [name for name in needed if "." not in name and not holds_op(scripts, name)]
    assert not missing, f"ops the models use are not in the site's scripts: {missing}"
    for unused in ("topk", "nonMaxSuppression", "conv3d", "basicLSTMCell", "stft"):
        assert not holds_op(scripts, unused), f"the site bundles tf.js's {unused}, which no model uses"


def test_the_ops_bundled_follow_the_models_graphs(built_site):
    """A graph with another op gets that op: the set comes from the models, not a fixed list
    (the site built from these graphs alone has no topk: the test above)."""
    from builder.site.bundle import bundle

    assert holds_op(bundle(REPO_ROOT, site_graph_ops(built_site) | {"TopKV2"}).scripts, "topk")
