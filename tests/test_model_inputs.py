"""What LadderAE refuses, and that a refused call costs nothing: checks run before any Keras step."""

import warnings

import keras
import numpy as np
import pytest
from conftest import bits, compile_and_fit, numpy, tiny_model, uniform

import ladderae
from ladderae import likelihoods, losses, pairing, stop_gradient

X = bits((24, 6))


def _with_nan():
    x = X.copy()
    x[3, 2] = np.nan
    return x


REFUSED = {
    "fit_wrong_width": (lambda m: m.fit(uniform((8, 7)), verbose=0), r"expects examples of shape \(6,\)"),
    "fit_wrong_rank": (lambda m: m.fit(uniform((8, 6, 1)), verbose=0), r"examples of shape \(6, 1\)"),
    "fit_with_targets": (lambda m: m.fit(X, X, verbose=0), r"fit\(x\) with no targets"),
    "fit_sample_weight": (lambda m: m.fit(X, sample_weight=np.ones(24), verbose=0), "without sample_weight"),
    "fit_nan": (lambda m: m.fit(_with_nan(), verbose=0), r"`x` holds 1 NaN.*index \(3, 2\)"),
    "fit_uint8": (lambda m: m.fit((X * 255).astype("uint8"), verbose=0), r"values in \[0, 255\].*x / 255"),
    "fit_negative": (lambda m: m.fit(X - 0.5, verbose=0), r"\[-0.5, 0.5\].*likelihood='gaussian'"),
    "fit_bad_validation": (lambda m: m.fit(X, validation_data=uniform((4, 5)), verbose=0), "validation_data"),
    "fit_empty": (lambda m: m.fit(X[:0], verbose=0), "no examples"),
    "evaluate_empty": (lambda m: m.evaluate(X[:0], verbose=0), "no examples"),
    "evaluate_with_targets": (lambda m: m.evaluate(X, X, verbose=0), r"evaluate\(x\) with no targets"),
    "predict_wrong_width": (lambda m: m.predict(uniform((8, 5)), verbose=0), r"examples of shape \(5,\)"),
    "encode_empty": (lambda m: m.encode(X[:0]), "`x` has no examples"),
    "decode_empty": (lambda m: m.decode(np.zeros((0, 2), "float32")), r"latent codes|`z` has no rows"),
    "decode_wrong_width": (lambda m: m.decode(np.zeros((3, 5), "float32")), r"width latent_dim=2.*\(3, 5\)"),
    "reconstruct_empty": (lambda m: m.reconstruct(X[:0]), "`x` has no examples"),
    "activations_wrong_width": (lambda m: m.activations(uniform((3, 4))), r"examples of shape \(4,\)"),
    "posterior_batch_size": (lambda m: m.posterior(X, batch_size=0), "batch_size"),
}


@pytest.mark.parametrize("call", list(REFUSED))
def test_a_refused_call_names_the_fix_and_leaves_the_trained_model_intact(call, tmp_path):
    model = tiny_model()
    compile_and_fit(model, X, epochs=2)
    before = [w.copy() for w in model.get_weights()]
    refused, match = REFUSED[call]
    with pytest.raises(ValueError, match=match):
        refused(model)
    # Nothing was lost: on JAX an error inside a traced step would have emptied every variable.
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)
    assert model.encode(X).shape == (24, 2)
    model.fit(X, batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "after.keras")


def test_a_gaussian_model_takes_real_valued_data():
    model = tiny_model(likelihood="gaussian")
    history = compile_and_fit(model, X - 0.5)
    assert np.isfinite(history.history["loss"]).all()


def test_a_diverging_run_stops_and_saving_it_warns(tmp_path):
    model = tiny_model()
    history = compile_and_fit(model, X, optimizer=keras.optimizers.SGD(learning_rate=1e30), epochs=5)
    assert len(history.history.get("loss", [])) < 5  # TerminateOnNaN ended it: no epochs of NaN
    assert not all(np.isfinite(w).all() for w in model.get_weights())
    with pytest.warns(UserWarning, match="non-finite weights.*training diverged"):
        model.save(tmp_path / "nan.keras")


def test_a_finite_model_saves_without_a_warning(tmp_path):
    model = tiny_model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.save(tmp_path / "fine.keras")
    assert not [w for w in caught if "non-finite" in str(w.message)]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(variational="no"), "`variational` must be True or False. Received: variational='no'"),
        (dict(variational=1), "`variational` must be True or False"),
        (dict(tied_weights="no"), "`tied_weights` must be True or False"),
        (dict(tied_weights=1), "`tied_weights` must be True or False"),
        (dict(tied_weights=[True, "yes"], encoder=[4, 3]), "`tied_weights` must be True or False"),
        (dict(pairing="every", pairing_options={"k": 3}, encoder=[4, 3]), "deeper than the encoder.*k <= 2"),
        (dict(pairing=lambda g: None), "returned None.*\\[\\] for no pairs"),
        (dict(consistency_weight=float("nan")), "consistency_weight"),
        (dict(beta=float("inf")), "beta"),
        (dict(free_bits=float("nan")), "free_bits"),
    ],
)
def test_arguments_of_the_wrong_type_or_value_are_refused_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny_model(**kwargs)


def test_numpy_booleans_are_booleans():
    model = tiny_model(variational=np.bool_(True), tied_weights=np.bool_(True))
    assert model.variational is True and ladderae.graph.ties(model.graph) == [("e1", "x_hat")]


@pytest.mark.parametrize(
    "register, name",
    [
        (ladderae.pairing_rule, "mirror"),
        (losses.pair_loss, "mse"),
        (stop_gradient.modes.register, "local"),
        (likelihoods.likelihoods.register, "bernoulli"),
        (ladderae.pair_kind, "consistency"),
    ],
)
def test_a_taken_name_is_not_replaced_without_override(register, name):
    with pytest.raises(ValueError, match=f"'{name}' is already registered.*override=True"):
        register(name)(lambda *a, **k: None)


def test_override_replaces_a_registered_name_when_asked():
    @pairing.pairing_rule("test_override_me")
    def first(graph):
        return []

    @pairing.pairing_rule("test_override_me", override=True)
    def second(graph):
        return [("e1", "d1")]

    assert tiny_model(pairing="test_override_me").pairs == [("e1", "d1")]


@pytest.mark.parametrize("mode", stop_gradient.modes.names)
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_normalized_mse_trains_in_every_mode_with_dead_units_and_a_batch_of_one(mode, optimizer):
    # Constant columns (like MNIST's blank borders) and 25 rows at batch 8: a last batch of one example.
    x = bits((25, 8), seed=2)
    x[:, :3] = 0.0
    model = tiny_model(8, encoder=[6, 4], consistency_loss="normalized_mse", stop_gradient=mode)
    opt = keras.optimizers.SGD(learning_rate=0.1) if optimizer == "sgd" else keras.optimizers.Adam(0.01)
    history = compile_and_fit(model, x, optimizer=opt, epochs=8)
    assert len(history.history["loss"]) == 8 and np.isfinite(history.history["loss"]).all()
    assert all(np.isfinite(numpy(w)).all() for w in model.weights)
