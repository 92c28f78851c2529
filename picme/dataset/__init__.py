"""Stage 3b, the training set: DuckDB SQL over the lake (one query a file in ``sql/``, run by
name), labels, leak-free splits, near-duplicate exclusions and within-account pairs, written
as ``lake/training/``.

``sql``: the query loader; ``build``: the build itself, ``METADATA_COLUMNS`` and the table
fingerprint.

May import: ``picme.features``, ``picme.lake``, ``picme.util``, ``picme.settings``,
``picme.errors``.
"""
