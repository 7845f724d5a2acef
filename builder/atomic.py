"""Replace a directory so that readers see the old one or the new one, never a half-written one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def replace_dir(new: Path, dest: Path) -> None:
    """Swap `new` in at `dest` with two renames (same filesystem); the old copy is deleted after."""
    old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
    if dest.exists():
        os.replace(dest, old)
    os.replace(new, dest)
    shutil.rmtree(old, ignore_errors=True)
