"""Frontal faces and open eyes with OpenCV's Haar cascades, for the face features and
curation's closed-eye gate.

Detection is the costliest feature, so it runs on a small copy of the image (``FACE_SIDE``)
and looks for eyes only in a band of each face box.
"""

from __future__ import annotations

import os
import threading

import cv2
import numpy as np

from picme.features.decode import resize_max_side

# Faces are searched at this longer side, so the smallest face found (the cascade's 20 px
# window) is 1/8 of the image's longer side. 160 rather than 192 px cost ~3x less on the
# benchmark images; curation's closed-eye gate only looks at faces of >= 2% of the frame
# (~14% of the side) anyway.
FACE_SIDE = 160
# Eyes are searched in a band of each face box, scaled to this width.
EYE_FACE_WIDTH = 120
EYE_BAND = (0.2, 0.6)

FACE_CASCADE = "haarcascade_frontalface_default.xml"
# The eyeglasses-tolerant cascade: as good on bare eyes and it still fires behind glasses.
EYE_CASCADE = "haarcascade_eye_tree_eyeglasses.xml"

_LOCAL = threading.local()


def _cascade(filename: str) -> cv2.CascadeClassifier:
    # One classifier per thread: detectMultiScale keeps per-call state in the object, and
    # flows may run features in threads of one process.
    cache: dict[str, cv2.CascadeClassifier] = _LOCAL.__dict__.setdefault("cascades", {})
    clf = cache.get(filename)
    if clf is None:
        path = os.path.join(cv2.data.haarcascades, filename)  # type: ignore[attr-defined]
        clf = cv2.CascadeClassifier(path)
        if clf.empty():
            raise RuntimeError(
                f"OpenCV Haar cascade {path} is missing; install opencv-python-headless<5"
            )
        cache[filename] = clf
    return clf


def detect_faces(gray: np.ndarray) -> tuple[list[tuple[int, int, int, int]], list[int], float]:
    """Faces (x, y, w, h) in ``gray``'s coordinates, eyes per face, and the work scale."""
    h, w = gray.shape
    scale = min(1.0, FACE_SIDE / max(h, w))
    small = cv2.equalizeHist(resize_max_side(gray, FACE_SIDE))
    scale = small.shape[1] / w
    min_face = 20
    if min(small.shape) < min_face:
        return [], [], scale
    found = _cascade(FACE_CASCADE).detectMultiScale(
        small, scaleFactor=1.2, minNeighbors=5, minSize=(min_face, min_face)
    )
    faces: list[tuple[int, int, int, int]] = []
    eyes: list[int] = []
    for x, y, fw, fh in (tuple(int(v) for v in f) for f in found):
        faces.append((round(x / scale), round(y / scale), round(fw / scale), round(fh / scale)))
        eyes.append(_count_eyes(gray, faces[-1]))
    return faces, eyes, scale


def _count_eyes(gray: np.ndarray, face: tuple[int, int, int, int]) -> int:
    # Eyes of a frontal face box lie in the band from 20% to 60% of its height; searching
    # only there halves the cost and keeps eyebrows and nostrils out. A fixed working width
    # keeps the cost per face constant and the eyes (~1/5 of the width) above the
    # cascade's 20 px window.
    x, y, w, h = face
    roi = gray[y + int(h * EYE_BAND[0]) : y + int(h * EYE_BAND[1]), x : x + w]
    if min(roi.shape[:2]) < 8:
        return 0
    scale = EYE_FACE_WIDTH / roi.shape[1]
    roi = cv2.resize(
        roi,
        (EYE_FACE_WIDTH, max(1, round(roi.shape[0] * scale))),
        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
    )
    found = _cascade(EYE_CASCADE).detectMultiScale(
        roi,
        scaleFactor=1.05,
        minNeighbors=3,
        minSize=(12, 12),
        maxSize=(EYE_FACE_WIDTH // 2, EYE_FACE_WIDTH // 2),
    )
    return min(2, len(found))
