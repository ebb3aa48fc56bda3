from pathlib import Path

import pytest

from kpopcam.settings import IDENTITY_THRESHOLDS, Settings, SettingsError


def test_missing_file_gives_defaults(tmp_path):
    settings = Settings.load(tmp_path / "absent.toml")
    assert settings == Settings()
    assert settings.trigger.emotion == "happy"


def test_file_values_override_defaults_and_survive_a_save(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text('[trigger]\nstar = "리사"\nemotion = "surprise"\nhold_s = 1\n', "utf-8")
    settings = Settings.load(path)
    assert (settings.trigger.star, settings.trigger.emotion) == ("리사", "surprise")
    assert settings.trigger.hold_s == 1.0 and isinstance(settings.trigger.hold_s, float)

    saved = settings.with_overrides(["detector.min_face_px=40"]).save(tmp_path / "again.toml")
    again = Settings.load(saved)
    assert again.trigger.star == "리사" and again.detector.min_face_px == 40


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("[detector]\nmin_face = 30\n", "detector.min_face"),
        ("[lens]\nsize = 3\n", "[lens]"),
        ('[trigger]\nemotion = "joy"\n', "trigger.emotion"),
        ('[detector]\nscale = "half"\n', "detector.scale"),
        ("[detector]\nscale = 2.0\n", "detector.scale"),
        ("[trigger\n", "TOML"),
        ('format = "two"\n', "format"),
    ],
)
def test_bad_file_names_the_key_and_the_file(tmp_path, text, names):
    path = tmp_path / "settings.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(SettingsError) as caught:
        Settings.load(path)
    assert names in str(caught.value) and str(path) in str(caught.value)


def test_command_line_overrides_parse_values():
    settings = Settings().with_overrides(
        ["detector.scale=0.5", "identity.flip=false", "trigger.star=Lisa"]
    )
    assert settings.detector.scale == 0.5
    assert settings.identity.flip is False
    assert settings.trigger.star == "Lisa"
    with pytest.raises(SettingsError, match="section.key=value"):
        Settings().with_overrides(["scale=0.5"])


def test_capture_folder_defaults_under_pictures_and_expands_home():
    assert Settings().capture.path.name == "kpopcam"
    custom = Settings().with_overrides(['capture.folder="~/caps"']).capture.path
    assert custom == Path("~/caps").expanduser()


def test_identity_threshold_zero_means_the_embedders_own():
    default = Settings()
    assert default.identity.weights == "dlib-onnx"
    assert default.identity.match_threshold == IDENTITY_THRESHOLDS["dlib-onnx"] == 0.935
    facenet = default.with_overrides(["identity.weights=casia-webface"])
    assert facenet.identity.match_threshold == IDENTITY_THRESHOLDS["casia-webface"] == 0.65
    mine = default.with_overrides(["identity.threshold=0.9"])
    assert mine.identity.match_threshold == 0.9
    with pytest.raises(SettingsError, match="identity.weights must be one of"):
        default.with_overrides(["identity.weights=arcface"])


def test_a_file_holds_only_the_fans_choices_so_improved_defaults_reach_them(tmp_path):
    path = Settings().updated({"trigger": {"star": "Lisa"}}).save(tmp_path / "settings.toml")
    assert path.read_text("utf-8") == 'format = 2\n\n[trigger]\nstar = "Lisa"\n'
    assert Settings.load(path) == Settings().updated({"trigger": {"star": "Lisa"}})


def test_an_older_file_that_held_every_setting_moves_to_the_new_face_recogniser(tmp_path):
    old = tmp_path / "old.toml"  # format 1 wrote every setting, its day's defaults included
    old.write_text('[identity]\nweights = "casia-webface"\nthreshold = 0.0\n'
                   '[trigger]\nstar = "Lisa"\n', "utf-8")
    settings = Settings.load(old)
    assert settings.identity.weights == "dlib-onnx" and settings.trigger.star == "Lisa"

    chosen = Settings().updated({"identity": {"weights": "casia-webface"}}).save(
        tmp_path / "chosen.toml")  # a fan who picks FaceNet now keeps it
    assert Settings.load(chosen).identity.weights == "casia-webface"
    old.write_text('[identity]\nweights = "dlib"\n', "utf-8")
    assert Settings.load(old).identity.weights == "dlib"
