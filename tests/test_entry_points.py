"""Every public entry point refuses what `fit` refuses, by name, before any work: the evaluation functions and
`sample` as much as Keras' loops (a call refused inside a JAX step would cost the trained weights); the methods that
read examples (encode, posterior, activations, reconstruct) refuse what no model can read; every other argument is
checked by name, nothing is read by truthiness or replaced by a default."""

import numpy as np
import pandas as pd
import pytest

import ladderae
from ladderae import evaluate, evaluate_hierarchy

GOOD = (np.random.default_rng(0).random((16, 6)) < 0.5).astype("float32")
BAD = {  # class of bad input -> (x, what the error says)
    "grey levels under a Bernoulli likelihood": (GOOD * 255, "bernoulli"),
    "a NaN": (np.where(np.eye(16, 6) > 0, np.nan, GOOD), "NaN"),
    "the wrong width": (GOOD[:, :5], "shape"),
    "no rows": (GOOD[:0], "no examples"),
    "text": (np.full((16, 6), "1"), "numeric"),
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


READERS = {  # the methods that read examples without scoring them: values outside the likelihood's support pass
    "encode": lambda m, x: m.encode(x),
    "posterior": lambda m, x: m.posterior(x),
    "activations": lambda m, x: m.activations(x),
    "reconstruct": lambda m, x: m.reconstruct(x),
}


@pytest.mark.parametrize("bad", sorted(set(BAD) - {"grey levels under a Bernoulli likelihood"}))
@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("model", [ONE_LATENT, HIERARCHY], ids=["one latent", "hierarchy"])
def test_the_methods_that_read_examples_refuse_each_class_of_bad_examples_by_name(model, reader, bad):
    x, says = BAD[bad]
    with pytest.raises(ValueError, match=f"(?i){says}") as refused:
        READERS[reader](model, x)
    assert "`x`" in str(refused.value)
    READERS[reader](model, GOOD * 255)  # encodable: only fit and the scores need values the likelihood can score


@pytest.mark.parametrize("model", [ONE_LATENT, HIERARCHY], ids=["one latent", "hierarchy"])
@pytest.mark.parametrize("sample", ["no", 1, None])
@pytest.mark.parametrize("method", ["encode", "reconstruct", "activations"])
def test_the_sample_flag_is_true_or_false_never_read_by_truthiness(model, method, sample):
    with pytest.raises(ValueError, match="`sample` must be True or False"):
        getattr(model, method)(GOOD, sample=sample)


@pytest.mark.parametrize("model", [ONE_LATENT, HIERARCHY], ids=["one latent", "hierarchy"])
def test_sample_takes_a_numpy_integer_count(model):
    assert len(model.sample(np.int64(3), seed=0)) == 3


def test_fit_refuses_a_batch_size_of_zero_rather_than_training_at_32():
    weights = [w.copy() for w in ONE_LATENT.get_weights()]
    with pytest.raises(ValueError, match="`batch_size` must be a positive integer"):
        ONE_LATENT.fit(GOOD, batch_size=0, epochs=1, verbose=0)  # a seeded model batches arrays itself
    for kept, weight in zip(weights, ONE_LATENT.get_weights()):
        np.testing.assert_array_equal(kept, weight)


CODES = np.random.default_rng(1).normal(size=(20, 3))
LABELS = np.arange(20) % 2
ARGUMENTS = {  # call -> the argument its error names
    "evaluate.iwae_nll, seed None": (lambda: evaluate.iwae_nll(ONE_LATENT, GOOD, k=2, seed=None, verbose=0), "seed"),
    "evaluate.iwae_nll, seed -1": (lambda: evaluate.iwae_nll(ONE_LATENT, GOOD, k=2, seed=-1, verbose=0), "seed"),
    "evaluate.elbo, seed 'a'": (lambda: evaluate.elbo(ONE_LATENT, GOOD, seed="a"), "seed"),
    "evaluate_hierarchy.iwae_nll, seed None": (
        lambda: evaluate_hierarchy.iwae_nll(HIERARCHY, GOOD, k=2, seed=None, verbose=0), "seed"),
    "evaluate_hierarchy.elbo, seed -1": (lambda: evaluate_hierarchy.elbo(HIERARCHY, GOOD, seed=-1), "seed"),
    "evaluate.active_units, threshold -1": (lambda: evaluate.active_units(ONE_LATENT, GOOD, threshold=-1),
                                            "threshold"),
    "evaluate_hierarchy.active_units, threshold 'a'": (
        lambda: evaluate_hierarchy.active_units(HIERARCHY, GOOD, threshold="a"), "threshold"),
    "evaluate.linear_probe, steps 0": (lambda: evaluate.linear_probe(CODES, LABELS, CODES, LABELS, steps=0),
                                       "steps"),
    "evaluate.linear_probe, l2 -1": (lambda: evaluate.linear_probe(CODES, LABELS, CODES, LABELS, l2=-1.0), "l2"),
    "evaluate.report, y_test alone": (lambda: evaluate.report(ONE_LATENT, GOOD, LABELS[:16], k=2, verbose=0),
                                      "x_train, y_train"),
}


@pytest.mark.parametrize("call", sorted(ARGUMENTS))
def test_the_evaluation_functions_check_every_argument_by_name(call):
    run, named = ARGUMENTS[call]
    with pytest.raises(ValueError, match=named):
        run()


def test_a_tabular_model_encodes_a_data_frame_as_fit_reads_it():
    frame = pd.DataFrame({"size": np.linspace(1.0, 400.0, 12), "sold": np.arange(12) % 2 == 0})
    model = ladderae.TabularLadderAE(ladderae.TabularSchema.from_frame(frame), encoder=[4], latent_dim=2, seed=0)
    np.testing.assert_array_equal(model.encode(frame), model.encode(model.transform(frame)))
    np.testing.assert_array_equal(model.reconstruct(frame), model.reconstruct(model.transform(frame)))
    assert not np.allclose(model.encode(frame), model.encode(frame.to_numpy(dtype="float32")))  # raw: unscaled
