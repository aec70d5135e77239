"""Subprocess side of tests/test_ladder.py's distribution checks: two CPU devices need a fresh process.

    python tests/_ladder_distributed_worker.py OUT   # writes OUT/result.json

On TensorFlow a `tf.distribute.MirroredStrategy` over two logical CPUs, on
JAX a `keras.distribution.DataParallel` over two virtual CPU devices (the
caller starts it with `scaling.child_env`, which sets XLA_FLAGS); the backend
is $KERAS_BACKEND.
"""

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "benchmarks"))
from scaling import data_parallel  # noqa: E402

distribution, description = data_parallel(2)  # before the backend runs anything

import keras  # noqa: E402
import numpy as np  # noqa: E402

import ladderae  # noqa: E402

X = np.random.default_rng(0).random((64, 6)).astype("float32")
Y = (X[:, 0] * 3).astype("int32")


def replicas(model):
    """Replicas of the tf.distribute strategy; on JAX, the devices a weight is laid out on."""
    if keras.backend.backend() == "tensorflow":
        return distribution.num_replicas_in_sync
    return len(model.trainable_variables[0].value.sharding.device_set)


with distribution.scope():
    model = ladderae.LadderNetwork(6, encoder=[5, 4], n_classes=3, seed=0, momentum=0.5)
    model.compile(optimizer="adam")
    labels = Y.copy()
    labels[20:] = -1
    history = model.fit(X, labels, batch_size=16, epochs=2, verbose=0).history
    # Batches in parts (`LadderNodes.forward_parts`): each replica gets its share of both parts and their labels.
    parts = ladderae.SemiSupervisedBatches(X[:20], Y[:20], X, n_classes=3, batch_size=32, labelled_batch_size=20)
    parts_history = model.fit(parts, epochs=1, verbose=0).history
    evaluation = model.evaluate(X, Y, batch_size=16, verbose=0, return_dict=True)
result = {"device": description, "replicas": replicas(model), "history": history, "parts_history": parts_history,
          "evaluate": evaluation,
          "moving_mean": keras.ops.convert_to_numpy(model.node_layers["e1"].moving_mean).tolist()}
pathlib.Path(sys.argv[1], "result.json").write_text(json.dumps(result))
