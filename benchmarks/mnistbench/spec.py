"""What a benchmark run is: presets, pair modes, the rows of the table and one run's settings.

A `Row` names a model configuration once (its kind, its LadderAE arguments and
the pair mode whose validated weight it takes); a `RunSpec` is one row trained
with one seed on one backend at one budget. A saved run is resumed only when
its spec equals the planned one, so every field that changes a result is here,
and fields added later default to the behaviour of the runs saved before them.
"""

import dataclasses
import math
from typing import Optional

# Layer sizes only: the input shape comes from the loaded data (flat for dense presets, with a channel axis for conv).
PRESETS = {
    "wide": {"encoder": [512, 256], "latent_dim": 32, "activation": "relu"},
    # The IWAE paper's one-stochastic-layer net (Burda et al. 2015): 784-200-200-50, tanh.
    "iwae": {"encoder": [200, 200], "latent_dim": 50, "activation": "tanh"},
    # The keras.io convolutional VAE (3x3 kernels, stride 2, "same") at half its filters, so that one epoch costs
    # about what a wide epoch costs, with the wide latent size: 28x28x1 -> 14x14x16 -> 7x7x32 -> 256 -> 32.
    "conv": {"conv": [16, 32], "encoder": [256], "latent_dim": 32, "activation": "relu"},
}

# Pair modes with the consistency loss the README recommends for each.
MODES = {
    "none": {"stop_gradient": "none", "consistency_loss": "normalized_mse"},
    "encoder": {"stop_gradient": "encoder", "consistency_loss": "mse"},
    "decoder": {"stop_gradient": "decoder", "consistency_loss": "normalized_mse"},
    "local": {"stop_gradient": "local", "consistency_loss": "mse"},
}
BASELINE = "plain VAE (Keras, baseline)"
NO_PAIRS = "ladderae, no pairs"
WARMUP_EPOCHS = 2  # KL warm-up length of the warm-up rows


def example_shape(preset, image_shape):
    """One example's shape for `preset`, from the data's image shape: flat for dense nets, (h, w, channels) for conv."""
    if not PRESETS[preset].get("conv"):
        return (math.prod(image_shape),)
    return tuple(image_shape) if len(image_shape) == 3 else (*image_shape, 1)


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of a results table: a baseline or a LadderAE configuration."""

    name: str
    kind: str = "ladderae"  # or "baseline": the independent Keras VAE of baseline_vae.py
    kwargs: Optional[dict] = None  # LadderAE arguments besides the preset's sizes
    weight_from: Optional[str] = None  # the pair mode whose validated weight this row takes

    def model_kwargs(self, weights):
        """The row's LadderAE arguments with its pair weight filled in from `weights` (mode -> weight)."""
        if self.kwargs is None:
            return None
        if self.weight_from is None:
            return dict(self.kwargs)
        return {**self.kwargs, "consistency_weight": weights[self.weight_from]}


def mirror(mode, **extra):
    return Row(f"mirror, {mode}", kwargs={**MODES[mode], **extra}, weight_from=mode)


def table_rows(best_mode):
    """The main table's rows, in order; `best_mode` is the pair mode the validation sweep chose."""
    best = MODES[best_mode]
    return [
        Row(BASELINE, kind="baseline"),
        Row(NO_PAIRS, kwargs={"pairing": "none"}),
        *(mirror(mode) for mode in MODES),
        Row("tied, no pair loss", kwargs={"tied_weights": True, "consistency_weight": 0.0}),
        Row(f"tied + mirror, {best_mode}", kwargs={"tied_weights": True, **best}, weight_from=best_mode),
        Row("no pairs + KL warm-up", kwargs={"pairing": "none", "warmup": True}),
        Row(f"mirror, {best_mode} + KL warm-up", kwargs={**best, "warmup": True}, weight_from=best_mode),
    ]


# Sønderby et al. 2016's MNIST Ladder VAE: deterministic 512-256-128-64-32, a latent at each depth, batch norm, warm-up.
LVAE = "Ladder VAE, 5 latent layers"
LVAE_KWARGS = {"encoder": [512, 256, 128, 64, 32], "latent_dim": [64, 32, 16, 8, 4], "pair_kind": "stochastic",
               "batch_norm": True, "warmup": True}
# One latent of the wide width with about the LVAE's trainable parameters (1,377,608 against 1,375,160).
MATCHED = "ladderae, no pairs, 616-308 (the LVAE's parameters)"
MATCHED_ENCODER = [616, 308]


def hierarchy_rows():
    """The hierarchical table's rows on the `wide` preset, whose sizes the ladderae rows' own `encoder` and
    `latent_dim` replace: the plain VAE, ladderae wide, one latent at the LVAE's size, and the LVAE."""
    return [
        Row(BASELINE, kind="baseline"),
        Row(NO_PAIRS, kwargs={"pairing": "none"}),
        Row(MATCHED, kwargs={"pairing": "none", "encoder": MATCHED_ENCODER}),
        Row(LVAE, kwargs=dict(LVAE_KWARGS)),
    ]


IWAE_TRAINING_K = 50  # Burda et al.'s IWAE row trains with k=50


def iwae_row(k):
    """The IWAE objective with `k` samples per example and no pairs."""
    return Row(f"IWAE k={k}, no pairs", kwargs={"pairing": "none", "objective": "iwae", "k": k})


def protocol_rows(best_mode):
    """The IWAE-paper protocol's rows: the baseline, no pairs, the best pair row and the IWAE-objective rows."""
    iwae = {"objective": "iwae", "k": IWAE_TRAINING_K}
    return [
        Row(BASELINE, kind="baseline"),
        Row(NO_PAIRS, kwargs={"pairing": "none"}),
        mirror(best_mode),
        iwae_row(IWAE_TRAINING_K),
        Row(f"IWAE k={IWAE_TRAINING_K} + mirror, {best_mode}", kwargs={**MODES[best_mode], **iwae},
            weight_from=best_mode),
    ]


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One training run and how it is scored; its JSON form is the `spec` of the run's saved result."""

    preset: str
    row: str
    kind: str
    kwargs: Optional[dict]
    backend: str
    seed: int
    epochs: int
    batch_size: int
    learning_rate: float  # the constant rate, or the first stage's rate when `stages` is set
    train_size: int
    test_size: int
    probe_size: int
    iwae_k: int
    iwae_images: int
    data_dir: Optional[str]
    validation: bool = False  # train on all but the last VALIDATION_SIZE training digits and score on those
    speed_only: bool = False
    plots: bool = True
    stages: Optional[int] = None  # the IWAE paper's learning-rate stages (schedule.StagedLearningRate)
    adam_epsilon: Optional[float] = None  # None: Keras' default
    steps_per_execution: int = 1  # training steps per compiled call (the same steps, fewer Python round trips)
    run_eagerly: bool = False  # --quick: tiny runs whose cost would be mostly tracing and compiling

    def to_json(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, saved):
        """A spec from a saved run; runs saved before a field existed get its default (and `out` is dropped)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in saved.items() if k in names})

    @property
    def label(self):
        return f"{self.preset} | {self.row} | {self.backend} | seed {self.seed}"


VALIDATION_SIZE = 10_000  # the sweep validates on the last 10,000 training digits


def slug(*parts):
    """A file-name-safe run id from its parts."""
    text = "_".join(str(p) for p in parts).lower()
    return "".join(c if c.isalnum() else "-" for c in text).strip("-")
