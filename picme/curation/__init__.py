"""Helpers of ``picme curate`` (see :mod:`picme.curate` and docs/curation.md).

scan: which files of an album are photos, which are skipped and why, which are ignored;
analyze: the per-photo work done in worker processes (reduced decode, features, hash,
embedding, thumbnail); grouping: near-duplicate and burst groups; select: quality gate,
best of each group, diversity-aware top K; report: curation.json and the HTML sheet.
None of these modules imports torch, lightning, mlflow or prefect.
"""
