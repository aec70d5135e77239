"""Subprocess side of tests/test_ladder.py's tf.distribute check: two logical CPU devices need a fresh process.

    python tests/_ladder_distributed_worker.py OUT   # writes OUT/result.json
"""

import json
import pathlib
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import ladderae  # noqa: E402

X = np.random.default_rng(0).random((64, 6)).astype("float32")
Y = (X[:, 0] * 3).astype("int32")

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    model = ladderae.LadderNetwork(6, encoder=[5, 4], n_classes=3, seed=0, momentum=0.5)
    model.compile(optimizer="adam")
labels = Y.copy()
labels[20:] = -1
history = model.fit(X, labels, batch_size=16, epochs=2, verbose=0).history
result = {"replicas": strategy.num_replicas_in_sync, "history": history,
          "evaluate": model.evaluate(X, Y, verbose=0, return_dict=True),
          "moving_mean": keras.ops.convert_to_numpy(model.node_layers["e1"].moving_mean).tolist()}
pathlib.Path(sys.argv[1], "result.json").write_text(json.dumps(result))
