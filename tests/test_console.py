"""ladderae.console: TensorFlow's C++ log lines are dropped from file descriptor 2, everything else passes, in order."""

import os

from ladderae.console import is_tensorflow_log_line, tensorflow_logs_filtered

NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796224603.079807    4641 port.cc:153] oneDNN custom operations are on.",
    "E0000 00:00:1796224930.596908   10245 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR (303)",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the appropriate "
    "compiler flags.",
    "2025-09-17 14:44:05.157831: I external/local_xla/xla/tsl/cuda/cudart_stub.cc:32] Could not find cuda drivers",
]
KEPT = ["UserWarning: a warning", "Traceback (most recent call last):", "I0000 is not a log line without the rest"]


def test_log_lines_are_told_from_other_lines():
    assert all(is_tensorflow_log_line(line) for line in NOISE)
    assert not any(is_tensorflow_log_line(line) for line in KEPT)


def test_the_filter_drops_log_lines_written_to_the_descriptor_and_keeps_the_rest(capfd):
    with tensorflow_logs_filtered():
        for line in [KEPT[0], *NOISE, KEPT[1], KEPT[2]]:
            os.write(2, (line + "\n").encode())
    os.write(2, (NOISE[1] + "\n").encode())  # after the block: passed as it is
    assert capfd.readouterr().err.splitlines() == [KEPT[0], KEPT[1], KEPT[2], NOISE[1]]
