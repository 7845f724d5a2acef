"""The leaner graph (issue #15): what tf.js runs each frame once a freshly exported generator is
converted, that it still computes the SavedModel's numbers, and that checkpoints and models
written before the change keep loading to the same numbers. Real SavedModels, real conversions,
real tf.js (Node)."""

import base64
import collections
import json

import numpy as np
import pytest

from builder import config as cfg
from builder.site.convert import convert_saved_model, load_saved_model, run_in_tfjs
from builder.tfenv import tensorflow
from builder.training.export import resave_model, save_for_converter
from builder.training.grade import shifted
from builder.training.model import build_generator
from builder.training.photos import photo_inputs
from builder.training.transform import TransformParams

tf = tensorflow()
import keras  # noqa: E402  (after TensorFlow, quietly)

SIZE, DEPTH = 64, 3
LAYOUTS = {"default": {"downsample": "blur+conv", "noise": "half"},  # nebula's
           "ocean": {"downsample": "conv", "noise": "none"}}
# Converted as well, all new (no checkpoint before them): a generator whose first layer blurs the
# soft input, one whose output is sharpened (an unsharp mask, then a clip to [-1, 1]), and one whose
# output is sharpened and then colour graded (grade.py: a shift, then a clip).
CONVERTED = {**LAYOUTS, "blurred-input": {"downsample": "blur+conv", "noise": "none", "input_blur": 2.0},
             "sharpened": {"downsample": "blur+conv", "noise": "half", "sharpen": 1.5},
             "graded": {"downsample": "blur+conv", "noise": "half", "sharpen": 1.5, "colour_offset": (0.3, -0.1, 0.05)}}
# The last one is dark and nearly flat: InstanceNorm's statistics are at their most fragile there.
PHOTOS = ("astronaut", "coffee", "hubble_deep_field")


def generator(build, seed: int, **layout) -> keras.Model:
    """A small generator with every weight moved off its initial value (biases, norms' scales and
    offsets, the noise's strength), as a trained one's are."""
    keras.utils.set_random_seed(seed)
    network = build(size=SIZE, base_filters=4, max_filters=8, depth=DEPTH, **layout)
    rng = np.random.default_rng(seed)
    for w in network.weights:
        if len(w.shape) == 1:
            w.assign(w + rng.normal(0.0, 0.1, w.shape).astype(np.float32))
    return network


def assert_same_numbers(got: np.ndarray, expected: np.ndarray, *, tolerance: float = 1e-5) -> None:
    """Outputs for PHOTOS: within `tolerance` on the everyday two; on the dark one within 1e-4: where
    a map hardly varies, InstanceNorm magnifies the last bits of its statistics and of convolutions
    summed in another order (TF's Mean and pools, TF and tf.js), as much for the graph before this
    one as for this one. An op computed wrongly moves the output by 1e-2 or more."""
    worst = np.abs(got - expected).max(axis=(1, 2, 3))
    assert worst[:2].max() < tolerance and worst[2] < 1e-4, worst


def layout_before(*, size, base_filters, max_filters, depth, padding="reflect", downsample="blur+conv",
                  noise="half") -> keras.Model:
    """build_generator as it was when the runs' checkpoints and the committed models were written
    (frozen here): each consumer reflect-padded its own copy of a tensor, Keras' LeakyReLU."""
    from keras import layers

    from builder.training.layers import Blur, InstanceNorm, JoinConv, SigmoidTanh, Upsample2x
    from builder.training.noise import NoiseTexture
    from builder.training.model import level_filters, padded_conv

    widths = level_filters(base_filters=base_filters, max_filters=max_filters, depth=depth)
    gray = keras.Input((size, size, 1))
    x, skips = gray, []
    for i, f in enumerate(widths):
        if downsample == "blur+conv" and i > 0:
            x = Blur()(x)
        x = padded_conv(x, f, 4, strides=2, padding=padding, use_bias=i == 0, name=f"down{i}")
        if i > 0:
            x = InstanceNorm()(x)
        x = layers.LeakyReLU(0.2)(x)
        if (noise, i) in (("half", 0), ("quarter", 1)):
            x = NoiseTexture()(x)
        skips.append(x)
    for i in reversed(range(depth - 1)):
        x = layers.ReLU()(InstanceNorm()(JoinConv(widths[i], padding, use_bias=False)([Upsample2x()(x), skips[i]])))
    return keras.Model(gray, SigmoidTanh()(JoinConv(3, padding)([Upsample2x()(x), gray])))


@pytest.fixture(scope="module")
def photos() -> np.ndarray:
    params = TransformParams.from_config(cfg.TrainConfig(size=SIZE), (True, True))
    return photo_inputs(params, PHOTOS)[1]


@pytest.fixture(scope="module", params=list(CONVERTED))
def converted(request, tmp_path_factory):
    """A freshly exported generator of each layout, converted (float32): (SavedModel, model.json path, model.json)."""
    root = tmp_path_factory.mktemp(request.param)
    layout = dict(CONVERTED[request.param])
    offset = layout.pop("colour_offset", None)
    network = generator(build_generator, 0, **layout)
    save_for_converter(shifted(network, offset) if offset else network, root / "saved_model")
    convert_saved_model(root / "saved_model", root / "tfjs", "float32", 4 * 1024 * 1024)
    return root / "saved_model", root / "tfjs" / "model.json", json.loads((root / "tfjs" / "model.json").read_text())


def ops_of(model: dict) -> collections.Counter:
    return collections.Counter(node["op"] for node in model["modelTopology"]["node"])


def test_each_tensor_is_mirror_padded_once(converted):
    """A tensor with two padded consumers (the soft input, each skip) is padded once for both."""
    padded = [n["input"][0] for n in converted[2]["modelTopology"]["node"] if n["op"] == "MirrorPad"]
    doubled = [name for name, count in collections.Counter(padded).items() if count > 1]
    assert padded and doubled == []


def test_instance_norm_runs_as_average_pools(converted):
    """tf.js transposes the map before a Mean over axes 1-2."""
    ops = ops_of(converted[2])
    assert ops["AvgPool"] >= 2 * 2 * DEPTH - 2  # a mean and a variance for each of the 2 * depth - 2 norms
    assert not set(ops) & {"Mean", "Transpose", "SquaredDifference"}


def test_leaky_relu_runs_as_prelu_with_a_slope_per_channel(converted):
    """tf.js wasm runs LeakyRelu as a scalar kernel, and a Prelu with a single slope 18x slower than one
    with a slope per channel. Every leaky ReLU of the encoder is a Prelu, alone or fused into its
    convolution, and no Neg of PReLU's pattern is left over."""
    model = converted[2]
    shapes = {w["name"]: w["shape"] for group in model["weightsManifest"] for w in group["weights"]}
    slopes = []
    for node in model["modelTopology"]["node"]:
        fused = [base64.b64decode(s) for s in node.get("attr", {}).get("fused_ops", {}).get("list", {}).get("s", [])]
        if node["op"] == "Prelu" or b"Prelu" in fused:
            slopes.append(shapes[node["input"][1 if node["op"] == "Prelu" else -1].split(":")[0]])
    assert len(slopes) == DEPTH
    assert all(len(shape) == 1 and shape[0] >= 4 for shape in slopes), slopes
    assert not set(ops_of(model)) & {"LeakyRelu", "Neg"}


def test_nothing_slow_is_left(converted):
    """No Tanh (tf.js wasm's is a scalar kernel), no Cast (of weights: re-packed every frame), no
    Maximum or Minimum (a clip as two broadcasting kernels: 2.9 ms where ClipByValue takes 0.14)."""
    assert not set(ops_of(converted[2])) & {"Tanh", "Cast", "Neg", "Mean", "LeakyRelu", "Maximum", "Minimum"}


def test_the_converted_graph_computes_the_saved_model(converted, photos):
    saved_model, model_json, _ = converted
    assert_same_numbers(run_in_tfjs(model_json, photos), load_saved_model(saved_model)(photos))


@pytest.mark.parametrize("layout", list(LAYOUTS.values()), ids=list(LAYOUTS))
def test_in_use_the_generator_computes_what_it_trained(layout, photos):
    """training=True keeps TF's statistics and LeakyRelu (what the checkpoints were trained with);
    training=False is the form tf.js runs fast. No noise: training draws it fresh."""
    network = generator(build_generator, 1, **{**layout, "noise": "none"})
    assert_same_numbers(network(photos, training=False).numpy(), network(photos, training=True).numpy())


@pytest.mark.parametrize("layout", list(LAYOUTS.values()), ids=list(LAYOUTS))
def test_a_checkpoint_written_before_restores_whole_to_the_same_numbers(layout, photos, tmp_path):
    """tf.train.Checkpoint finds a model's layers by their position: the lean generator keeps the
    layers and their order (two without weights trade places), so a run's checkpoints still load."""
    before = generator(layout_before, 2, **layout)
    old = tf.train.Checkpoint(generator=before).write(str(tmp_path / "old"))
    after = build_generator(size=SIZE, base_filters=4, max_filters=8, depth=DEPTH, **layout)
    new = tf.train.Checkpoint(generator=after).write(str(tmp_path / "new"))
    keys = lambda prefix: {(name, tuple(shape)) for name, shape in tf.train.list_variables(prefix)}  # noqa: E731
    assert keys(new) == keys(old)
    tf.train.Checkpoint(generator=after).read(old).assert_consumed()
    assert_same_numbers(after(photos, training=False).numpy(), before(photos, training=False).numpy(), tolerance=1e-6)


def test_an_exported_model_takes_the_new_graph_from_its_own_weights(photos, tmp_path):
    """models/<name>/ written before (its SavedModel and config.toml, no checkpoints): resave_model
    rebuilds the generator, gives it the stored weights and writes the lean graph; same numbers."""
    config = cfg.TrainConfig(name="m", size=SIZE, base_filters=4, max_filters=8, depth=DEPTH)
    model_dir = tmp_path / "m"
    save_for_converter(generator(layout_before, 3), model_dir / "saved_model")
    (model_dir / "config.toml").write_text(cfg.to_toml(config))
    before = load_saved_model(model_dir / "saved_model")(photos)
    resave_model(model_dir)
    assert_same_numbers(load_saved_model(model_dir / "saved_model")(photos), before)
    graph = tf.saved_model.load(str(model_dir / "saved_model")).signatures["serving_default"].graph.as_graph_def()
    ops = {node.op for function in graph.library.function for node in function.node_def}
    assert "AvgPool" in ops and not ops & {"Mean", "LeakyRelu"}

    (model_dir / "config.toml").write_text(cfg.to_toml(cfg.TrainConfig(name="m", size=SIZE, base_filters=8)))
    with pytest.raises(Exception, match="are not those of the generator its config.toml builds"):
        resave_model(model_dir)
