"""Layer-matched autoencoders for tables of numeric, categorical and binary columns.

`ColumnLikelihood` is the observation model: one head per column (Gaussian on
standardised numbers, softmax cross-entropy from logits on categories,
Bernoulli on binary columns), each column's negative log-likelihood reported
as ``nll_<column>`` and weighted in the loss by the column's weight.
`TabularLadderAE` is a `LadderAE` over the schema's encoded matrix (same
pairing rules, stop-gradient modes, tied weights and bottleneck) that also
takes and returns DataFrames. `column_report` scores reconstructions per column.
"""

import keras
import numpy as np
import pandas as pd
from keras import ops

from ladderae import evaluation as evaluate
from ladderae.checks import check_positive_int, require_variational
from ladderae.nn.likelihoods import Likelihood
from ladderae.models.autoencoder import LadderAE
from ladderae.data.schema import TabularSchema

__all__ = ["ColumnLikelihood", "TabularLadderAE", "column_report"]


def _schema(schema):
    if isinstance(schema, TabularSchema):
        return schema
    if isinstance(schema, dict) and "columns" in schema:
        return TabularSchema.from_config(schema)
    raise ValueError(
        "`schema` must be a ladderae.TabularSchema (e.g. TabularSchema.from_frame(train_df)). "
        f"Received: {type(schema).__name__}"
    )


@keras.saving.register_keras_serializable(package="ladderae")
class ColumnLikelihood(Likelihood):
    """p(row | z) as a product over the schema's columns, one head per column."""

    def __init__(self, schema, **kwargs):
        super().__init__(**kwargs)
        self.schema = _schema(schema)

    def build(self, input_shape):
        if input_shape[-1] != self.schema.width:
            raise ValueError(
                f"The schema's columns need {self.schema.width} output parameters, got {input_shape[-1]}."
            )
        learned = [c for c in self.schema.columns if getattr(c, "learns_scale", False)]
        # One learned log standard deviation per Gaussian column (standardised units).
        self.log_scale = self.add_weight(shape=(len(learned),), initializer="zeros", name="log_scale") if learned else None
        self._scale_index = {c.name: i for i, c in enumerate(learned)}
        self.built = True

    def _log_scale(self, column):
        i = self._scale_index.get(column.name)
        return None if i is None else self.log_scale[i]

    @property
    def nll_term_names(self):
        return tuple(self.schema.metric_names)

    @property
    def term_weights(self):
        return {m: c.weight for m, c in zip(self.schema.metric_names, self.schema.columns)}

    def nll_terms(self, x, params):
        """Each column's -log p per example (nats; numeric columns in standardised units)."""
        return {
            metric: column.nll(x[:, start:stop], params[:, start:stop], self._log_scale(column))
            for metric, (column, start, stop) in zip(self.schema.metric_names, self.schema.slices)
        }

    def nll(self, x, params):
        terms = list(self.nll_terms(x, params).values())
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return total

    def call(self, params):
        """Encoded-space means: standardised values, category probabilities, binary probabilities."""
        return ops.concatenate(
            [c.mean(params[:, a:b], self._log_scale(c)) for c, a, b in self.schema.slices], axis=-1
        )

    def draw(self, params, rng):
        """A draw of every column from p(x | params), in encoded space (NumPy in, NumPy out)."""
        parts = []
        for column, start, stop in self.schema.slices:
            log_scale = self._log_scale(column)
            log_scale = None if log_scale is None else float(ops.convert_to_numpy(log_scale))
            parts.append(column.draw(params[:, start:stop], rng, log_scale))
        return np.concatenate(parts, axis=1)

    def get_config(self):
        return {**super().get_config(), "schema": self.schema.get_config()}


def _frames_to_arrays(schema, data):
    """`data` with every DataFrame in it (alone or in a tuple) replaced by its encoded matrix."""
    if isinstance(data, pd.DataFrame):
        return schema.transform(data)
    if isinstance(data, tuple):
        return tuple(_frames_to_arrays(schema, d) for d in data)
    return data


@keras.saving.register_keras_serializable(package="ladderae")
class TabularLadderAE(LadderAE):
    """A `LadderAE` for a table described by a `TabularSchema`.

    The encoder sees the schema's columns side by side (standardised numbers,
    one-hot categories, 0/1 binaries); the decoder's output layer feeds one head
    per column. The loss is the negative ELBO summed over columns, each
    column's term multiplied by its weight, plus the KL and consistency terms;
    ``nll_<column>`` metrics report each column. `fit`, `evaluate`, `predict`,
    `encode`, `posterior`, `activations`, `reconstruct` and `transform` take
    DataFrames; `reconstruct_frame` and `sample_frame` return them. Every other argument is `LadderAE`'s.
    """

    def __init__(self, schema, **kwargs):
        given = [k for k in ("input_dim", "input_shape", "likelihood") if k in kwargs]
        if given:
            raise ValueError(
                f"TabularLadderAE takes its input width and likelihood from `schema`; remove {', '.join(given)}."
            )
        likelihood = ColumnLikelihood(schema, name="likelihood")
        super().__init__(likelihood.schema.width, likelihood=likelihood, **kwargs)

    @property
    def schema(self):
        return self.likelihood.schema

    def transform(self, frame):
        """The encoded float32 matrix of `frame` (what the network sees)."""
        return self.schema.transform(frame)

    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        """Keras' `fit`, also taking DataFrames as `x` and in `validation_data`."""
        return super().fit(
            _frames_to_arrays(self.schema, x), y, *args,
            validation_data=_frames_to_arrays(self.schema, validation_data), **kwargs,
        )

    def evaluate(self, x=None, *args, **kwargs):
        """Keras' `evaluate`, also taking a DataFrame."""
        return super().evaluate(_frames_to_arrays(self.schema, x), *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        """Keras' `predict` (every activation by node name), also taking a DataFrame."""
        return super().predict(_frames_to_arrays(self.schema, x), *args, **kwargs)

    def _examples(self, x):
        """encode, posterior, activations and reconstruct take a DataFrame too: its encoded matrix, as `fit` sees it
        (its raw values would be read unstandardised, in the frame's column order)."""
        return super()._examples(_frames_to_arrays(self.schema, x))

    def reconstruct_frame(self, frame, batch_size=1024):
        """`frame` encoded to its posterior mean and decoded: most likely categories, mean numbers, original units."""
        means = self.reconstruct(self.transform(frame), batch_size=batch_size)
        return self.schema.to_frame(means, index=frame.index)

    def sample_frame(self, n, seed=None, draw=True, batch_size=1024):
        """n rows generated from the prior: z ~ N(0, I), then each column drawn from p(x | z).

        With ``draw=False`` each row holds the most likely values given z
        instead (column means and modes), which are less diverse than the data.
        """
        require_variational(self, "sample_frame")
        check_positive_int("n", n)
        rng = np.random.default_rng(seed)
        z = rng.standard_normal((n, self.latent_dim)).astype("float32")
        if not draw:
            return self.schema.to_frame(self.decode(z, batch_size=batch_size))
        params = self._batched(self._decoder_params, z, batch_size)
        return self.schema.to_frame(self.likelihood.draw(params, rng))

    def get_config(self):
        config = super().get_config()
        for key in ("input_shape", "likelihood"):
            config.pop(key)
        return {**config, "schema": self.schema.get_config()}


def column_report(model, frame, seed=0):
    """Per-column reconstruction quality on `frame` and the whole-row negative ELBO.

    Numeric columns: RMSE in the original units; categorical and binary
    columns: accuracy of the most likely value. Reconstructions go through the
    posterior mean. ``neg_elbo``, ``reconstruction`` and ``kl`` are nats per row
    (one posterior sample, `ladderae.evaluate.elbo`), numeric columns scored in
    standardised units.
    """
    recon = model.reconstruct_frame(frame)
    out = {}
    for column in model.schema.columns:
        truth, guess = frame[column.name].to_numpy(), recon[column.name].to_numpy()
        if column.kind == "numeric":
            out[f"rmse_{column.name}"] = float(np.sqrt(np.mean((truth.astype("float64") - guess) ** 2)))
        else:
            out[f"accuracy_{column.name}"] = float(np.mean(truth.astype(object) == guess.astype(object)))
    if model.variational:
        out.update(evaluate.elbo(model, model.transform(frame), seed=seed))
    return out
