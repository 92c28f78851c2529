"""Stage 3a, image features: one decoder for every image format, OpenCV feature extractors
registered by name, the documented heuristic quality score, and the sha256-keyed
``image_features`` table.

``decode``: ``decode_image``/``decode_bytes`` (EXIF orientation, gray, CMYK, alpha, 16-bit,
HEIC); ``extract``: the extractors, ``FEATURE_COLUMNS``, ``heuristic_quality`` and
``update_image_features``.

May import: ``picme.lake``, ``picme.util``, ``picme.settings``, ``picme.errors``.
"""
