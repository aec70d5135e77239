"""Tables of numeric, categorical and binary columns: schema, per-column loss, frames in and out, bad input."""

import json

import keras
import numpy as np
import pandas as pd
import pytest
from conftest import check_png, gradients, script_on_one_backend

import ladderae
from ladderae.models.tabular import column_report

N = 240


def make_frame(n=N, seed=0):
    """Mixed columns with structure a model can pick up: price follows size, colour follows grade."""
    rng = np.random.default_rng(seed)
    size = rng.gamma(2.0, 1.5, n)
    grade = rng.choice(["low", "mid", "high"], n, p=[0.5, 0.3, 0.2])
    return pd.DataFrame(
        {
            "size": size,
            "price": (100 * size + rng.normal(0, 20, n)).round().astype("int64"),
            "grade": grade,
            "colour": pd.Categorical(
                np.where(grade == "high", "red", rng.choice(["blue", "green"], n)),
                categories=["blue", "green", "red", "violet"],
            ),
            "sold": rng.random(n) < 0.4,
            "flag": rng.integers(0, 2, n),
        }
    )


@pytest.fixture
def frame():
    return make_frame()


@pytest.fixture
def schema(frame):
    return ladderae.TabularSchema.from_frame(frame)


def small_model(schema, **kwargs):
    kwargs.setdefault("encoder", [12, 6])
    kwargs.setdefault("latent_dim", 3)
    kwargs.setdefault("seed", 1)
    return ladderae.TabularLadderAE(schema, **kwargs)


# ----------------------------------------------------------------- schema


def test_kinds_are_inferred_and_widths_add_up(schema):
    kinds = {c.name: c.kind for c in schema.columns}
    assert kinds == {
        "size": "numeric",
        "price": "numeric",
        "grade": "categorical",
        "colour": "categorical",
        "sold": "binary",
        "flag": "binary",
    }
    colour = schema.columns[schema.names.index("colour")]
    assert colour.vocabulary == ["blue", "green", "red", "violet"]  # the dtype's categories, in order
    grade = schema.columns[schema.names.index("grade")]
    assert grade.vocabulary[0] == "low"  # adapt orders by frequency
    assert schema.width == 1 + 1 + (1 + 3) + (1 + 4) + 1 + 1


def test_overrides_select_columns_and_set_weights(frame):
    schema = ladderae.TabularSchema.from_frame(
        frame, columns=["flag", "price"], categorical=["flag"], weights={"price": 2.5}
    )
    assert schema.names == ["flag", "price"]
    flag, price = schema.columns
    assert flag.kind == "categorical" and sorted(flag.vocabulary) == [0, 1]
    assert price.weight == 2.5 and flag.weight == 1.0
    back = schema.to_frame(schema.transform(frame))
    assert (back["flag"] == frame["flag"]).all() and back["flag"].dtype == frame["flag"].dtype


def test_pandas_nullable_dtypes_round_trip(frame):
    nullable = frame.astype({"price": "Int64", "sold": "boolean", "grade": "string"})
    schema = ladderae.TabularSchema.from_frame(nullable)
    assert [c.kind for c in schema.columns][1:5] == ["numeric", "categorical", "categorical", "binary"]
    back = schema.to_frame(schema.transform(nullable))
    assert (back.dtypes == nullable.dtypes).all()
    for name in ["price", "grade", "sold"]:
        assert (back[name] == nullable[name]).all(), name


def test_transform_then_to_frame_gives_back_the_table(frame, schema):
    encoded = schema.transform(frame)
    assert encoded.dtype == np.float32 and encoded.shape == (N, schema.width)
    back = schema.to_frame(encoded, index=frame.index)
    assert list(back.columns) == list(frame.columns)
    assert (back.dtypes == frame.dtypes).all()
    np.testing.assert_allclose(back["size"], frame["size"], rtol=1e-5)
    for name in ["price", "grade", "sold", "flag"]:
        assert (back[name] == frame[name]).all(), name
    assert back["colour"].cat.categories.tolist() == ["blue", "green", "red", "violet"]
    assert (back["colour"] == frame["colour"]).all()


def test_numeric_columns_are_standardised_with_the_training_statistics(frame, schema):
    encoded = schema.transform(frame)
    size = encoded[:, 0]
    assert abs(size.mean()) < 1e-5 and abs(size.std() - 1) < 1e-4
    shifted = schema.transform(frame.assign(size=frame["size"] + 1.0))[:, 0]
    np.testing.assert_allclose(shifted - size, 1.0 / frame["size"].std(ddof=0), rtol=1e-4)


def test_unseen_categories_go_to_the_out_of_vocabulary_slot(frame, schema):
    start = next(a for c, a, b in schema.slices if c.name == "grade")
    encoded = schema.transform(frame.assign(grade=["unheard-of"] * N))
    assert (encoded[:, start] == 1).all() and (encoded[:, start + 1 : start + 4] == 0).all()


def test_schema_config_round_trip(schema):
    again = ladderae.TabularSchema.from_config(schema.get_config())
    assert again.get_config() == schema.get_config()


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda f: f.drop(columns="grade"), "does not have"),
        (lambda f: f.assign(size=np.where(np.arange(N) == 7, np.nan, f["size"])), "missing value.*row 7"),
        (lambda f: f.assign(size=np.where(np.arange(N) == 3, np.inf, f["size"])), "infinite.*row 3"),
        (lambda f: f.assign(sold=["yes"] * N), "sold.*takes the values"),
        (lambda f: f.assign(price=["cheap"] * N), "price.*numeric in the schema"),
        (lambda f: f["size"].to_numpy(), "DataFrame"),
    ],
)
def test_transform_rejects_bad_frames(frame, schema, change, match):
    with pytest.raises(ValueError, match=match):
        schema.transform(change(frame))


@pytest.mark.parametrize(
    "frame_change, kwargs, match",
    [
        (lambda f: f.assign(grade=["only"] * N), {}, "grade.*1 value"),
        (lambda f: f.assign(size=1.0), {}, "size.*constant"),
        (lambda f: f.assign(when=pd.Timestamp("2026-01-01")), {}, "when.*neither numeric nor categorical"),
        (lambda f: f.assign(grade=[None] + ["a"] * (N - 1)), {}, "grade.*missing"),
        (lambda f: f.assign(mixed=["a", 1] * (N // 2)), {}, "mixed.*all strings or all integers"),
        (lambda f: f, {"numeric": ["grade"]}, "grade.*declared numeric"),
        (lambda f: f, {"binary": ["grade"]}, "grade.*3 distinct"),
        (lambda f: f, {"numeric": ["size"], "categorical": ["size"]}, "both numeric and categorical"),
        (lambda f: f, {"weights": {"nope": 2.0}}, "weights.*nope"),
        (lambda f: f, {"weights": {"size": -1.0}}, "weight of column 'size'"),
        (lambda f: f, {"columns": ["size", "absent"]}, "columns.*absent"),
    ],
)
def test_from_frame_rejects_bad_tables(frame, frame_change, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ladderae.TabularSchema.from_frame(frame_change(frame), **kwargs)


def test_tabular_model_rejects_image_arguments(schema):
    with pytest.raises(ValueError, match="from `schema`; remove input_dim, likelihood"):
        ladderae.TabularLadderAE(schema, input_dim=4, likelihood="bernoulli")
    with pytest.raises(ValueError, match="TabularSchema"):
        ladderae.TabularLadderAE({"not": "a schema"})


# ------------------------------------------------------------------- loss


def _log_softmax(v):
    v = v - v.max(axis=1, keepdims=True)
    return v - np.log(np.exp(v).sum(axis=1, keepdims=True))


def hand_loss(model, x, out, beta, weights):
    """The loss from first principles in NumPy: weighted column NLLs + beta * KL + pair MSEs."""
    params = np.asarray(keras.ops.convert_to_numpy(out["x_hat"]), "float64")
    log_scale = np.asarray(keras.ops.convert_to_numpy(model.likelihood.log_scale), "float64")
    nll, k = {}, 0
    for column, a, b in model.schema.slices:
        xs, ps = x[:, a:b].astype("float64"), params[:, a:b]
        if column.kind == "numeric":
            s = log_scale[k]
            k += 1
            nll[column.name] = np.mean(0.5 * np.log(2 * np.pi) + s + 0.5 * ((xs[:, 0] - ps[:, 0]) / np.exp(s)) ** 2)
        elif column.kind == "categorical":
            nll[column.name] = np.mean(-(xs * _log_softmax(ps)).sum(axis=1))
        else:
            p = 1 / (1 + np.exp(-ps[:, 0]))
            nll[column.name] = np.mean(-(xs[:, 0] * np.log(p) + (1 - xs[:, 0]) * np.log(1 - p)))
    mean, log_var = (np.asarray(keras.ops.convert_to_numpy(out[k]), "float64") for k in ("z_mean", "z_log_var"))
    kl = np.mean(0.5 * np.sum(mean**2 + np.exp(log_var) - 1 - log_var, axis=1))
    pairs = {
        (e, d): np.mean((keras.ops.convert_to_numpy(out[e]) - keras.ops.convert_to_numpy(out[d])) ** 2)
        for e, d in model.pairs
    }
    total = sum(weights.get(c, 1.0) * v for c, v in nll.items()) + beta * kl + 0.5 * sum(pairs.values())
    return total, nll, kl


def test_loss_equals_a_hand_computation(frame, schema):
    weights = {"size": 3.0, "grade": 0.5}
    schema = ladderae.TabularSchema.from_frame(frame, weights=weights)
    model = small_model(schema, beta=0.7, consistency_weight=0.5)
    # A learned scale away from 1, so the Gaussian heads' scale is part of the check.
    model.likelihood.log_scale.assign(np.array([0.3, -0.2], "float32"))
    x = model.transform(frame[:64])
    out = model(x, training=True)
    terms = model.loss_terms(x, out, keras.ops.convert_to_tensor(0))
    expected, nll, kl = hand_loss(model, x, out, beta=0.7, weights=weights)
    np.testing.assert_allclose(float(terms["loss"]), expected, rtol=1e-5)
    for name, value in nll.items():
        np.testing.assert_allclose(float(terms[f"nll_{name}"]), value, rtol=1e-5)
    np.testing.assert_allclose(float(terms["reconstruction"]), sum(nll.values()), rtol=1e-5)  # unweighted
    np.testing.assert_allclose(float(terms["neg_elbo"]), sum(nll.values()) + kl, rtol=1e-5)


def test_a_column_weight_scales_exactly_its_own_term(frame):
    def terms(weight):
        keras.utils.set_random_seed(0)
        model = small_model(ladderae.TabularSchema.from_frame(frame, weights={"grade": weight}))
        x = model.transform(frame[:64])
        return model.loss_terms(x, model(x, training=True), keras.ops.convert_to_tensor(0))

    one, four = terms(1.0), terms(4.0)
    np.testing.assert_allclose(float(four["loss"]) - float(one["loss"]), 3 * float(one["nll_grade"]), rtol=1e-4)
    np.testing.assert_allclose(float(four["reconstruction"]), float(one["reconstruction"]), rtol=1e-6)


def test_a_zero_weight_column_sends_no_gradient_to_its_head(frame):
    schema = ladderae.TabularSchema.from_frame(frame, weights={"grade": 0.0})
    model = small_model(schema, variational=False, pairing="none")
    x = model.transform(frame[:64])
    grads = gradients(model, lambda: model.loss_terms(x, model(x, training=True), 0)["loss"])
    _, a, b = next(s for s in schema.slices if s[0].name == "grade")
    kernel = grads["x_hat/kernel"]
    assert np.all(kernel[:, a:b] == 0) and np.all(grads["x_hat/bias"][a:b] == 0)
    others = np.delete(kernel, np.s_[a:b], axis=1)
    assert np.all(np.abs(others).sum(axis=0) > 0)


# ----------------------------------------------------------- training, io


def test_fit_on_a_frame_reports_every_column(frame, schema):
    model = small_model(schema, stop_gradient="local", tied_weights=True)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(frame, epochs=2, batch_size=60, verbose=0, validation_data=(frame[:60],)).history
    for name in schema.names:
        assert len(history[f"nll_{name}"]) == 2 and len(history[f"val_nll_{name}"]) == 2
    columns = sum(np.array(history[f"nll_{name}"]) for name in schema.names)
    np.testing.assert_allclose(columns, history["reconstruction"], rtol=1e-4)
    assert history["loss"][-1] < history["loss"][0]
    results = model.evaluate(frame, verbose=0, return_dict=True)
    assert set(f"nll_{n}" for n in schema.names) <= set(results)
    predicted = model.predict(frame, verbose=0)
    assert predicted["x_hat"].shape == (N, schema.width)


def test_save_and_load_keep_the_preprocessing(tmp_path, frame, schema):
    model = small_model(schema, tied_weights=True)
    model.compile(optimizer="adam")
    model.fit(frame, epochs=1, batch_size=60, verbose=0)
    path = tmp_path / "table.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, ladderae.TabularLadderAE)
    assert loaded.schema.get_config() == schema.get_config()
    unseen = frame.assign(grade=["unheard-of"] + frame["grade"].tolist()[1:])
    np.testing.assert_array_equal(loaded.transform(unseen), model.transform(unseen))
    pd.testing.assert_frame_equal(loaded.reconstruct_frame(frame), model.reconstruct_frame(frame))
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(loaded.likelihood.log_scale), keras.ops.convert_to_numpy(model.likelihood.log_scale)
    )


def test_frames_out_keep_names_types_and_categories(frame, schema):
    model = small_model(schema)
    recon = model.reconstruct_frame(frame)
    assert recon.index.equals(frame.index) and list(recon.columns) == list(frame.columns)
    assert (recon.dtypes == frame.dtypes).all()
    assert recon["colour"].cat.categories.equals(frame["colour"].cat.categories)
    assert set(recon["grade"]) <= {"low", "mid", "high"}
    for draw in (True, False):
        sample = model.sample_frame(50, seed=3, draw=draw)
        assert len(sample) == 50 and (sample.dtypes == frame.dtypes).all()
        assert set(sample["sold"]) <= {False, True} and set(sample["flag"]) <= {0, 1}
    pd.testing.assert_frame_equal(model.sample_frame(20, seed=3), model.sample_frame(20, seed=3))


def test_sample_frame_draws_categories_at_their_modelled_rates(schema):
    model = small_model(schema)
    _, a, b = next(s for s in schema.slices if s[0].name == "grade")
    # Decoder output fixed to logits favouring the second known category 3:1 over each of the others.
    params = np.zeros((4000, schema.width), "float32")
    params[:, a + 2] = np.log(3.0)
    drawn = model.likelihood.draw(params, np.random.default_rng(0))
    counts = drawn[:, a:b].sum(axis=0)
    assert counts[0] == 0  # never the unknown slot
    np.testing.assert_allclose(counts[1:] / 4000, [0.2, 0.6, 0.2], atol=0.03)


def test_column_report_scores_each_column(frame, schema):
    model = small_model(schema)
    report = column_report(model, frame)
    assert set(report) == {
        "rmse_size", "rmse_price", "accuracy_grade", "accuracy_colour", "accuracy_sold", "accuracy_flag",
        "neg_elbo", "reconstruction", "kl",
    }
    recon = model.reconstruct_frame(frame)
    np.testing.assert_allclose(report["rmse_price"], np.sqrt(np.mean((recon["price"] - frame["price"]) ** 2)))
    assert report["accuracy_grade"] == np.mean(recon["grade"].to_numpy() == frame["grade"].to_numpy())


def test_column_distributions_plot(tmp_path, frame, schema):
    model = small_model(schema)
    path = tmp_path / "columns.png"
    fig = ladderae.plots.column_distributions(frame, {"reconstruction": model.reconstruct_frame(frame)}, path=path)
    check_png(fig, path)
    assert [ax.get_title() for ax in fig.axes] == list(frame.columns)
    with pytest.raises(ValueError, match="missing.*grade"):
        ladderae.plots.column_distributions(frame, {"bad": frame.drop(columns="grade")})


@script_on_one_backend
def test_diamonds_example_runs_on_a_slice(tmp_path):
    import runpy

    from conftest import REPO

    example = runpy.run_path(str(REPO / "examples" / "tabular_diamonds.py"))
    argv = ["--rows", "1500", "--epochs", "1", "--consistency-weight", "0.3", "--out", str(tmp_path)]
    results = example["main"](argv)
    assert set(results) == {"plain VAE", "ladderae"}
    for figures in results.values():
        assert {"rmse_price", "accuracy_cut", "accuracy_color", "accuracy_clarity", "neg_elbo"} <= set(figures)
        mean, sd = figures["neg_elbo"]
        assert np.isfinite(mean) and sd == 0.0  # one seed
    assert (tmp_path / "columns.png").exists()
    written = json.loads((tmp_path / "results.json").read_text())  # what it printed is what it wrote
    assert written["rows"] == 1500 and written["mean_sd"] == json.loads(json.dumps(results))


# ------------------------------------------------------- bad or edge tables


@pytest.mark.parametrize(
    "values, extra",
    [
        (lambda rng: rng.normal(50, 10, N).round(2).astype(str), ""),
        (lambda rng: pd.array(rng.integers(0, 500, N).astype(str), dtype="string"), ""),
        (lambda rng: rng.integers(1, 4, N).astype(str), ""),  # few levels: still ambiguous, so asked
        (lambda rng: rng.normal(50, 10, N).astype(object), ""),  # Python floats in an object column
        (lambda rng: np.where(np.arange(N) == 5, "?", rng.normal(50, 10, N).round(1).astype(str)),
         r".*1 value\(s\) are not numbers \(first '\?' at row 5\).*errors='coerce'"),
    ],
    ids=["float-strings", "string-dtype", "few-levels", "object-floats", "with-placeholder"],
)
def test_numbers_stored_as_strings_are_refused_with_the_fix(frame, values, extra):
    table = frame.assign(weight=values(np.random.default_rng(0)))
    with pytest.raises(ValueError, match=rf"Column 'weight' holds numbers stored as .*pd.to_numeric\(df\['weight'\]\).*"
                                         rf"categorical=\['weight'\]{extra}"):
        ladderae.TabularSchema.from_frame(table)


def test_numbers_stored_as_strings_pass_when_declared_and_text_is_not_mistaken(frame):
    codes = np.random.default_rng(0).integers(100, 110, N).astype(str)
    schema = ladderae.TabularSchema.from_frame(frame.assign(zip=codes), categorical=["zip"])
    assert schema.columns[-1].kind == "categorical" and len(schema.columns[-1].vocabulary) == 10
    words = np.where(np.arange(N) % 3 == 0, "12", "twelve")  # a third numbers: text, not a numeric column
    assert ladderae.TabularSchema.from_frame(frame.assign(word=words)).columns[-1].kind == "categorical"


@pytest.mark.parametrize("loc, scale", [(0.0, 1e20), (1e20, 1e18), (1e9, 1.0), (-3e15, 0.5), (0.0, 1e-20)])
def test_numbers_of_any_scale_standardise_and_come_back(loc, scale):
    values = loc + scale * np.random.default_rng(0).normal(size=N)
    schema = ladderae.TabularSchema.from_frame(pd.DataFrame({"x": values, "g": ["a", "b"] * (N // 2)}))
    encoded = schema.transform(pd.DataFrame({"x": values, "g": ["a"] * N}))[:, 0]
    assert abs(encoded.mean()) < 1e-5 and abs(encoded.std() - 1) < 1e-4  # not a constant
    back = schema.to_frame(schema.transform(pd.DataFrame({"x": values, "g": ["a"] * N})))["x"].to_numpy()
    np.testing.assert_allclose((back - loc) / scale, (values - loc) / scale, atol=1e-5)


def test_numbers_too_large_to_standardise_are_refused_with_the_fix():
    values = 1e200 * np.random.default_rng(0).normal(size=N)
    with pytest.raises(ValueError, match=r"Numeric column 'x' is too large to standardise.*Rescale it"):
        ladderae.TabularSchema.from_frame(pd.DataFrame({"x": values}))


@pytest.mark.parametrize(
    "call",
    [
        lambda model, f: ladderae.TabularSchema.from_frame(f.iloc[:0]),
        lambda model, f: model.schema.transform(f.iloc[:0]),
        lambda model, f: model.reconstruct_frame(f.iloc[:0]),
        lambda model, f: model.fit(f.iloc[:0], epochs=1, verbose=0),
        lambda model, f: column_report(model, f.iloc[:0]),
    ],
    ids=["from_frame", "transform", "reconstruct_frame", "fit", "column_report"],
)
def test_frames_without_rows_are_refused_by_name(frame, schema, call):
    with pytest.raises(ValueError, match=r"`frame` has no rows"):
        call(small_model(schema), frame)


@pytest.mark.parametrize("n", [0, -1, 2.5, None])
def test_sample_frame_refuses_n_that_is_not_a_positive_integer(schema, n):
    with pytest.raises(ValueError, match=r"`n` must be a positive integer"):
        small_model(schema).sample_frame(n)
