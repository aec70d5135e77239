"""Every public entry point refuses what `fit` refuses, by name, before any work: the evaluation functions and
`sample` as much as Keras' loops (a call refused inside a JAX step would cost the trained weights)."""

import numpy as np
import pytest

import ladderae
from ladderae import evaluate, evaluate_hierarchy

GOOD = (np.random.default_rng(0).random((16, 6)) < 0.5).astype("float32")
BAD = {  # class of bad input -> (x, what the error says)
    "grey levels under a Bernoulli likelihood": (GOOD * 255, "bernoulli"),
    "a NaN": (np.where(np.eye(16, 6) > 0, np.nan, GOOD), "NaN"),
    "the wrong width": (GOOD[:, :5], "shape"),
    "no rows": (GOOD[:0], "no examples"),
}
ONE_LATENT = ladderae.LadderAE(6, encoder=[4], latent_dim=2, seed=0)
HIERARCHY = ladderae.LadderAE(6, encoder=[5, 4], latent_dim=[3, 2], pair_kind="stochastic", seed=0)
ENTRY_POINTS = {
    "fit": lambda m, x: m.fit(x, epochs=1, verbose=0),
    "evaluate": lambda m, x: m.evaluate(x, verbose=0),
    "predict": lambda m, x: m.predict(x, verbose=0),
    "evaluate.elbo": lambda m, x: evaluate.elbo(m, x),
    "evaluate.iwae_nll": lambda m, x: evaluate.iwae_nll(m, x, k=2, verbose=0),
    "evaluate.active_units": lambda m, x: evaluate.active_units(m, x),
    "evaluate.pair_residuals": lambda m, x: evaluate.pair_residuals(m, x),
    "evaluate_hierarchy.iwae_nll": lambda m, x: evaluate_hierarchy.iwae_nll(m, x, k=2, verbose=0),
    "evaluate_hierarchy.elbo": lambda m, x: evaluate_hierarchy.elbo(m, x),
}
ONE_LATENT.compile(optimizer="adam")
HIERARCHY.compile(optimizer="adam")


@pytest.mark.parametrize("bad", sorted(BAD))
@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_every_entry_point_refuses_each_class_of_bad_examples_by_name(entry, bad):
    model = HIERARCHY if entry.startswith("evaluate_hierarchy") else ONE_LATENT
    weights = [w.copy() for w in model.get_weights()]
    x, says = BAD[bad]
    with pytest.raises(ValueError, match=f"(?i){says}") as refused:
        ENTRY_POINTS[entry](model, x)
    assert "`x`" in str(refused.value)  # the argument at fault, by name
    for kept, weight in zip(weights, model.get_weights()):  # a refused call never costs the trained model
        np.testing.assert_array_equal(kept, weight)


@pytest.mark.parametrize("model", [ONE_LATENT, HIERARCHY], ids=["one latent", "hierarchy"])
@pytest.mark.parametrize("n", [-1, 0, 2.5, "3", True])
def test_sample_refuses_a_count_that_is_not_a_positive_integer_by_name(model, n):
    with pytest.raises(ValueError, match="`n` must be a positive integer"):
        model.sample(n)
