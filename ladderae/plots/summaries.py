"""TensorBoard for a LadderAE: every loss term per epoch (Keras' callback) and pictures every few epochs.

>>> callbacks = tensorboard_callbacks("runs/tb", x_test[:10], every=5)   # doctest: +SKIP
>>> model.fit(x, epochs=20, callbacks=callbacks)                        # doctest: +SKIP

Keras' `TensorBoard` callback writes the epoch value of every metric the model
reports (``loss``, ``reconstruction``, ``kl``, ``neg_elbo``, ``pair_*``, their
``val_`` twins) under ``train/`` and ``validation/``. `ImageSummaries` adds,
under ``images/``, the figures of `ladderae.plots` as images: inputs over their
reconstructions and, for a variational model, prior samples. Both write through
``tf.summary``, so TensorFlow must be installed (it is, as Keras' data
back end) with the ``tensorboard`` package, whatever Keras' backend.
"""

import numpy as np

import keras

from ladderae.plots import figures as plots

__all__ = ["ImageSummaries", "tensorboard_callbacks"]


def _pixels(figure):
    """A drawn matplotlib figure as a (1, height, width, 4) uint8 batch, the layout tf.summary.image takes."""
    figure.canvas.draw()
    return np.asarray(figure.canvas.buffer_rgba())[None]


class ImageSummaries(keras.callbacks.Callback):
    """Every `every` epochs and after the last one, write reconstructions of `x` and prior samples to TensorBoard.

    Parameters
    ----------
    log_dir : str or path-like
        The run's TensorBoard folder; images go to its ``images/`` subfolder.
    x : array
        A few examples in the model's input shape (10 make one row).
    every : int
        Epochs between pictures.
    """

    def __init__(self, log_dir, x, every=5):
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"`every` must be a positive integer. Received: every={every!r}")
        self.log_dir, self.x, self.every = str(log_dir), np.asarray(x), every

    def on_train_begin(self, logs=None):
        import tensorflow as tf

        self._tf = tf
        self._writer = tf.summary.create_file_writer(f"{self.log_dir}/images")
        self._epochs = self.params.get("epochs")

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every and epoch + 1 != self._epochs:
            return
        with self._writer.as_default():
            figure = plots.reconstructions(self.model, self.x, n=len(self.x))
            self._tf.summary.image("reconstructions", _pixels(figure), step=epoch)
            if getattr(self.model, "variational", False):
                self._tf.summary.image("samples", _pixels(plots.samples(self.model, n=36, seed=0)), step=epoch)
        self._writer.flush()

    def on_train_end(self, logs=None):
        self._writer.close()


def tensorboard_callbacks(log_dir, x_images=None, every=5):
    """Keras' TensorBoard callback for the loss terms, plus `ImageSummaries` of `x_images` when given.

    Raises a ValueError with the fix when the ``tensorboard`` package (which
    ``tf.summary`` writes through, and which TensorFlow no longer installs) is missing.
    """
    try:
        import tensorboard  # noqa: F401
    except ImportError as err:
        raise ValueError("`log_dir`: TensorBoard summaries need the tensorboard package: "
                         "pip install tensorboard (or ladderae[dev]).") from err
    callbacks = [keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False)]
    if x_images is not None:
        callbacks.append(ImageSummaries(log_dir, x_images, every=every))
    return callbacks
