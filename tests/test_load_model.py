"""ladderae.load_model: a damaged .keras file is called damaged, and a fresh process loads a saved LadderAE."""

import io
import os
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import ladderae
from conftest import REPO, script_on_one_backend


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model = ladderae.LadderAE(12, encoder=[8], latent_dim=2, seed=0)
    path = tmp_path_factory.mktemp("saved") / "model.keras"
    model.save(path)
    return model, path


def test_load_model_gives_back_the_model(saved):
    model, path = saved
    restored = ladderae.load_model(path)
    assert type(restored) is ladderae.LadderAE
    x = np.random.default_rng(0).random((5, 12)).astype("float32")
    np.testing.assert_array_equal(restored.reconstruct(x), model.reconstruct(x))


def _without(member):
    def damage(data):
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as copy:
            for info in source.infolist():
                if info.filename != member:
                    copy.writestr(info, source.read(info))
        return out.getvalue()
    return damage


def _flip_a_weight_byte(data):
    """One byte changed in the middle of model.weights.h5's stored bytes: the zip index is intact, the CRC is not."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo("model.weights.h5")
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26: info.header_offset + 30])
    at = info.header_offset + 30 + name_length + extra_length + info.compress_size // 2
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]


DAMAGES = {
    "empty": (lambda data: b"", "it is empty"),
    "truncated": (lambda data: data[: len(data) // 2], "truncated"),
    "not-a-zip": (lambda data: b"hello, I am text\n" * 20, "not a zip archive"),
    "no-config": (_without("config.json"), "lacks config.json"),
    "no-weights": (_without("model.weights.h5"), "lacks model.weights.h5"),
    "bad-checksum": (_flip_a_weight_byte, "model.weights.h5 fails its checksum"),
}


@pytest.mark.parametrize("damage, what", list(DAMAGES.values()), ids=list(DAMAGES))
def test_a_damaged_file_is_called_damaged(saved, tmp_path, damage, what):
    path = tmp_path / "model.keras"
    path.write_bytes(damage(saved[1].read_bytes()))
    with pytest.raises(ValueError, match=rf"model file '.*model\.keras' is damaged: .*{what}.*Save the model again"):
        ladderae.load_model(path)


def test_a_missing_file_is_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="No model file at .*absent.keras"):
        ladderae.load_model(tmp_path / "absent.keras")


FRESH_PROCESS = """
import sys, keras
try:
    keras.saving.load_model(sys.argv[1])
    print("plain keras: loaded")
except TypeError as error:
    print("plain keras:", "Could not locate class 'LadderAE'" in str(error))
from ladderae import load_model
print("ladderae.load_model:", type(load_model(sys.argv[1])).__name__)
print("then plain keras:", type(keras.saving.load_model(sys.argv[1])).__name__)
"""


@script_on_one_backend
def test_a_process_that_never_imported_ladderae_loads_through_ladderae_load_model(saved):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS, str(saved[1])], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    # Keras imports a saved class's module only for its own packages, so plain keras needs `import ladderae` first.
    assert done.stdout.splitlines()[-3:] == [
        "plain keras: True", "ladderae.load_model: LadderAE", "then plain keras: LadderAE"]
