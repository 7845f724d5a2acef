"""The networks: a small pix2pix U-Net generator and a PatchGAN discriminator, built from the
layers in `layers.py` (where the choices made for the browser are explained).

tf.train.Checkpoint tracks a Keras model's layers by their position in it, weightless ones
included: a change to build_generator must keep its layers and their order, or the runs'
checkpoints no longer load (tests/test_lean_graph.py checks them against the old layout).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from builder.training.layers import (Blur, InstanceNorm, JoinConv, PreluLeakyReLU, ReflectPad,
                                     Sharpen, SigmoidTanh, SoftInputBlur, Upsample2x)
from builder.training.noise import NoiseTexture


def padded_conv(x, filters: int, kernel: int, *, padding: str, strides: int = 1, bordered: bool = False, **kw):
    """A convolution whose output has ceil(size / strides) pixels, like padding="same".

    For the kernels used here (3 at stride 1, 4 at stride 2 on even sizes) "same" pads one
    pixel on each side, so reflect padding mirrors one pixel and convolves "valid".
    `bordered`: x is reflect-padded already (padded once for all its consumers).
    """
    if padding == "zero":
        return layers.Conv2D(filters, kernel, strides=strides, padding="same", **kw)(x)
    assert (kernel, strides) in ((3, 1), (4, 2)), (kernel, strides)
    if not bordered:
        x = ReflectPad(1, name=f"{kw['name']}_pad")(x)
    return layers.Conv2D(filters, kernel, strides=strides, padding="valid", **kw)(x)


def level_filters(*, base_filters: int, max_filters: int, depth: int) -> list[int]:
    return [min(base_filters * 2 ** i, max_filters) for i in range(depth)]


def build_generator(*, size: int, base_filters: int, max_filters: int, depth: int,
                    padding: str = "reflect", downsample: str = "blur+conv", noise: str = "half",
                    input_blur: float = 0.0, sharpen: float = 0.0, noise_stretch: int = 1,
                    refine: int = 0) -> keras.Model:
    """U-Net, 1 channel in, 3 out (tanh), values in [-1, 1]; `sharpen` > 0: an unsharp mask of that
    amount on the output, in use only (layers.Sharpen); `noise_stretch`: the noise texture's grains
    that many times wider than tall (noise.py); `refine`: that many more 3x3 convolutions (each with
    its norm and ReLU) at half resolution after the last join."""
    init = keras.initializers.RandomNormal(0.0, 0.02)
    widths = level_filters(base_filters=base_filters, max_filters=max_filters, depth=depth)

    reflect = padding == "reflect"
    gray = keras.Input((size, size, 1), name="gray")  # (b, S, S, 1)
    # Only when asked: a layer more at the front would move every later one, and checkpoints
    # track layers by position.
    soft = SoftInputBlur(input_blur, name="input_blur")(gray) if input_blur > 0 else gray
    x, skips = soft, []  # skips[i]: level i's input (the soft input, then each level's output)
    for i, f in enumerate(widths):
        # Padded here once for both its consumers, this level and the decoder's join (each padding
        # its own copy cost tf.js wasm ~3 ms a frame at 256 px). The layers and their order are the
        # checkpoints' (a pad and a blur, both without weights, traded places; nothing else moved).
        x = ReflectPad(1, name=f"down{i}_pad")(x) if reflect else x  # (b, S/2^i + 2, S/2^i + 2, c)
        skips.append(x)
        if downsample == "blur+conv" and i > 0:  # the soft input itself has nothing to alias
            x = Blur(bordered=reflect, name=f"down{i}_blur")(x)
        x = padded_conv(x, f, 4, strides=2, padding=padding, bordered=reflect, kernel_initializer=init,
                        use_bias=i == 0, name=f"down{i}")  # (b, S/2^(i+1), S/2^(i+1), f)
        if i > 0:
            x = InstanceNorm(name=f"down{i}_norm")(x)
        x = PreluLeakyReLU(0.2, name=f"down{i}_act")(x)
        if (noise, i) in (("half", 0), ("quarter", 1)):  # seen by this level's skip and all below
            x = NoiseTexture(noise_stretch, name="noise")(x)

    # Bottleneck (b, S/2^depth, S/2^depth, widths[-1]); climb back, joining each level's skip.
    for i in reversed(range(depth - 1)):
        x = Upsample2x(name=f"up{i}_resize")(x)  # (b, S/2^(i+1), ..., widths[i+1])
        x = JoinConv(widths[i], padding, init, use_bias=False, bordered_b=reflect,
                     name=f"up{i}")([x, skips[i + 1]])  # with this level's skip: (b, S/2^(i+1), S/2^(i+1), widths[i])
        x = InstanceNorm(name=f"up{i}_norm")(x)
        x = layers.ReLU(name=f"up{i}_act")(x)

    # The half-resolution noise reaches the picture through the last join alone: one nonlinear
    # layer, then bilinear upsampling and a linear 3x3, to shape grain into a theme's fine detail
    # and to keep it off a clear sky. Each refining layer is one more (~75 MFLOPs at 256 px, 16 wide).
    for k in range(refine):
        x = padded_conv(x, widths[0], 3, padding=padding, kernel_initializer=init, use_bias=False,
                        name=f"refine{k}")  # (b, S/2, S/2, widths[0])
        x = InstanceNorm(name=f"refine{k}_norm")(x)
        x = layers.ReLU(name=f"refine{k}_act")(x)

    x = Upsample2x(name="out_resize")(x)  # (b, S, S, widths[0])
    x = JoinConv(3, padding, init, bordered_b=reflect,
                 name="out")([x, skips[0]])  # with the soft input itself, for alignment: (b, S, S, 3)
    rgb = SigmoidTanh(name="rgb")(x)  # (b, S, S, 3) in [-1, 1]
    if sharpen > 0:  # last, without weights: checkpoints load with or without it
        rgb = Sharpen(sharpen, name="sharpen")(rgb)
    return keras.Model(gray, rgb, name="generator")


def build_discriminator(*, size: int, base_filters: int, normalize: bool = True,
                        conditional: bool = True) -> keras.Model:
    """PatchGAN on (input, image) pairs, or on images alone (conditional=False: the unpaired theme
    loss, whose inputs have no target): a grid of real/fake logits, each seeing a ~70 px patch."""
    init = keras.initializers.RandomNormal(0.0, 0.02)
    image = keras.Input((size, size, 3), name="image")
    if conditional:
        gray = keras.Input((size, size, 1), name="gray")
        inputs, x = [gray, image], layers.Concatenate()([gray, image])  # (b, S, S, 4)
    else:
        inputs, x = image, image  # (b, S, S, 3)
    for i, (f, stride) in enumerate([(base_filters, 2), (base_filters * 2, 2), (base_filters * 4, 2),
                                     (base_filters * 8, 1)]):
        x = layers.Conv2D(f, 4, strides=stride, padding="same", kernel_initializer=init,
                          use_bias=i == 0 or not normalize)(x)  # (b, S/2 .. S/8, .., f)
        if i > 0 and normalize:
            x = InstanceNorm()(x)
        x = layers.LeakyReLU(0.2)(x)
    logits = layers.Conv2D(1, 4, padding="same", kernel_initializer=init)(x)  # (b, S/8, S/8, 1)
    return keras.Model(inputs, logits, name="discriminator" if conditional else "theme_discriminator")


def discriminator_features(discriminator: keras.Model) -> keras.Model:
    """The same network (its layers, no variables of its own) with every block's activation as an
    output before the logits: [(b, S/2, S/2, f), .., (b, S/8, S/8, 8f), logits]. Feature matching
    reads them; the discriminator itself, and so its checkpoint, stays as it was."""
    blocks = [layer.input for layer in discriminator.layers if isinstance(layer, layers.Conv2D)][1:]
    return keras.Model(discriminator.inputs, [*blocks, discriminator.output], name=f"{discriminator.name}_features")


def half_size(x):
    """(b, S, S, c) -> (b, S/2, S/2, c): pix2pixHD's step between discriminator scales, a 3x3 average
    at stride 2 of the pixels inside the frame (count_include_pad=False). TF's "same" pads one row
    and column at the bottom and right, PyTorch's one on every side: the same filter, its windows
    one pixel further down and right."""
    return ops.average_pool(x, 3, strides=2, padding="same")


def count_params(model: keras.Model) -> int:
    return int(sum(int(ops.size(w)) for w in model.weights))


def conv_flops(model: keras.Model) -> int:
    """Multiply-adds x 2 of every convolution for one frame (the bulk of the work)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            kh, kw = layer.kernel_size
            cin = layer.input.shape[-1]
            _, h, w, cout = layer.output.shape
            total += 2 * h * w * kh * kw * cin * cout
        elif isinstance(layer, JoinConv):
            _, h, w, cout = layer.output.shape
            total += 2 * h * w * sum(int(np.prod(k.shape[:3])) for k in layer.kernels) * cout
    return int(total)
