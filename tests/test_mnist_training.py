"""Real MNIST, a few epochs: the ladder VAE learns digits on both backends (marked slow)."""

import numpy as np
import pytest

from ladderae import datasets
from ladderae.cli import training

UNTRAINED = 784 * np.log(2)  # -log p(x) of a coin per pixel: 543 nats


@pytest.mark.slow
@pytest.mark.parametrize("kwargs", [dict(pairing="none"), dict(stop_gradient="local", consistency_weight=3.0),
                                    dict(tied_weights=True, consistency_loss="normalized_mse")])
def test_ladder_vae_learns_mnist(mnist, kwargs):
    (x_train, y_train), (x_test, y_test) = mnist
    splits = (x_train[:10000], y_train[:10000]), (datasets.binarize(x_test[:2000], seed=0), y_test[:2000])
    model, result = training.train_on_mnist({"encoder": [256, 128], "latent_dim": 16, **kwargs}, splits,
                                            epochs=3, verbose=0)
    history = result["history"]["neg_elbo"]
    assert history[-1] < history[0]
    assert result["test"]["neg_elbo"] < 0.35 * UNTRAINED  # under 190 nats after 30,000 examples
    # The model returned is the one trained and scored: its (analytic, noise-free) test KL is the reported one.
    kl = model.evaluate(splits[1][0], batch_size=1000, verbose=0, return_dict=True)["kl"]
    assert kl == pytest.approx(result["test"]["kl"], rel=1e-5)
