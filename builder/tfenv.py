"""Import TensorFlow quietly. On machines without CUDA it prints a page of factory-registration
and CUDA warnings through C++ logging before Python can configure anything; they are noise
here, so stderr is muted for the import alone (a failing import still raises normally)."""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def muted_stderr():
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def tensorflow():
    """The tensorflow module, imported once, with CUDA and oneDNN chatter silenced."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with muted_stderr():
        import tensorflow as tf
    tf.get_logger().setLevel("ERROR")
    return tf
