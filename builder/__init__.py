"""Learning to See, in the browser: train small pix2pix generators and build the static site."""

import os

# Set before anything imports TensorFlow, whichever module gets there first.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # CUDA/oneDNN chatter on machines without a GPU
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# tensorflowjs imports decision forests, whose welcome banner imports IPython when stdout is
# not a terminal (pytest, CI, pipes).
os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent  # templates/, js/, glsl/, netlify.toml live here
