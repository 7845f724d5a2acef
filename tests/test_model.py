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
    g = build_generator(size=c.size, base_filters=c.base_filters, max_filters=c.max_filters, depth=c.depth,
                        padding=c.padding, downsample=c.downsample)
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


def test_reflect_padding_keeps_a_uniform_input_uniform_to_the_edges():
    """Zero padding tells every layer where the frame ends; trained, it paints rims there.
    With reflect padding an untrained network already maps a blank wall to a blank picture."""
    flat = np.full((1, 64, 64, 1), 0.3, np.float32)
    spread = {}
    for padding in ("reflect", "zero"):
        tf.keras.utils.set_random_seed(1)
        g = build_generator(size=64, base_filters=4, max_filters=8, depth=3, padding=padding, downsample="conv")
        y = g(flat).numpy()
        spread[padding] = float(y.max(axis=(1, 2)).max() - y.min(axis=(1, 2)).min())
    # Not exactly 0: InstanceNorm divides float rounding by the sqrt of a near-zero variance.
    assert spread["reflect"] < 0.05 and spread["zero"] > 0.3, spread
    graph = tf.function(g).get_concrete_function(tf.TensorSpec((1, 64, 64, 1))).graph
    assert "MirrorPad" not in {op.type for op in graph.get_operations()}  # zero: no pad op at all


def test_blur_removes_what_a_stride_of_two_would_alias_and_keeps_the_rest():
    from builder.model import Blur

    n = 16
    checker = (np.indices((n, n)).sum(0) % 2 * 2 - 1.0).astype(np.float32)[None, ..., None]
    ramp = np.tile(np.linspace(-1, 1, n, dtype=np.float32), (n, 1))[None, ..., None]
    blur = Blur()
    assert np.abs(blur(checker).numpy()[:, 1:-1, 1:-1]).max() < 1e-6  # Nyquist: gone
    assert np.abs(blur(ramp).numpy() - ramp)[:, :, 1:-1].max() < 1e-6  # a linear gradient: untouched
    assert np.allclose(Blur()(np.full((1, n, n, 3), 0.7, np.float32)).numpy(), 0.7)


def test_anti_aliased_down_sampling_adds_blurs_but_no_weights():
    plain = build_generator(size=64, base_filters=4, max_filters=8, depth=3, downsample="conv")
    smooth = build_generator(size=64, base_filters=4, max_filters=8, depth=3, downsample="blur+conv")
    assert count_params(smooth) == count_params(plain)
    graph = tf.function(smooth).get_concrete_function(tf.TensorSpec((1, 64, 64, 1))).graph
    assert sum(op.type == "DepthwiseConv2dNative" for op in graph.get_operations()) == 2  # levels 1 and 2
