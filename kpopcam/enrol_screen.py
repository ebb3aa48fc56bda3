"""Which of a star's new enrolment faces to leave out: the same face twice, and a face that
looks more like another enrolled star than like the star's own other faces.

Photos a fan gathers from the web are not all of the star: a fan site's photos of a member
include her bandmates. One such face among five moves the star's centroid towards someone
else. Measured (training/RESULTS.md, "Enrolment photos of the wrong member"): enrolling each
star of BLACKPINK and kpop11 from all her photos, with every other star enrolled, leaves out 4
of 1,661 photos as look-alikes, all BLACKPINK photos far nearer another member (0.976-0.983
against 0.945-0.952 to their own; by eye, photos of that member); from 5-20 photos at once,
0.4-0.6 % of a BLACKPINK star's photos and none of kpop11's, no more than the share of such
photos in the sets. (It also left out kpop11's three boxes on a background, a hand and an arm,
before enrolment stopped taking such boxes: kpopcam.enrollment.SURE_FACE.)
"""

from __future__ import annotations

import numpy as np

from kpopcam.stars import centroid

# A face this alike to one already kept is the same photo again (a re-saved JPEG copy of a photo
# is 0.995-0.999 alike, a half-size copy 0.988-0.994: those are kept).
SAME_FACE = 0.9999
# Left out when another star's centroid is this much more alike than the star's own other
# faces' centroid is.
LOOKALIKE_MARGIN = 0.02
# The star's own faces (enrolled and new, the face judged not among them) needed to judge: with
# fewer, genuine photos are left out too (from 3 photos a star, kpop11's top-1 falls from 0.901
# to 0.891 as they are; from 2, 5 % of BLACKPINK's genuine photos would be).
MIN_OWN_FACES = 4
LOOKS_LIKE = "looks more like"  # how a look-alike's reason begins


def is_lookalike(reason: str) -> bool:
    """Whether a reason a photo was skipped for is this screen's look-alike one."""
    return reason.startswith(LOOKS_LIKE)


def lookalike_advice(star: str, reasons) -> str:
    """What to tell the fan when a photo was left out as a look-alike ('' if none was)."""
    if not any(is_lookalike(why) for why in reasons):
        return ""
    return (f"A photo that looks more like another star than like {star} is often of the wrong "
            f"member, and would make kpopcam take her for {star}. If it is {star}, add it "
            "alone with --keep-lookalikes (kpopcam enroll).")


def screen(star: str, new: np.ndarray, enrolled: np.ndarray,
           others: dict[str, np.ndarray], lookalikes: bool = False) -> list[str | None]:
    """Per new face (rows of `new`), why it is left out, or None to add it.

    enrolled: (m, d) the star's faces already in the gallery; others: every other star's
    centroid (StarGallery.centroids). Every vector is a unit one, as embedders and the gallery
    give them. lookalikes: keep faces that look more like another star (the fan is sure)."""
    new = np.asarray(new)
    enrolled = np.asarray(enrolled).reshape(-1, new.shape[1])
    reasons: list[str | None] = []
    for i, face in enumerate(new):
        earlier = np.vstack([enrolled, new[[j for j in range(i) if reasons[j] is None]]])
        if len(earlier) and float((earlier @ face).max()) >= SAME_FACE:
            reasons.append(f"the same face is already one of {star}'s")
            continue
        reasons.append(None if lookalikes else _lookalike(star, i, new, enrolled, others))
    return reasons


def _lookalike(star: str, i: int, new: np.ndarray, enrolled: np.ndarray,
               others: dict[str, np.ndarray]) -> str | None:
    own_faces = np.vstack([enrolled, np.delete(new, i, axis=0)])
    if len(own_faces) < MIN_OWN_FACES or not others:
        return None
    face = new[i]
    own = float(centroid(own_faces) @ face)
    name, alike = max(((n, float(c @ face)) for n, c in others.items()),
                      key=lambda pair: pair[1])
    if alike <= own + LOOKALIKE_MARGIN:
        return None
    return (f"{LOOKS_LIKE} {name} ({alike:.3f}) than like {star}'s other faces "
            f"({own:.3f})")
