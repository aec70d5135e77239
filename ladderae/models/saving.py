"""`load_model`: Keras' `load_model` for ladderae models, with a clear word for a damaged file.

Keras answers an empty, truncated or non-zip ``.keras`` file with "File not
found" although the file is there, and a corrupted member with an h5py or
JSON error; `load_model` checks the archive first and says the file is
damaged. It also imports ladderae by being called, which plain
``keras.saving.load_model`` needs: Keras imports a saved class's module only
for its own packages (keras, keras_hub, ...), so in a process that never ran
``import ladderae`` it stops at "Could not locate class 'LadderAE'".
"""

import os
import zipfile

import keras

__all__ = ["load_model", "check_archive"]

# What `model.save` writes into a .keras archive (Keras 3's format): these two, and the weights.
_MEMBERS = ("config.json", "metadata.json")
_WEIGHTS = "model.weights."  # .h5 or .npz


def _damaged(path, what):
    return ValueError(
        f"The model file {str(path)!r} is damaged: {what}. Save the model again, or copy the file again if it was "
        "transferred (an interrupted copy or download truncates it)."
    )


def check_archive(path):
    """`path` as a str if it is a readable `.keras` archive, else an error that says what is wrong with it.

    FileNotFoundError if nothing is there; ValueError naming the damage for an
    empty file, a file that is not a zip (or a truncated one: its index is at
    the end), a member missing, or a member whose bytes fail their checksum.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No model file at {path!r}.")
    if os.path.isdir(path):
        return path  # Keras' unzipped directory format: Keras checks it
    if os.path.getsize(path) == 0:
        raise _damaged(path, "it is empty (0 bytes)")
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            zip_header = f.read(4) == b"PK\x03\x04"
        raise _damaged(path, "it is truncated (its zip index is missing)" if zip_header
                       else "it is not a zip archive, which a .keras file is")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            missing = [m for m in _MEMBERS if m not in names]
            if not any(n.startswith(_WEIGHTS) for n in names):
                missing.append(f"{_WEIGHTS}h5")
            if missing:
                raise _damaged(path, f"the archive lacks {', '.join(missing)}")
            bad = archive.testzip()
    except zipfile.BadZipFile as error:
        raise _damaged(path, f"its zip structure is broken ({error})") from error
    if bad is not None:
        raise _damaged(path, f"{bad} fails its checksum")
    return path


def load_model(path, custom_objects=None, compile=True, safe_mode=True):
    """A model saved with ``model.save(path)``, after checking that the file is whole.

    Same arguments and result as ``keras.saving.load_model``; works in a
    process that has not imported ladderae before (calling this imports it).
    """
    return keras.saving.load_model(check_archive(path), custom_objects=custom_objects, compile=compile,
                                   safe_mode=safe_mode)
