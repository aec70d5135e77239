"""The plots: each writes a PNG of its figure's size and returns the Figure; the content rules hold."""

import sys

import numpy as np
import pytest
from conftest import check_png, tiny_model, uniform

import ladderae
from ladderae import graph, plots

X = uniform((12, 784))
LABELS = np.arange(12) % 3
MODES = ["local", "encoder"]


@pytest.fixture(scope="module")
def model2():
    """latent_dim=2; two pairs with different modes and weights, the first one tied."""
    return ladderae.LadderAE(
        784, encoder=[16, 8], latent_dim=2, stop_gradient=MODES, tied_weights=[True, False],
        consistency_weight=[1.0, ladderae.LinearWarmup(10)], seed=0,
    )


@pytest.fixture(scope="module")
def model3():
    """latent_dim=3 with a 2-D input shape: images drawn in that shape, scatter through PCA."""
    return ladderae.LadderAE(input_shape=(28, 28), encoder=[16], latent_dim=3, seed=0)


def test_reconstructions(model2, model3, tmp_path):
    path = tmp_path / "new" / "folder" / "reconstructions.png"  # parent folders are created
    check_png(plots.reconstructions(model2, X, n=5, path=path), path)
    fig = plots.reconstructions(model3, X.reshape(-1, 28, 28), n=3)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["input", "reconstruction"]


def test_samples(model2, tmp_path):
    path = tmp_path / "samples.png"
    fig = plots.samples(model2, n=10, seed=1, path=path)
    check_png(fig, path)
    assert fig.axes[0].images[0].get_array().shape == (3 * 29 - 1, 4 * 29 - 1)  # 4 x 3 tiles, 1-pixel gutters


def test_latent_manifold(model2, model3, tmp_path):
    path = tmp_path / "manifold.png"
    fig = plots.latent_manifold(model2, n=5, path=path)
    check_png(fig, path)
    ax = fig.axes[0]
    z = [float(t.get_text()) for t in ax.get_xticklabels()]
    assert z == sorted(z) and z[2] == 0 and z[0] == -z[-1] == pytest.approx(-1.64, abs=0.01)
    assert [float(t.get_text()) for t in ax.get_yticklabels()] == z[::-1]  # z2 grows upwards
    with pytest.raises(ValueError, match="latent_dim=3.*latent_scatter"):
        plots.latent_manifold(model3)


@pytest.mark.parametrize("which, axis_labels", [("model2", ("z1", "z2")), ("model3", ("PC1", "PC2"))])
def test_latent_scatter(which, axis_labels, request, tmp_path):
    model = request.getfixturevalue(which)
    path = tmp_path / "scatter.png"
    x = X.reshape(-1, *model.graph.graph["input_shape"])
    fig = plots.latent_scatter(model, x, LABELS, path=path)
    check_png(fig, path)
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith(axis_labels[0]) and ax.get_ylabel().startswith(axis_labels[1])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1", "2"]
    with pytest.raises(ValueError, match="one label per example"):
        plots.latent_scatter(model, x, LABELS[:-1])


def test_latent_scatter_with_many_labels_uses_a_colorbar(model2):
    fig = plots.latent_scatter(model2, X, np.arange(12))
    assert len(fig.axes) == 2 and fig.axes[0].get_legend() is None


def test_history(tmp_path):
    logs = {
        "loss": [3.0, 2.0, 1.5], "reconstruction": [2.5, 1.8, 1.2], "kl": [0.5, 0.4, 0.3], "beta": [1.0] * 3,
        "neg_elbo": [3.0, 2.2, 1.5], "consistency": [1.0, 0.5, 0.2], "pair_e1_d1": [0.6, 0.3, 0.1],
        "pair_e2_d2": [0.4, 0.2, 0.1], "val_loss": [3.2, 2.4, 1.9], "val_pair_e1_d1": [0.7, 0.4, 0.2],
    }
    path = tmp_path / "history.png"
    fig = plots.history(logs, path=path)
    check_png(fig, path)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["loss", "reconstruction", "kl", "neg_elbo", "consistency", "pair terms (unweighted)", "beta"]
    assert all(ax.get_xlabel() == "epoch" for ax in fig.axes)
    pair_panel = fig.axes[5]
    assert {line.get_label(): line.get_linestyle() for line in pair_panel.lines} == {
        "pair_e1_d1": "-", "val_pair_e1_d1": "--", "pair_e2_d2": "-"
    }
    assert [line.get_linestyle() for line in fig.axes[0].lines] == ["-", "--"]

    class History:  # what model.fit returns: the dict is its `.history`
        history = {"loss": [1.0, 0.5]}

    assert len(plots.history(History()).axes) == 1
    with pytest.raises(ValueError, match="non-empty dict"):
        plots.history({})


def pair_labels(fig):
    return [t.get_text() for t in fig.axes[0].texts if "w=" in t.get_text()]


def test_pairing_graph(model2, tmp_path):
    path = tmp_path / "graph.png"
    fig = plots.pairing_graph(model2, path=path)
    check_png(fig, path)
    labels = pair_labels(fig)
    assert labels == ["consistency\nw=1 · local · tied", "consistency\nw=LinearWarmup · encoder"]
    for mode in MODES:
        assert sum(mode in label for label in labels) == 1
    assert fig.axes[0].get_title() == "pairing graph: 2 pairs, 1 tie"
    node_labels = {t.get_text() for t in fig.axes[0].texts} - set(labels)
    assert node_labels == {"x\n784", "e1\n16", "e2\n8", "z\n2", "d2\n8", "d1\n16", "x_hat\n784"}
    if "matplotlib.pyplot" in sys.modules:  # networkx imports pyplot; no pyplot figure may be left open
        assert not sys.modules["matplotlib.pyplot"].get_fignums()


def test_pairing_graph_of_a_bare_graph_without_pairs():
    fig = plots.pairing_graph(graph.build_graph((10,), [6, 4, 4], 2))
    assert pair_labels(fig) == [] and fig.axes[0].get_title() == "pairing graph: 0 pairs"


def test_plain_autoencoder_with_non_square_examples(tmp_path):
    """10 values per example: no square side, so image_shape is needed; no prior, so the manifold needs an extent."""
    plain = tiny_model(10, variational=False)
    x = X[:3, :10]
    with pytest.raises(ValueError, match="10 values is not a square number.*image_shape"):
        plots.reconstructions(plain, x)
    with pytest.raises(ValueError, match="height \\* width = 10"):
        plots.reconstructions(plain, x, image_shape=(3, 3))
    fig = plots.reconstructions(plain, x, image_shape=(2, 5))
    assert fig.axes[0].images[0].get_array().shape == (2 * 3 - 1, 3 * 6 - 1)

    with pytest.raises(ValueError, match="variational=False.*extent"):
        plots.latent_manifold(plain, n=3, image_shape=(2, 5))
    path = tmp_path / "manifold.png"
    fig = plots.latent_manifold(plain, n=3, extent=(-1, 1, 0, 4), image_shape=(2, 5), path=path)
    check_png(fig, path)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["4", "2", "0"]


def test_pairing_graph_of_a_ladder_network_shows_lateral_pairs_and_the_noise(tmp_path):
    net = ladderae.LadderNetwork(12, encoder=[6, 4], n_classes=3, noise_std=[0.3, 0.2, 0.1, 0.0])
    fig = plots.pairing_graph(net, path=tmp_path / "ladder.png")
    check_png(fig, tmp_path / "ladder.png")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert sum(t.startswith("lateral\n") for t in texts) == 4  # x~x_hat, e1~d1, e2~d2, z~z_hat
    assert {"x\n12\nnoise 0.3", "e1\n6\nnoise 0.2", "e2\n4\nnoise 0.1", "z\n3", "y\n3", "z_hat\n3"} <= set(texts)
