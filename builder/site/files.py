"""The site's files: held in memory until the build has gathered everything, then written into a
temporary folder that replaces the out dir with renames (Lektor's artifacts). The out dir is
replaced only when it is absent, empty, or a site this builder wrote (it carries a marker file),
so `--out-dir docs` or `--out-dir models` cannot delete anyone's files."""

from __future__ import annotations

import hashlib
from pathlib import Path

from builder.atomic import check_writable, new_dir
from builder.errors import BuildError

SITE_MARKER = ".learning-to-see-site"  # in every site built: a folder holding it may be replaced
# The top of a site built before the marker existed: a folder holding these and nothing else is ours too.
UNMARKED_SITE, UNMARKED_SITE_MAY_HOLD = {"index.html", "manifest.json", "quantization.json"}, {"assets", "models"}


class SiteFiles:
    """Everything the site will contain, in memory until `write`: the one place writes go."""

    def __init__(self):
        self.files: dict[str, bytes] = {}

    def add(self, path: str, data: bytes) -> str:
        self.files[path] = data
        return path

    def add_hashed(self, folder: str, name: str, data: bytes) -> str:
        stem, dot, suffix = name.rpartition(".")
        digest = hashlib.sha256(data).hexdigest()[:10]
        return self.add(f"{folder}/{stem}.{digest}.{suffix}" if dot else f"{folder}/{name}.{digest}", data)

    def write(self, root: Path) -> None:
        for rel, data in sorted(self.files.items()):
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


def check_out_dir(out_dir: Path) -> None:
    """Refuse, before any work, an out dir the build cannot write or may not replace as a whole."""
    if out_dir.exists():
        if not out_dir.is_dir():
            raise BuildError(f"{out_dir}: is a file, not a folder; pass a folder as --out-dir (or out_dir in "
                             f"site.toml)")
        entries = {p.name for p in out_dir.iterdir()}
        ours = SITE_MARKER in entries or UNMARKED_SITE <= entries <= UNMARKED_SITE | UNMARKED_SITE_MAY_HOLD
        if entries and not ours:
            raise BuildError(f"{out_dir}: not a site this builder wrote (no {SITE_MARKER}), and a build replaces "
                             f"the whole folder; pass a new or empty --out-dir (or out_dir in site.toml), or move "
                             f"its files away first")
    check_writable(out_dir, "--out-dir (or out_dir in site.toml)", replaced=True)


def write_atomically(files: SiteFiles, out_dir: Path) -> None:
    """Write into a sibling temporary directory, then swap it in with renames."""
    check_out_dir(out_dir)  # someone may have put files there while the models converted
    with new_dir(out_dir) as tmp:
        files.write(tmp)
