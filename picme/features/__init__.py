"""Stage 3a, image features: one decoder for every image format, OpenCV feature extractors
registered by name, the documented heuristic quality score, and the sha256-keyed
``image_features`` table.

``decode``: ``decode_image``/``decode_bytes`` (EXIF orientation, gray, CMYK, alpha, 16-bit,
HEIC); ``extractors``: ``FEATURE_COLUMNS``, ``HIST_BINS``, the registry and
``features_from_array``, with ``faces`` (Haar face and eye detection) and ``phash`` (the
perceptual hash); ``heuristic``: ``heuristic_quality``; ``table``: ``update_image_features``
and ``extract_features_for_paths`` over the shared process pool.

May import: ``picme.lake``, ``picme.util``, ``picme.settings``, ``picme.errors``.
"""
