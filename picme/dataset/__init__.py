"""Stage 3b, the training set: DuckDB SQL over the lake (one query a file in ``sql/``, run by
name), labels, leak-free splits, near-duplicate exclusions and within-account pairs, written
as ``lake/training/``.

``build``: ``build_training_table``; ``contract``: ``METADATA_COLUMNS`` and the other column
lists; ``params``, ``inputs``, ``steps``, ``counts``, ``outputs``: its parts; ``sql``: the
query loader; ``fingerprint``: ``table_fingerprint``; ``splits``: group-aware split plans
and grouped folds; ``config`` and ``run``: the features stage (``FeaturesConfig``,
``run_features``: image features, then the build).

May import: ``picme.features``, ``picme.lake``, ``picme.util``, ``picme.settings``,
``picme.errors``.
"""
