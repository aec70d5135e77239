"""Keep the console to what ladderae and Keras print: TensorFlow's C++ log lines are filtered out.

TensorFlow (and the XLA runtime under JAX) logs from C++ straight to file
descriptor 2: oneDNN notices, "Could not find cuda drivers", cuInit errors and
CPU-instruction hints, each on import or when a device starts. Since
TensorFlow moved to absl logging, ``TF_CPP_MIN_LOG_LEVEL`` no longer silences
them. `tensorflow_logs_filtered` routes file descriptor 2 through a pipe for
as long as it is active and passes on every line except those log lines
(absl's ``I0000 00:00:...] ...`` format and TensorFlow's older
``2025-01-01 12:00:00.000000: I ...`` one), so Python warnings and tracebacks
still show, in order, as they happen.

>>> lines = ["I0000 00:00:1796224603.079807    4641 port.cc:153] oneDNN custom operations are on.",
...          "UserWarning: something a user should see"]
>>> [line for line in lines if not is_tensorflow_log_line(line)]
['UserWarning: something a user should see']
"""

import contextlib
import os
import re
import sys
import threading

__all__ = ["tensorflow_logs_filtered", "is_tensorflow_log_line", "import_keras_quietly"]

_LOG_LINE = re.compile(
    r"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w./-]+:\d+\] "  # absl: I0000 00:00:1796224603.079807 4641 a.cc:1]
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] "  # TensorFlow's own format before absl
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|To enable the following instructions: .* rebuild TensorFlow)"
)


def is_tensorflow_log_line(line):
    """True for a line that TensorFlow's or XLA's C++ logging wrote."""
    return bool(_LOG_LINE.match(line))


@contextlib.contextmanager
def tensorflow_logs_filtered():
    """Within the block, file descriptor 2 passes on every line but TensorFlow's C++ log lines.

    Does nothing where stderr has no file descriptor (some notebook kernels).
    """
    try:
        original = os.dup(2)
    except OSError:
        yield
        return
    read_end, write_end = os.pipe()
    out = os.fdopen(original, "wb", buffering=0, closefd=False)

    def pump():
        with os.fdopen(read_end, "rb") as pipe:
            for raw in pipe:
                if not is_tensorflow_log_line(raw.decode("utf-8", "replace")):
                    out.write(raw)

    reader = threading.Thread(target=pump, name="tensorflow-log-filter", daemon=True)
    reader.start()
    sys.stderr.flush()
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(original, 2)  # closes the pipe's last write end held by this process: the reader sees its end
        reader.join(timeout=2)  # a child process still holding the pipe must not hang the caller
        if not reader.is_alive():
            os.close(original)


def import_keras_quietly():
    """Import Keras (and so TensorFlow, on its backend) with TensorFlow's start-up log lines filtered out."""
    with tensorflow_logs_filtered():
        import keras  # noqa: F401
