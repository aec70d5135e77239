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
WARMUP_EPOCHS = 2  # the KL warm-up of a row with ``"warmup": True`` (the main and hierarchical tables' rows)


def warmup_epochs(warmup):
    """A row's KL warm-up in epochs: its ``"warmup"`` setting, True for `WARMUP_EPOCHS` or a number of epochs (the
    LVAE paper's rows: 200); 0 for none."""
    if warmup is True:
        return WARMUP_EPOCHS
    if warmup is False or warmup is None:
        return 0
    if not isinstance(warmup, int) or warmup < 1:
        raise ValueError(f"A row's `warmup` is True or a positive number of epochs. Received: warmup={warmup!r}")
    return warmup


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
# The same one latent trained as the LVAE is (batch norm, the same KL warm-up): the LVAE differs from it by its
# hierarchy alone (1,379,456 trainable parameters, batch norm's included, against 1,375,160), and from MATCHED by the
# hierarchy, batch norm and warm-up together. At the LVAE's size, not `wide`'s, so that its size is not a difference.
MATCHED_AS_LVAE = "ladderae, no pairs, 616-308, batch norm + KL warm-up (the LVAE's training)"


def hierarchy_rows():
    """The hierarchical table's rows on the `wide` preset, whose sizes the ladderae rows' own `encoder` and
    `latent_dim` replace: the plain VAE, ladderae wide, one latent at the LVAE's size, the same trained with the
    LVAE's batch norm and warm-up, and the LVAE."""
    return [
        Row(BASELINE, kind="baseline"),
        Row(NO_PAIRS, kwargs={"pairing": "none"}),
        Row(MATCHED, kwargs={"pairing": "none", "encoder": MATCHED_ENCODER}),
        Row(MATCHED_AS_LVAE, kwargs={"pairing": "none", "encoder": MATCHED_ENCODER,
                                     **{k: LVAE_KWARGS[k] for k in ("batch_norm", "warmup")}}),
        Row(LVAE, kwargs=dict(LVAE_KWARGS)),
    ]


# The Ladder VAE paper's MNIST comparison as its code runs it (github.com/casperkaae/LVAE at 066858a: run_models.py,
# and README.md's two commands, which differ only in `-modeltype VAE` / `ladderVAE`). Its deterministic blocks:
# `-mlp_layers 2` Dense layers of each `-hidden_sizes` width between stochastic layers (`mlp`, run_models.py
# 491-495), before the first latent and the top one too (521, 527); so an `encoder` of each width twice, with the
# stochastic pairs at every second depth (e2, e4, e6, e8; the top z reads e10). The paper's net (512-256-128-64-32,
# latents 64-32-16-8-4); the README's command shows 3 of its layers with the same flags.
LVAE_PAPER_BLOCKS = [512, 256, 128, 64, 32]
LVAE_PAPER_MLP_LAYERS = 2
LVAE_PAPER_KWARGS = {
    "encoder": [width for width in LVAE_PAPER_BLOCKS for _ in range(LVAE_PAPER_MLP_LAYERS)],
    "latent_dim": [64, 32, 16, 8, 4],
    "pairing": "every", "pairing_options": {"k": LVAE_PAPER_MLP_LAYERS},
    "batch_norm": True,  # `-batch_norm True` (run_models.py 471-488; not on the output layer: 546, 611)
    "activation": "leaky_relu_0.01",  # `-nonlin_enc/-nonlin_dec leaky_rectify`: Lasagne's slope (Keras' is 0.2)
    "warmup": 200,  # `-temp_start 0.00 -temp_epochs 200`: the KL weight from 0 to 1 over 200 epochs (972, 1001)
}
LVAE_PAPER_BOTTOM_UP = "hierarchical VAE, bottom-up"  # `-modeltype VAE`: q(z1 | x) q(z2 | z1) ... (506-531)
LVAE_PAPER_LADDER = "Ladder VAE"  # `-modeltype ladderVAE`: the precision-weighted merge (551-597)
LVAE_PAPER_EPOCHS = 2000  # `-num_epochs 2000`
LVAE_PAPER_BATCH = 256  # `-batch_size 256`
# The training step (run_models.py 731-737): `-lr 0.00020`; Adam (0.9, 0.999, eps 1e-4); the gradients' global norm
# capped at 4, then each element clipped to +-0.9 (`ClippedAdam` in clipping.py).
LVAE_PAPER_STEP = {"learning_rate": 2e-4, "adam_epsilon": 1e-4, "clip_global_norm": 4.0, "clip_value": 0.9}


def lvae_paper_rows():
    """The LVAE paper's two MNIST rows: the same generative model with bottom-up inference and with the Ladder VAE's
    (the sizes of the `wide` preset replaced by the rows' own)."""
    return [Row(LVAE_PAPER_BOTTOM_UP, kwargs={**LVAE_PAPER_KWARGS, "pair_kind": "bottom_up"}),
            Row(LVAE_PAPER_LADDER, kwargs={**LVAE_PAPER_KWARGS, "pair_kind": "stochastic"})]


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
    clip_global_norm: Optional[float] = None  # the gradients' global norm capped at this, then...
    clip_value: Optional[float] = None  # ...each element clipped to +-this (`clipping.ClippedAdam`; None: no clipping)
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
