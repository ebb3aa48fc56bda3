"""CaptureRule: when a capture fires, step by step in stream time."""

from __future__ import annotations

import numpy as np

from kpopcam.live.tracker import Track
from kpopcam.live.trigger import GATHER_S, Candidate, CaptureRule, Trigger
from kpopcam.types import EMOTIONS, Face, StarMatch

HAPPY = np.eye(len(EMOTIONS))[EMOTIONS.index("happy")]
NEUTRAL = np.eye(len(EMOTIONS))[EMOTIONS.index("neutral")]


def track(star: str | None, emotion: np.ndarray, track_id: int = 1) -> Track:
    t = Track(track_id, Face((0, 0, 100, 100), 0.99), 0, 0)
    t.votes = [StarMatch(star, 0.8)] * 3
    t.emotion = emotion
    return t


def feed(rule: CaptureRule, timeline) -> list[float]:
    """timeline: (time, [tracks]); returns the times at which the rule fired."""
    trigger = Trigger(rule)
    return [now for now, tracks in timeline for _ in trigger.update(tracks, now)]


def test_fires_once_per_moment_after_the_hold_and_a_second_of_gathering():
    rule = CaptureRule(star="Lisa", hold_s=0.5, cooldown_s=0)
    lisa = track("Lisa", HAPPY)
    times = feed(rule, [(t / 10, [lisa]) for t in range(0, 30)])
    assert times == [0.5 + GATHER_S]


def test_a_moment_that_ends_while_gathering_fires_as_it_ends():
    rule = CaptureRule(star="Lisa", hold_s=0.5, cooldown_s=0)
    happy, neutral = track("Lisa", HAPPY), track("Lisa", NEUTRAL)
    assert feed(rule, [(t / 10, [happy if t < 8 else neutral]) for t in range(20)]) == [0.8]


def test_a_laugh_that_wavers_under_the_line_is_still_one_moment():
    """Once held, the moment lasts while the score stays within RELEASE of the line."""
    rule = CaptureRule(star="Lisa", min_score=0.6, hold_s=0.5, cooldown_s=0)
    wavering = [track("Lisa", HAPPY * p) for p in (0.7, 0.5, 0.65, 0.5, 0.8, 0.5, 0.7, 0.5)]
    assert feed(rule, [(t / 10, [wavering[t % 8]]) for t in range(30)]) == [0.5 + GATHER_S]
    assert feed(rule, [(t / 10, [track("Lisa", HAPPY * 0.5)]) for t in range(30)]) == []


def test_a_new_moment_fires_again_after_the_cooldown():
    happy, neutral = track("Lisa", HAPPY), track("Lisa", NEUTRAL)
    timeline = [(t / 10, [happy if (t // 10) % 2 == 0 else neutral]) for t in range(0, 60)]
    # happy at 0-0.9 s, 2-2.9 s and 4-4.9 s: three moments, each captured as it ends
    rule = CaptureRule(star="Lisa", hold_s=0.2, cooldown_s=1.0)
    assert feed(rule, timeline) == [1.0, 3.0, 5.0]
    rule = CaptureRule(star="Lisa", hold_s=0.2, cooldown_s=3.0)  # 2.2 s is too soon
    assert feed(rule, timeline) == [1.0, 5.0]


def test_short_smiles_do_not_fire():
    rule = CaptureRule(star="Lisa", hold_s=0.5)
    happy, neutral = track("Lisa", HAPPY), track("Lisa", NEUTRAL)
    timeline = [(t / 10, [happy if t % 4 else neutral]) for t in range(0, 40)]
    assert feed(rule, timeline) == []


def test_other_stars_and_unknown_faces_do_not_fire():
    rule = CaptureRule(star="Lisa", hold_s=0.1)
    others = [track("Jennie", HAPPY, 1), track(None, HAPPY, 2)]
    assert feed(rule, [(t / 10, others) for t in range(20)]) == []
    anyone = CaptureRule(star="", hold_s=0.1, cooldown_s=0)
    assert len(feed(anyone, [(t / 10, others) for t in range(20)])) == 1  # Jennie, not unknown


def test_captures_per_minute_are_capped():
    rule = CaptureRule(star="Lisa", hold_s=0.0, cooldown_s=0, max_per_minute=2)
    happy, neutral = track("Lisa", HAPPY), track("Lisa", NEUTRAL)
    timeline = [(float(t), [happy if t % 2 == 0 else neutral]) for t in range(0, 70)]
    # fired at 1 and 3 s: the moment at 60 s is still within their minute, 62 s is not
    assert feed(rule, timeline)[:3] == [1.0, 3.0, 63.0]


def test_the_cap_counts_each_star_on_her_own():
    # any star watched, two members laughing in turn: each has her own captures a minute
    rule = CaptureRule(star="", hold_s=0.0, cooldown_s=0, max_per_minute=2)
    trigger = Trigger(rule)
    fired = []
    for t in range(0, 20):
        on = t % 2 == 0
        faces = [track("Lisa", HAPPY if on else NEUTRAL, 1),
                 track("Jennie", HAPPY if on else NEUTRAL, 2)]
        fired += [(fire.star, float(t)) for fire in trigger.update(faces, float(t))]
    assert fired == [("Lisa", 1.0), ("Jennie", 1.0), ("Lisa", 3.0), ("Jennie", 3.0)]


def test_hold_progress_counts_up_for_a_countdown():
    trigger = Trigger(CaptureRule(star="Lisa", hold_s=1.0))
    lisa = track("Lisa", HAPPY)
    trigger.update([lisa], 0.0)
    trigger.update([lisa], 0.5)
    assert trigger.hold_progress(lisa.id, 0.5) == 0.5
    trigger.update([track("Lisa", NEUTRAL)], 0.6)
    assert trigger.hold_progress(lisa.id, 0.6) is None


def test_a_new_rule_starts_every_hold_again_but_keeps_the_cooldown():
    trigger = Trigger(CaptureRule(star="Lisa", hold_s=0.5, cooldown_s=10))
    lisa = track("Lisa", HAPPY)
    fired = [now for t in range(20) for now in [t / 10] if trigger.update([lisa], now)]
    assert fired == [1.5]
    trigger.apply(CaptureRule(star="Lisa", hold_s=0.2, cooldown_s=10))
    assert trigger.hold_progress(lisa.id, 1.0) is None  # the old hold is gone
    assert not any(trigger.update([lisa], t / 10) for t in range(20, 50))  # cooldown holds


def candidate(n, score, sharpness=200.0, box=(100, 100, 200, 200)):
    return Candidate(n, n / 10, Face(box, 0.99), score, sharpness, (640, 480))


def best_of(candidates) -> int:
    """Feed one candidate a frame to a held moment; the frame number the fire carries."""
    trigger = Trigger(CaptureRule(star="Lisa", hold_s=(len(candidates) - 1) / 10 - 1e-9))
    lisa = track("Lisa", HAPPY)
    for c in candidates:
        trigger.update([lisa], c.timestamp, None, {lisa.id: c})
    fires = trigger.end_moments(candidates[-1].timestamp)  # the stream ends
    return fires[0].best.frame_number


def test_best_frame_prefers_the_emotion_then_sharpness_and_a_whole_face():
    assert best_of([candidate(0, 0.7), candidate(1, 0.95, sharpness=150),
                    candidate(2, 0.95, sharpness=400),
                    candidate(3, 0.99, box=(-30, 100, 70, 200))]) == 2  # 3: cut off
    assert best_of([candidate(0, 0.7), candidate(1, 0.95, sharpness=150)]) == 1


def test_one_poor_look_does_not_make_a_known_star_unknown():
    t = track("Lisa", HAPPY)
    t.votes = [StarMatch("Lisa", 0.8), StarMatch(None, 0.6)]
    assert t.star == "Lisa"
    t.votes = [StarMatch("Lisa", 0.8), StarMatch(None, 0.6), StarMatch(None, 0.6)]
    assert t.star is None
    t.votes = [StarMatch("Jennie", 0.8), StarMatch("Lisa", 0.8), StarMatch("Lisa", 0.8)]
    assert t.star == "Lisa"


def test_a_blink_loses_to_open_eyes():
    blink = Candidate(0, 0.0, Face((100, 100, 200, 200), 0.99), 0.97, 300.0, (640, 480), 0.74)
    open_eyes = Candidate(1, 0.1, Face((100, 100, 200, 200), 0.99), 0.93, 300.0, (640, 480))
    assert open_eyes.quality > blink.quality


def test_a_star_seen_twice_at_once_is_saved_once_from_the_better_look():
    """On stage and on the big screen behind her: two tracks of one star, one moment."""
    trigger = Trigger(CaptureRule(star="Lisa", hold_s=0.3, cooldown_s=5))
    stage, screen = track("Lisa", HAPPY, 1), track("Lisa", HAPPY, 2)
    fires = []
    for n in range(30):
        looks = {1: candidate(n, 0.9, sharpness=100.0), 2: candidate(n, 0.9, sharpness=400.0)}
        fires += trigger.update([stage, screen], n / 10, None, looks)
    fires += trigger.end_moments(3.0)
    assert [(f.track_id, f.star) for f in fires] == [(2, "Lisa")]  # the sharper one
