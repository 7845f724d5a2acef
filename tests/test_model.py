"""Network shapes, the default parameter budget, and the ops the browser will run."""

import numpy as np
import pytest

from builder.config import TrainConfig, generator_options
from builder.training.model import build_discriminator, build_generator, conv_flops, count_params
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
    g = build_generator(**generator_options(c))
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
        g = build_generator(size=64, base_filters=4, max_filters=8, depth=3, padding=padding, downsample="conv",
                            noise="none")
        y = g(flat).numpy()
        spread[padding] = float(y.max(axis=(1, 2)).max() - y.min(axis=(1, 2)).min())
    # Not exactly 0: InstanceNorm divides float rounding by the sqrt of a near-zero variance.
    assert spread["reflect"] < 0.05 and spread["zero"] > 0.3, spread
    graph = tf.function(g).get_concrete_function(tf.TensorSpec((1, 64, 64, 1))).graph
    assert "MirrorPad" not in {op.type for op in graph.get_operations()}  # zero: no pad op at all


def test_blur_removes_what_a_stride_of_two_would_alias_and_keeps_the_rest():
    from builder.training.model import Blur

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


@pytest.mark.parametrize("noise, shape", [("half", (32, 32, 1)), ("quarter", (16, 16, 1))])
def test_noise_texture_is_drawn_anew_in_training_and_fixed_in_use(noise, shape):
    """Training sees fresh noise each step; the exported model one stored pattern (no flicker)."""
    g = build_generator(size=64, base_filters=4, max_filters=8, depth=3, noise=noise)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 64, 64, 1)).astype(np.float32)
    assert np.abs(g(x, training=True).numpy() - g(x, training=True).numpy()).max() > 1e-3
    fixed = g(x, training=False).numpy()
    assert np.array_equal(fixed, g(x, training=False).numpy())
    pattern = g.get_layer("noise").pattern
    assert pattern.shape == shape and not pattern.trainable
    pattern.assign(-pattern.numpy())  # the output does depend on the stored pattern
    assert np.abs(g(x, training=False).numpy() - fixed).max() > 1e-3

    quiet = build_generator(size=64, base_filters=4, max_filters=8, depth=3, noise="none")
    assert np.array_equal(quiet(x, training=True).numpy(), quiet(x, training=True).numpy())
    assert "noise" not in {layer.name for layer in quiet.layers}


@pytest.mark.parametrize("stretch", [1, 4])
def test_noise_is_smooth_and_of_unit_strength(stretch):
    """No power at the Nyquist frequency (upsampled, then folded by the output tanh, it became a
    checkerboard), and unit variance, so the learned strengths mean what they say; stretched
    (--noise-stretch), its grains wider than tall: less of its gradient's energy runs across."""
    from builder.training.noise import smooth_noise

    field = np.random.default_rng(0).normal(size=(4, 130, 128 + 2 * stretch, 1)).astype(np.float32)
    noise = smooth_noise(field, stretch).numpy()[..., 0]
    assert noise.shape == (4, 128, 128) and 0.95 < noise.std() < 1.05
    power = np.abs(np.fft.fft2(noise)) ** 2
    assert power[:, 64, 64].mean() < 1e-3 * power.mean()  # white noise: about 1x
    assert power[:, 64, :].mean() < 0.01 * power.mean()  # the Nyquist row: gone
    gy, gx = np.gradient(noise, axis=(1, 2))
    across = float((gx ** 2).mean() / (gy ** 2).mean())  # 1: round grains
    assert (0.85 < across < 1.15) if stretch == 1 else across < 0.5, across


def test_a_stretched_noise_texture_trains_and_its_pattern_is_stretched():
    """In training, fresh stretched noise each call (its field drawn 2 * stretch columns wider);
    in use, the stored pattern, stretched alike."""
    generator = build_generator(size=64, base_filters=4, max_filters=8, depth=3, noise_stretch=4)
    x = np.zeros((2, 64, 64, 1), np.float32)
    first, second = (generator(x, training=True).numpy() for _ in range(2))
    assert first.shape == (2, 64, 64, 3) and np.abs(first - second).max() > 1e-4  # fresh noise
    pattern = next(v for v in generator.non_trainable_variables if v.name == "pattern").numpy()[..., 0]
    gy, gx = np.gradient(pattern)
    assert (gx ** 2).mean() < 0.5 * (gy ** 2).mean()


def test_refining_layers_work_at_half_resolution_after_the_last_join():
    """`refine` adds that many 3x3 convolutions, with their norms and ReLUs, between the last join
    and the output's upsampling; without it the generator is layer for layer the same (checkpoints
    track layers by position)."""
    plain = build_generator(size=64, base_filters=4, max_filters=8, depth=3)
    refined = build_generator(size=64, base_filters=4, max_filters=8, depth=3, refine=2)
    assert count_params(refined) == count_params(plain) + 2 * (3 * 3 * 4 * 4 + 2 * 4)  # kernels, norms' scale and shift
    names = [layer.name for layer in refined.layers]
    assert names[names.index("up0_act") + 1:names.index("out_resize")] == [
        "refine0_pad", "refine0", "refine0_norm", "refine0_act", "refine1_pad", "refine1", "refine1_norm", "refine1_act"]
    assert [n for n in names if not n.startswith("refine")] == [layer.name for layer in plain.layers]
    assert refined.get_layer("refine1").output.shape == (None, 32, 32, 4)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 64, 64, 1)).astype(np.float32)
    assert refined(x).shape == (1, 64, 64, 3)


@pytest.mark.parametrize("padding", ["reflect", "zero"])
def test_join_conv_is_a_convolution_of_the_concatenated_inputs(padding):
    """The output layer sums one convolution per input (tf.js wasm concatenates a 1-channel tensor
    slowly); it must compute exactly what one convolution of the concatenation would."""
    import keras

    from builder.training.model import JoinConv, padded_conv

    rng = np.random.default_rng(0)
    features = rng.normal(size=(2, 16, 16, 5)).astype(np.float32)
    gray = rng.normal(size=(2, 16, 16, 1)).astype(np.float32)
    join = JoinConv(3, padding, name="out")
    join([features, gray])
    join.bias.assign(rng.normal(size=3).astype(np.float32))
    both = keras.Input((16, 16, 6))
    plain = keras.Model(both, padded_conv(both, 3, 3, padding=padding, name="out"))
    plain.get_layer("out").set_weights([np.concatenate([k.numpy() for k in join.kernels], axis=2), join.bias.numpy()])
    expected = plain(np.concatenate([features, gray], axis=-1)).numpy()
    assert np.abs(join([features, gray]).numpy() - expected).max() < 1e-5


def test_the_output_activation_is_tanh():
    from builder.training.model import SigmoidTanh

    z = np.linspace(-6, 6, 97, dtype=np.float32)
    np.testing.assert_allclose(np.asarray(SigmoidTanh()(z[None])), np.tanh(z)[None], atol=1e-6)


def _band_power(image: np.ndarray, low: float, high: float) -> float:
    """Power of a (S, S) image's spectrum at radial frequencies in [low, high) cycles per pixel
    (Hann-windowed: the frame's edges, joined end to end, would put power at every frequency)."""
    window = np.outer(*[np.hanning(image.shape[0])] * 2)
    spectrum = np.abs(np.fft.fft2((image - image.mean()) * window)) ** 2
    f = np.fft.fftfreq(image.shape[0])
    radius = np.hypot(*np.meshgrid(f, f, indexing="ij"))
    return float(spectrum[(radius >= low) & (radius < high)].sum())


def test_the_soft_input_blur_hides_the_transforms_grid_and_keeps_the_scenes_shapes():
    """The bicubic upscale of the 24x area downscale leaves kinks on a screen-fixed 24-px grid (its
    harmonics at 12 px and finer); input_blur takes them out and keeps the broad shapes."""
    from builder.training.layers import SoftInputBlur
    from builder.training.photos import photo_inputs
    from builder.training.transform import TransformParams

    params = TransformParams.from_config(TrainConfig(), (True, False))
    soft = photo_inputs(params, ("astronaut", "coffee"))[1]  # (2, 256, 256, 1), what the camera gives
    blurred = SoftInputBlur(5.0)(soft).numpy()
    for before, after in zip(soft[..., 0], blurred[..., 0]):
        assert _band_power(after, 1 / 12, 1.0) < 0.03 * _band_power(before, 1 / 12, 1.0)  # the grid's kinks
        assert _band_power(after, 0, 1 / 64) > 0.8 * _band_power(before, 0, 1 / 64)  # the scene's shapes
    flat = np.full((1, 32, 32, 1), 0.3, np.float32)
    assert np.allclose(SoftInputBlur(3.0)(flat).numpy(), 0.3, atol=1e-6)  # to the edges: reflect, mean kept


def test_the_soft_input_blur_is_one_layer_without_weights_and_only_when_asked():
    plain = build_generator(size=64, base_filters=4, max_filters=8, depth=3)
    blurred = build_generator(size=64, base_filters=4, max_filters=8, depth=3, input_blur=2.0)
    assert count_params(blurred) == count_params(plain)
    assert [layer.name for layer in blurred.layers] == ["gray", "input_blur"] + [layer.name for layer in plain.layers][1:]
    x = np.random.default_rng(0).uniform(-1, 1, (1, 64, 64, 1)).astype(np.float32)
    assert not np.allclose(blurred(x).numpy(), blurred(blurred.get_layer("input_blur")(x)).numpy())  # it is used


@pytest.mark.parametrize("field, value", [("input_blur", -1.0), ("input_blur", 40.0), ("input_blur", float("nan")),
                                          ("noise_stretch", 0), ("noise_stretch", 9), ("refine", -1), ("refine", 5)])
def test_a_soft_input_blur_noise_stretch_or_refine_a_run_cannot_use_is_refused_in_one_line(field, value):
    from builder import config as cfg
    from builder.errors import ConfigError

    with pytest.raises(ConfigError, match=f"field '{field}'") as raised:
        cfg.from_mapping(TrainConfig, {field: value}, "command line")
    assert "\n" not in str(raised.value)
