"""Stage 2, ingest: instaloader trees in ``raw/`` become the Parquet lake.

``tables``: the lake's tables, their schemas and paths (the one module that knows where every
lake file lives) and their atomic writes; ``ingest``: reading raw trees offline and merging
them into ``posts``, ``post_observations``, ``profiles`` and ``media``.

May import: ``picme.util``, ``picme.settings``, ``picme.errors``.
"""
