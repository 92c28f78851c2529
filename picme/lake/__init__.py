"""Stage 2, ingest: instaloader trees in ``raw/`` become the Parquet lake.

``paths``: where every lake file lives (the one module that knows); ``tables``: the tables'
schemas and their atomic reads and writes; ``ingest``: the entry point (``ingest``,
``ingest_raw``), in three steps: ``scan`` (find raw files), ``parse`` and ``media`` (read
and check them, offline), ``merge`` (DuckDB joins into the stored tables, as ``stored``
finds them); ``config``: ``IngestConfig``; ``report``: ``IngestReport``. ``store``: where
the lake is kept, on disk or in an S3-compatible bucket (``PICME_LAKE_URI``), with
``objstore`` (the bucket calls) and ``mirror`` (a worker's local copy of a bucket lake).

May import: ``picme.util``, ``picme.settings``, ``picme.errors``.
"""
