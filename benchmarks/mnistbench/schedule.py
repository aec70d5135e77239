"""The IWAE paper's learning-rate stages (Burda et al. 2015) as a Keras learning-rate schedule.

Stage i = 0..S-1 lasts 3^i epochs at ``initial * 10^(-i/7)``: 4 stages are 40
epochs, 5 are 121, 6 are 364, 8 (the paper's budget) are 3,280. The rate is a
function of the optimizer's step, computed with `keras.ops` inside the compiled
step, so it is right under `jit` on every backend, and it follows the step
that `BackupAndRestore` restores with the optimizer: a resumed run continues in
its stage. After the last stage the rate stays at the last stage's.
"""

import keras
from keras import ops


def stage_epochs(stages):
    """Epochs of `stages` stages: 1 + 3 + ... + 3^(stages-1) = (3^stages - 1) / 2."""
    return (3**stages - 1) // 2


@keras.saving.register_keras_serializable(package="mnistbench")
class StagedLearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """``initial * decay^i`` during stage i, stage i being epochs (3^i - 1)/2 .. (3^(i+1) - 1)/2 - 1.

    Parameters
    ----------
    steps_per_epoch : int
        Optimizer steps in one epoch (batches per epoch).
    stages : int
        Number of stages S; training lasts `stage_epochs(S)` epochs.
    initial : float
        Rate of stage 0 (the paper: 1e-3).
    decay : float
        Factor between stages (the paper: 10^(-1/7)).
    """

    def __init__(self, steps_per_epoch, stages, initial=1e-3, decay=10 ** (-1 / 7)):
        for name, value in (("steps_per_epoch", steps_per_epoch), ("stages", stages)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
        for name, value in (("initial", initial), ("decay", decay)):
            if not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"`{name}` must be a positive number. Received: {name}={value!r}")
        self.steps_per_epoch, self.stages, self.initial, self.decay = steps_per_epoch, stages, float(initial), float(decay)
        # First step of stages 1..S-1; the stage is the number of these a step has reached (exact integer compares).
        self.boundaries = [steps_per_epoch * stage_epochs(i) for i in range(1, stages)]

    def __call__(self, step):
        step = ops.cast(step, "int32")
        stage = ops.zeros((), "float32")
        for boundary in self.boundaries:
            stage = stage + ops.cast(step >= boundary, "float32")
        return self.initial * ops.power(ops.cast(self.decay, "float32"), stage)

    def rate(self, stage):
        """The rate of `stage` in Python, for tests and tables."""
        return self.initial * self.decay ** min(stage, self.stages - 1)

    def get_config(self):
        return {"steps_per_epoch": self.steps_per_epoch, "stages": self.stages, "initial": self.initial,
                "decay": self.decay}
