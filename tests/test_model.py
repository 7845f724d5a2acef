"""Network shapes, the default parameter budget, and the ops the browser will run."""

import numpy as np
import pytest

from builder.config import TrainConfig
from builder.model import build_discriminator, build_generator, conv_flops, count_params
from builder.tfenv import tensorflow

tf = tensorflow()


@pytest.mark.parametrize("size, depth", [(32, 3), (64, 4), (128, 5)])
def test_generator_maps_one_channel_to_three_in_range(size, depth):
    g = build_generator(size=size, base_filters=4, max_filters=16, depth=depth)
    x = np.random.default_rng(0).uniform(-1, 1, (2, size, size, 1)).astype(np.float32)
    y = g(x).numpy()
    assert g.input.shape[1:] == (size, size, 1)
    assert y.shape == (2, size, size, 3)
    assert -1 <= y.min() and y.max() <= 1


def test_discriminator_gives_a_patch_grid():
    d = build_discriminator(size=64, base_filters=8)
    logits = d([np.zeros((1, 64, 64, 1), np.float32), np.zeros((1, 64, 64, 3), np.float32)])
    assert logits.shape == (1, 8, 8, 1)


def test_default_generator_fits_the_budget():
    c = TrainConfig()
    g = build_generator(size=c.size, base_filters=c.base_filters, max_filters=c.max_filters, depth=c.depth)
    assert c.size == 256
    assert count_params(g) <= 1_000_000, "the default model must stay <= 1.0 M parameters (<= 1 MB at uint8)"
    assert 0.2e9 < conv_flops(g) < 2e9


def test_no_transposed_convolution_or_upsampling_layer():
    """Resize + conv only: UpSampling2D converts to Tile/Reshape (4x slower in tf.js wasm) and
    Conv2DTranspose gives checkerboards (and is 3-4x slower in wasm)."""
    g = build_generator(size=64, base_filters=4, max_filters=8, depth=3)
    kinds = {type(layer).__name__ for layer in g.layers}
    assert not kinds & {"Conv2DTranspose", "UpSampling2D", "BatchNormalization"}
    graph = tf.function(g).get_concrete_function(tf.TensorSpec((1, 64, 64, 1))).graph
    ops = {op.type for op in graph.get_operations()}
    assert "ResizeBilinear" in ops and not ops & {"Tile", "Conv2DBackpropInput", "FusedBatchNormV3"}
