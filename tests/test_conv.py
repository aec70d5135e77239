"""Convolutional layer matching: graph layout and shape errors, the forward pass against plain Keras, pair losses on
feature maps, gradient routing per stop-gradient mode, tied kernels through training and saving, pictures.

Model: x (8,8,1) -> e1 Conv2D (4,4,3) -> e2 Conv2D (2,2,4) -> e3 Dense (5) -> z (2) -> d3 Dense (5)
-> d2 Dense reshaped to (2,2,4) -> d1 Conv2DTranspose (4,4,3) -> x_hat Conv2DTranspose (8,8,1); tanh, so that
"non-zero gradient" is certain where a path exists.
"""


import keras
import numpy as np
import pytest
from _gradient_table import GradientTable
from conftest import bits, check_png, compile_and_fit, fixed_weights, gradients, numpy
from keras import ops

import ladderae
from ladderae import Conv2DTransposed, DenseTransposed, graph, plots
from ladderae.graph.build import GraphError

X = bits((16, 8, 8, 1))
SPEC = dict(input_shape=(8, 8, 1), conv=[3, 4], kernel_size=3, strides=2, encoder=[5], latent_dim=2)


def make(**kwargs):
    """The same weights for every mode: the same draw from a fixed generator."""
    return fixed_weights(ladderae.LadderAE(**(SPEC | {"activation": "tanh", "seed": 7} | kwargs)), 0.5)


# ------------------------------------------------------------------ graph


def test_layout_shapes_and_layer_kinds():
    g = graph.build_graph((8, 8, 1), [5], 2, conv=[3, 4])
    assert graph.flow_order(g) == ["x", "e1", "e2", "e3", "z", "d3", "d2", "d1", "x_hat"]
    layout = {n: (g.nodes[n].get("layer"), g.nodes[n]["shape"]) for n in graph.flow_order(g)}
    assert layout == {
        "x": (None, (8, 8, 1)), "e1": ("conv", (4, 4, 3)), "e2": ("conv", (2, 2, 4)), "e3": ("dense", (5,)),
        "z": ("dense", (2,)), "d3": ("dense", (5,)), "d2": ("dense", (2, 2, 4)),
        "d1": ("conv_transpose", (4, 4, 3)), "x_hat": ("conv_transpose", (8, 8, 1)),
    }
    assert g.nodes["d2"]["units"] == 16 and g.nodes["x"]["units"] == 64
    assert graph.layer_input_shape(g, "e3") == (16,)  # the Flatten
    assert graph.layer_input_shape(g, "d1") == (2, 2, 4)  # after the Reshape
    assert [graph.mirror(g, e) for e in ("e1", "e2", "e3")] == ["d1", "d2", "d3"]


def test_per_layer_kernels_and_strides_on_a_non_square_input():
    g = graph.build_graph((8, 12, 2), [], 3, conv=[3, 5], kernel_size=[3, (3, 5)], strides=[2, (1, 3)])
    assert [g.nodes[n]["shape"] for n in ("e1", "e2", "d2", "d1", "x_hat")] == [
        (4, 6, 3), (4, 2, 5), (4, 2, 5), (4, 6, 3), (8, 12, 2)]
    # Each Conv2DTranspose has the geometry of the conv layer it mirrors.
    assert (g.nodes["d1"]["kernel_size"], g.nodes["d1"]["strides"]) == ((3, 5), (1, 3))
    assert (g.nodes["x_hat"]["kernel_size"], g.nodes["x_hat"]["strides"]) == ((3, 3), (2, 2))
    assert g.nodes["d2"]["layer"] == "dense"  # z -> d2 mirrors the bottleneck's dense layer


@pytest.mark.parametrize(
    "args, match",
    [
        (dict(input_shape=(12, 12, 1), conv=[2, 2, 2]),
         r"Conv layer 'e3' \(conv\[2\]=2, strides=\(2, 2\)\) gets a 3x3 input: 'same' padding gives 2x2.*back to 4x4, "
         r"not 3x3.*multiples of the product of the strides \(8x8\): pad the images to 16x16 or use fewer strided"),
        (dict(input_shape=(64,), conv=[4]), r"input_shape=\(height, width, channels\).*Received: input_shape=\(64,\)"),
        (dict(input_shape=(8, 8), conv=[4]), r"input_shape=\(height, width, channels\)"),
        (dict(conv=[4, 0]), r"`conv` must be a list of positive integers such as \[32, 64\]"),
        (dict(conv=[4, 4], kernel_size=[3, 3, 3]), r"`kernel_size`.*one entry per conv layer \(2 here\)"),
        (dict(conv=[4], strides=0), r"`strides` must be a positive integer"),
        (dict(conv=[4], kernel_size=[(3, 3, 3)]), r"`kernel_size`.*\(height, width\) pair"),
        (dict(encoder=[]), r"`encoder` must be a non-empty list"),  # a dense-only model still needs a layer
    ],
)
def test_bad_conv_specs_fail_when_the_graph_is_built(args, match):
    args = dict(input_shape=(8, 8, 1), encoder=[5], latent_dim=2) | args
    with pytest.raises(GraphError, match=match):
        ladderae.LadderAE(**args)


def test_input_dim_with_conv_names_the_missing_channel_axis():
    with pytest.raises(GraphError, match=r"input_shape=\(height, width, channels\).*reshape\(-1, 28, 28, 1\)"):
        ladderae.LadderAE(784, conv=[4], encoder=[8], latent_dim=2)


@pytest.mark.parametrize(
    "spec, pair, match",
    [
        (dict(conv=[4, 4]), ("e1", "d2"), r"different shapes \(4x4x4 vs 2x2x4\)"),
        # Equal shapes, but the layer after d2 (mirror of the 5x5 conv) is not the mirror of the 3x3 conv into e1.
        (dict(conv=[4, 4], kernel_size=[3, 5], strides=1, input_shape=(4, 4, 4)), ("e1", "d2"),
         r"cannot tie weights.*a Conv2DTranspose \(kernel 3x3, strides 1x1\) to 4x4x4, but it is a Conv2DTranspose "
         r"\(kernel 5x5, strides 1x1\) to 4x4x4. Use tied=False"),
    ],
)
def test_pairs_of_other_shapes_or_untieable_layers_are_rejected(spec, pair, match):
    args = dict(input_shape=(8, 8, 1), encoder=[], latent_dim=2) | spec
    g = graph.build_graph(args["input_shape"], args["encoder"], args["latent_dim"],
                          **{k: v for k, v in args.items() if k in ("conv", "kernel_size", "strides")})
    with pytest.raises(GraphError, match=match):
        graph.add_pair(g, *pair, tied=True)


# ---------------------------------------------------------------- forward


def test_the_model_computes_what_the_keras_conv_vae_computes_with_the_same_weights():
    """Conv2D, Conv2D, Flatten, Dense | Dense, Dense, Reshape, Conv2DTranspose, Conv2DTranspose: the keras.io layout."""
    model = make(pairing="none")
    layers = keras.layers
    conv = dict(kernel_size=3, strides=2, padding="same")
    encoder = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(3, activation="tanh", **conv),
                                layers.Conv2D(4, activation="tanh", **conv), layers.Flatten(),
                                layers.Dense(5, activation="tanh"), layers.Dense(2)])
    decoder = keras.Sequential([keras.Input((2,)), layers.Dense(5, activation="tanh"),
                                layers.Dense(16, activation="tanh"), layers.Reshape((2, 2, 4)),
                                layers.Conv2DTranspose(3, activation="tanh", **conv),
                                layers.Conv2DTranspose(1, **conv)])
    nodes = model.node_layers
    for keras_layer, node in zip(encoder.layers[:2] + encoder.layers[3:], ["e1", "e2", "e3", "z"]):
        keras_layer.set_weights((nodes[node]["mean"] if node == "z" else nodes[node]).get_weights())
    for keras_layer, node in zip(decoder.layers[:2] + decoder.layers[3:], ["d3", "d2", "d1", "x_hat"]):
        keras_layer.set_weights(nodes[node].get_weights())
    codes = model.encode(X)
    np.testing.assert_allclose(codes, numpy(encoder(X)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.decode(codes), numpy(ops.sigmoid(decoder(codes))), rtol=1e-5, atol=1e-6)
    assert model.reconstruct(X).shape == X.shape and model.sample(3, seed=0).shape == (3, 8, 8, 1)


def test_feature_map_losses_average_over_units_and_the_reconstruction_sums_over_pixels():
    model = make(consistency_loss=["mse", "normalized_mse", "mse"], consistency_weight=[0.5, 2.0, 0.0])
    out = model(X)
    terms = {k: float(numpy(v)) for k, v in model.loss_terms(X, out, 0).items()}
    e1, d1, e2, d2 = (numpy(out[n]) for n in ("e1", "d1", "e2", "d2"))
    mse = np.mean((e1 - d1) ** 2)  # mean over batch, height, width and channels
    # normalized_mse: each channel of the map is a unit, with its variance over the batch and every position,
    # plus the floor: NORMALIZED_MSE_FLOOR times the mean square of both sides over the whole map.
    floor = ladderae.losses.NORMALIZED_MSE_FLOOR * 0.5 * (np.mean(e2**2) + np.mean(d2**2))
    normalized = np.mean(np.mean((e2 - d2) ** 2, axis=(0, 1, 2)) / (e2.var(axis=(0, 1, 2)) + floor))
    logits = numpy(out["x_hat"])
    bce = np.maximum(logits, 0) - logits * X + np.log1p(np.exp(-np.abs(logits)))
    assert terms["pair_e1_d1"] == pytest.approx(mse, rel=1e-5)
    assert terms["pair_e2_d2"] == pytest.approx(normalized, rel=1e-4)
    assert terms["reconstruction"] == pytest.approx(bce.sum(axis=(1, 2, 3)).mean(), rel=1e-5)
    assert terms["consistency"] == pytest.approx(0.5 * mse + 2.0 * normalized, rel=1e-4)


def test_the_gaussian_likelihood_learns_one_scale_per_pixel_and_channel():
    model = ladderae.LadderAE(**(SPEC | {"input_shape": (8, 8, 2), "likelihood": "gaussian", "seed": 0}))
    assert tuple(model.likelihood.log_scale.shape) == (8, 8, 2)
    x = np.random.default_rng(1).normal(size=(16, 8, 8, 2)).astype("float32")
    model.likelihood.log_scale.assign(np.linspace(-0.5, 0.5, 128).reshape(8, 8, 2).astype("float32"))
    out = model(x)
    log_scale, mean = numpy(model.likelihood.log_scale), numpy(out["x_hat"])
    nll = 0.5 * np.log(2 * np.pi) + log_scale + 0.5 * ((x - mean) / np.exp(log_scale)) ** 2
    assert float(numpy(model.loss_terms(x, out, 0)["reconstruction"])) == pytest.approx(
        nll.sum(axis=(1, 2, 3)).mean(), rel=1e-5)


def test_normalized_mse_ignores_a_constant_border_of_a_feature_map():
    """A position that is constant over the data (MNIST's blank border) has no batch variance of its own: the unit is
    the channel, with its variance over the batch and every position, so the blank row cannot blow the loss up."""
    rng = np.random.default_rng(0)
    encoder_side = rng.normal(size=(64, 4, 4, 2)).astype("float32")
    encoder_side[:, 0] = 0.0  # the top row of the map is blank in every example
    decoder_side = encoder_side + rng.normal(scale=0.01, size=encoder_side.shape).astype("float32")
    gap = (encoder_side - decoder_side) ** 2
    # Units per position with a small epsilon (1e-4) instead: the blank row alone gives (0.01^2 / 1e-4) x a quarter.
    assert np.mean(np.mean(gap, axis=0) / (encoder_side.var(axis=0) + 1e-4)) > 0.2
    floor = ladderae.losses.NORMALIZED_MSE_FLOOR * 0.5 * (np.mean(encoder_side**2) + np.mean(decoder_side**2))
    per_channel = np.mean(np.mean(gap, axis=(0, 1, 2)) / (encoder_side.var(axis=(0, 1, 2)) + floor))
    value = float(numpy(ladderae.losses.normalized_mse(encoder_side, decoder_side)))
    assert value == pytest.approx(per_channel, rel=1e-4)
    assert value < 1e-4  # under the squared gap itself (0.01^2): the blank row adds nothing large


# -------------------------------------------------------------- gradients

CONV = GradientTable(  # the checks are tests/_gradient_table.py's, shared with the dense model of test_stop_gradient.py
    build=lambda mode: make(stop_gradient=mode),
    x=X,
    layers=frozenset({"e1", "e2", "e3", "z_mean", "z_log_var", "d3", "d2", "d1", "x_hat"}),
    expected={  # the layers whose variables must get a non-zero gradient from the pair's loss; all others exactly zero
        ("e1", "d1"): {  # Conv2D ~ Conv2DTranspose
            "none": {"e1", "e2", "e3", "z_mean", "z_log_var", "d3", "d2", "d1"},
            "encoder": {"e1", "e2", "e3", "z_mean", "z_log_var", "d3", "d2", "d1"},
            "decoder": {"e1"},
            "local": {"e2", "e3", "z_mean", "z_log_var", "d3", "d2", "d1"},
        },
        ("e2", "d2"): {  # Conv2D ~ Dense reshaped to a feature map
            "none": {"e1", "e2", "e3", "z_mean", "z_log_var", "d3", "d2"},
            "encoder": {"e1", "e2", "e3", "z_mean", "z_log_var", "d3", "d2"},
            "decoder": {"e1", "e2"},
            "local": {"e3", "z_mean", "z_log_var", "d3", "d2"},
        },
    },
)


@pytest.mark.parametrize("pair, mode", CONV.cases())
def test_conv_pair_loss_reaches_exactly_the_promised_layers(pair, mode):
    CONV.check_reach(CONV.build(mode), pair, mode)


@pytest.mark.parametrize("pair", CONV.pairs())
def test_encoder_and_decoder_modes_split_the_full_gradient_of_a_conv_pair(pair):
    CONV.check_split(pair)


# ---------------------------------------------------------------- tied kernels


def expected_x_hat(model, d1):
    """x_hat from d1 through a plain Keras Conv2DTranspose holding e1's current kernel and x_hat's bias."""
    layer = keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same")
    layer.build((None, 4, 4, 3))
    layer.set_weights([numpy(model.node_layers["e1"].kernel), numpy(model.node_layers["x_hat"].bias)])
    return numpy(layer(d1))


def test_tied_conv_decoder_borrows_the_encoder_kernels_and_owns_only_biases():
    tied, untied = make(tied_weights=True), make()
    assert [type(tied.node_layers[n]) for n in ("d2", "d1", "x_hat")] == [
        DenseTransposed, Conv2DTransposed, Conv2DTransposed]
    assert [w.name for w in tied.node_layers["d1"].weights] == ["bias"]
    assert untied.count_params() - tied.count_params() == 3 * 3 * 1 * 3 + 3 * 3 * 3 * 4 + 16 * 5
    out = tied(X)
    np.testing.assert_allclose(numpy(out["x_hat"]), expected_x_hat(tied, out["d1"]), rtol=1e-5, atol=1e-5)


def test_tie_holds_after_training_and_after_saving(tmp_path):
    model = make(tied_weights=True, stop_gradient="local")
    z = np.random.default_rng(2).normal(size=(16, 2)).astype("float32")
    from_decoder = gradients(model, lambda: ops.sum(model.log_px_given_z(X, z)))  # the decoder path alone
    assert np.abs(from_decoder["e1/kernel"]).sum() > 0  # the decoder trains the shared kernel too
    assert not np.abs(from_decoder["z_mean/kernel"]).any() and not np.abs(from_decoder["e1/bias"]).any()
    before = numpy(model.node_layers["e1"].kernel).copy()
    compile_and_fit(model, X)
    assert not np.allclose(numpy(model.node_layers["e1"].kernel), before)
    out = model(X)
    np.testing.assert_allclose(numpy(out["x_hat"]), expected_x_hat(model, out["d1"]), rtol=1e-5, atol=1e-5)

    model.save(tmp_path / "conv.keras")
    restored = keras.saving.load_model(tmp_path / "conv.keras", safe_mode=True)
    assert graph.graphs_equal(restored.graph, model.graph) and restored.get_config() == model.get_config()
    np.testing.assert_array_equal(restored.reconstruct(X), model.reconstruct(X))
    np.testing.assert_array_equal(numpy(restored.node_layers["e1"].kernel), numpy(model.node_layers["e1"].kernel))
    assert [w.name for w in restored.node_layers["x_hat"].weights] == ["bias"]
    kernel = restored.node_layers["e1"].kernel
    kernel.assign(numpy(kernel) * 2.0)  # still one kernel: the decoder output follows the encoder's
    out = restored(X)
    np.testing.assert_allclose(numpy(out["x_hat"]), expected_x_hat(restored, out["d1"]), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_conv2d_transposed_matches_keras_conv2d_transpose(padding):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 5, 4, 3)).astype("float32")
    bias = rng.normal(size=2).astype("float32")
    reference = keras.layers.Conv2DTranspose(2, (3, 2), strides=(2, 1), padding=padding)
    reference.build(x.shape)
    reference.bias.assign(bias)
    expected = np.tanh(numpy(reference(x)))
    layer = Conv2DTransposed(2, (3, 2), strides=(2, 1), padding=padding, activation="tanh")
    layer.build(x.shape)
    layer.bias.assign(bias)
    np.testing.assert_allclose(numpy(layer(x, kernel=reference.kernel)), expected, rtol=1e-5, atol=1e-5)
    assert layer.compute_output_shape(x.shape) == expected.shape
    clone = Conv2DTransposed.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    with pytest.raises(ValueError, match=r"borrowed kernel has shape \(3, 2, 3, 2\), expected \(3, 2, 2, 3\)"):
        layer(x, kernel=np.zeros((3, 2, 3, 2), "float32"))


# ----------------------------------------------------------------- pictures


def test_plots_draw_28x28x1_outputs_and_shapes_in_the_graph(tmp_path):
    model = ladderae.LadderAE(input_shape=(28, 28, 1), conv=[2], encoder=[], latent_dim=2, seed=0)
    x = np.random.default_rng(0).random((4, 28, 28, 1)).astype("float32")
    fig = plots.latent_manifold(model, n=3, path=tmp_path / "manifold.png")
    check_png(fig, tmp_path / "manifold.png")
    assert fig.axes[0].images[0].get_array().shape == (3 * 29 - 1, 3 * 29 - 1)  # 3 x 3 tiles, 1-pixel gutters
    fig = plots.reconstructions(model, x, path=tmp_path / "recon.png")
    check_png(fig, tmp_path / "recon.png")
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (2 * 29 - 1, 4 * 29 - 1)  # inputs above reconstructions: 2 x 4 tiles of 28 x 28
    np.testing.assert_allclose(image[:28, :28], x[0, :, :, 0])  # the first input, drawn as it is
    labels = {t.get_text() for t in plots.pairing_graph(model).axes[0].texts}
    assert {"x\n28x28x1", "e1\n14x14x2", "d1\n14x14x2", "z\n2"} <= labels
