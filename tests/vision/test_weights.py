"""Weight files: a missing or damaged file is a clear error that says what to do."""

from __future__ import annotations

import pytest

from kpopcam.vision.weights import WeightsError, load_model, load_state_dict


def test_missing_weights_name_the_fix():
    with pytest.raises(WeightsError) as caught:
        load_model("no_such_model")
    message = str(caught.value)
    assert "no_such_model.pt" in message and "KPOPCAM_WEIGHTS" in message
    assert "training/" in message


def test_a_file_that_is_not_a_weight_file_is_refused(tmp_path):
    junk = tmp_path / "emotion.pt"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(WeightsError, match="cannot be loaded"):
        load_state_dict(junk)
    with pytest.raises(WeightsError, match="is missing"):
        load_state_dict(tmp_path / "gone.pt")
