"""The settings tree: defaults, the TOML file in the user's config folder, validation.

The CLI, the GUI and the engine all read one `Settings`. An unknown key or a bad value is a
`SettingsError` naming the key and the file.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

import platformdirs
import tomli_w

from kpopcam.files import reason_of, write_text_atomic
from kpopcam.types import EMOTIONS

APP = "kpopcam"


class SettingsError(ValueError):
    """A settings file or override that cannot be used; the message names key and file."""


@dataclass
class DetectorSettings:
    kind: str = "mtcnn"  # mtcnn | haar
    min_face_px: int = 20  # smallest face to look for, in frame pixels
    scale: float = 1.0  # frame is resized by this before detection (speed for reach)

    def validate(self) -> None:
        _check(self.kind in ("mtcnn", "haar"), "kind", "must be 'mtcnn' or 'haar'")
        _check(self.min_face_px >= 12, "min_face_px", "must be at least 12")
        _check(0 < self.scale <= 1, "scale", "must be in (0, 1]")


@dataclass
class LiveSettings:
    """The live engine trades reach for speed; photos (enrol, analyze) use [detector]."""

    detect_scale: float = 0.5  # frames are halved before detection: about 4x faster
    min_face_px: int = 40  # smallest face followed live, in frame pixels
    background_detection: bool = True  # detect in a thread of its own, follow faces between
    background_recognition: bool = True  # recognise faces in a thread of its own
    detect_every: int = 2  # without background detection: detect on every n-th frame
    pyramid_factor: float = 0.709  # MTCNN's scale step; 0.6 is faster, reaches a little less
    identity_refresh_s: float = 2.0  # a followed face is recognised again this often
    flip: bool = False  # mirror-averaged embeddings: twice the cost for half a point

    def validate(self) -> None:
        _check(0 < self.detect_scale <= 1, "detect_scale", "must be in (0, 1]")
        _check(self.min_face_px >= 12, "min_face_px", "must be at least 12")
        _check(self.detect_every >= 1, "detect_every", "must be at least 1")
        _check(0.5 <= self.pyramid_factor <= 0.8, "pyramid_factor", "must be in [0.5, 0.8]")
        _check(self.identity_refresh_s > 0, "identity_refresh_s", "must be positive")


@dataclass
class IdentitySettings:
    # dlib-onnx (dlib's ResNet in onnxruntime, the default) | casia-webface (FaceNet-CASIA) |
    # dlib (the same network in dlib-bin: kpopcam[dlib]; holds the GIL) | vggface2 (downloads
    # once; needs kpopcam[train]). A gallery made with another is embedded again on open.
    weights: str = "dlib-onnx"
    # Cosine similarity below which a face is "unknown"; 0 means the embedder's own calibrated
    # value (IDENTITY_THRESHOLDS), which is what the gallery then uses: match_threshold.
    threshold: float = 0.0
    flip: bool = True  # average each face's embedding with its mirror image's
    # How far the best star must lead the second best for a face to be named (a look-alike
    # between two enrolled stars stays unknown); -1 means the embedder's own (IDENTITY_MARGINS),
    # 0 none.
    margin: float = -1.0

    @property
    def match_threshold(self) -> float:
        return self.threshold or IDENTITY_THRESHOLDS[self.weights]

    @property
    def match_margin(self) -> float:
        return IDENTITY_MARGINS[self.weights] if self.margin < 0 else self.margin

    def validate(self) -> None:
        _check(
            self.weights in IDENTITY_THRESHOLDS,
            "weights", f"must be one of {', '.join(map(repr, IDENTITY_THRESHOLDS))}",
        )
        _check(-1 <= self.threshold <= 1, "threshold", "must be in [-1, 1] (0: automatic)")
        _check(self.margin == -1 or 0 <= self.margin <= 1, "margin",
               "must be in [0, 1] (-1: automatic)")


# Each embedder's own threshold, on its unit vectors. dlib's cosines are all high (two different
# people about 0.8-0.93), and live frames sit lower than photos: on real footage
# (training/identity_footage.py) a star enrolled from one photo scores 0.94-0.99 in her clips
# (0.91 while her face is 50 px), strangers at most 0.93; 0.935 names her and none of them (dlib's
# usual distance 0.6 is about cosine 0.91 here). On photo sets a non-enrolled member of the
# same group passes it (training/RESULTS.md): enrol every member. FaceNet's 0.75: RESULTS.md.
# Each embedder's own line, from real footage (training/RESULTS.md, "Real clips"): on the dev
# clips CASIA at 0.65 named 99.6 % of the stars' faces and none of 970 strangers.
IDENTITY_THRESHOLDS = {"dlib": 0.935, "dlib-onnx": 0.935, "casia-webface": 0.65, "vggface2": 0.75}
# Best-vs-second star margins (training/RESULTS.md, "A margin between the best and the second
# best star"): on BLACKPINK photos CASIA's 0.04 cuts members named as another from 4.5 % to
# 1.3 % (a member not enrolled taken for one who is: 79 % to 37 %), the real clips unchanged;
# dlib's cosines are compressed: its 0.0075 cuts 2.3 % to 0.7 % (97 % to 34 %) and still names
# 91.6 % of enrolled members right (CASIA 85.4 %); 0 where none was measured.
IDENTITY_MARGINS = {"dlib": 0.0075, "dlib-onnx": 0.0075, "casia-webface": 0.04, "vggface2": 0.0}


@dataclass
class EmotionSettings:
    weights: str = ""  # a weight file; empty means the shipped weights/emotion.pt
    smoothing: float = 0.4  # weight of the newest frame in the per-track average

    def validate(self) -> None:
        _check(0 < self.smoothing <= 1, "smoothing", "must be in (0, 1]")


@dataclass
class TriggerSettings:
    star: str = ""  # the star to watch; empty: any enrolled star
    emotion: str = "happy"
    min_score: float = 0.55  # smoothed probability of the emotion that counts as showing it
    hold_s: float = 0.4  # how long it must be shown before a capture
    cooldown_s: float = 1.0  # no new capture of the same star for this long
    max_per_minute: int = 6

    def validate(self) -> None:
        _check(self.emotion in EMOTIONS, "emotion", f"must be one of {', '.join(EMOTIONS)}")
        _check(0 < self.min_score <= 1, "min_score", "must be in (0, 1]")
        _check(self.hold_s >= 0, "hold_s", "must not be negative")
        _check(self.cooldown_s >= 0, "cooldown_s", "must not be negative")
        _check(self.max_per_minute >= 1, "max_per_minute", "must be at least 1")


@dataclass
class PortraitSettings:
    strength: float = 3.0  # blur radius, percent of the picture's shorter side (0: no blur)
    lens: str = "disc"  # disc (a real aperture's round bokeh) | gaussian (softer)

    def validate(self) -> None:
        _check(0 <= self.strength <= 25, "strength", "must be in [0, 25]")
        _check(self.lens in ("gaussian", "disc"), "lens", "must be 'gaussian' or 'disc'")


@dataclass
class CaptureSettings:
    folder: str = ""  # empty: <Pictures>/kpopcam

    def validate(self) -> None:
        pass

    @property
    def path(self) -> Path:
        if self.folder:
            return Path(self.folder).expanduser()
        return Path(platformdirs.user_pictures_dir()) / APP


@dataclass
class Settings:
    detector: DetectorSettings = field(default_factory=DetectorSettings)
    live: LiveSettings = field(default_factory=LiveSettings)
    identity: IdentitySettings = field(default_factory=IdentitySettings)
    emotion: EmotionSettings = field(default_factory=EmotionSettings)
    trigger: TriggerSettings = field(default_factory=TriggerSettings)
    portrait: PortraitSettings = field(default_factory=PortraitSettings)
    capture: CaptureSettings = field(default_factory=CaptureSettings)

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        """Defaults overlaid with the TOML file (a missing file means all defaults)."""
        path = Path(path) if path else default_path()
        if not path.exists():
            return cls()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise SettingsError(f"{path}: cannot be read: {reason_of(exc)}") from exc
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"{path}: cannot be read as TOML: {exc}") from exc
        return cls().updated(_from_older_format(data, str(path)), source=str(path))

    def updated(self, data: dict[str, Any], source: str = "overrides") -> Settings:
        """A copy with the nested `data` applied and validated."""
        sections = {}
        for section_name, values in data.items():
            section = getattr(self, section_name, None)
            if not dataclasses.is_dataclass(section):
                raise SettingsError(f"{source}: unknown section [{section_name}]")
            if not isinstance(values, dict):
                raise SettingsError(f"{source}: [{section_name}] must be a table")
            sections[section_name] = _updated_section(section, values, section_name, source)
        result = dataclasses.replace(self, **sections)
        for name in sections:
            try:
                getattr(result, name).validate()
            except _Invalid as bad:
                raise SettingsError(f"{source}: {name}.{bad.key} {bad.reason}") from None
        return result

    def with_overrides(self, assignments: list[str]) -> Settings:
        """Apply 'section.key=value' strings from the command line (value parsed as TOML,
        bare words as strings)."""
        data: dict[str, dict[str, Any]] = {}
        for text in assignments:
            key, sep, raw = text.partition("=")
            section, dot, name = key.strip().partition(".")
            if not sep or not dot:
                raise SettingsError(f"--set {text!r}: expected section.key=value")
            data.setdefault(section, {})[name] = _parse_value(raw.strip())
        return self.updated(data, source="--set")

    def save(self, path: Path | None = None) -> Path:
        """Write the settings that differ from the defaults to the TOML file atomically: what
        the fan left alone follows the app's defaults when they improve."""
        path = Path(path) if path else default_path()
        chosen = {"format": FILE_FORMAT}
        for name, values in dataclasses.asdict(self).items():
            defaults = dataclasses.asdict(getattr(Settings(), name))
            changed = {k: v for k, v in values.items() if v != defaults[k]}
            if changed:
                chosen[name] = changed
        write_text_atomic(path, tomli_w.dumps(chosen))
        return path


# 2: a file holds only what differs from the defaults. Format 1 (no "format" key) held every
# setting, so a default of its day reads as the fan's choice.
FILE_FORMAT = 2
# Defaults of format 1 that have since changed, dropped from such a file so the new default
# applies: FaceNet-CASIA was the face recogniser until dlib's (issue 11).
FORMAT_1_DEFAULTS = {("identity", "weights"): "casia-webface"}


def _from_older_format(data: dict[str, Any], source: str) -> dict[str, Any]:
    data = dict(data)
    version = data.pop("format", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        raise SettingsError(f"{source}: format must be a whole number, got {version!r}")
    if version >= FILE_FORMAT:
        return data
    for (section, key), old_default in FORMAT_1_DEFAULTS.items():
        values = data.get(section)
        if isinstance(values, dict) and values.get(key) == old_default:
            data[section] = {k: v for k, v in values.items() if k != key}
    return data


def default_path() -> Path:
    if env := os.environ.get("KPOPCAM_CONFIG"):
        return Path(env)
    return Path(platformdirs.user_config_dir(APP)) / "settings.toml"


def data_dir() -> Path:
    """Where the star gallery and other app data live (KPOPCAM_DATA overrides)."""
    if env := os.environ.get("KPOPCAM_DATA"):
        return Path(env)
    return Path(platformdirs.user_data_dir(APP))


class _Invalid(Exception):
    def __init__(self, key: str, reason: str):
        self.key, self.reason = key, reason


def _check(ok: bool, key: str, reason: str) -> None:
    if not ok:
        raise _Invalid(key, reason)


def _updated_section(section, values: dict, section_name: str, source: str):
    hints = get_type_hints(type(section))
    changes = {}
    for key, value in values.items():
        if key not in hints:
            raise SettingsError(f"{source}: unknown key {section_name}.{key}")
        changes[key] = _coerce(value, hints[key], f"{section_name}.{key}", source)
    return dataclasses.replace(section, **changes)


def _coerce(value: Any, kind: type, key: str, source: str) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is str and isinstance(value, str):
        return value
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    raise SettingsError(f"{source}: {key} must be {kind.__name__}, got {value!r}")


def _parse_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw
