"""Stage 5, curate: an album in, highlights out, every pick explained.

``config``: ``CurateConfig``, the stage's options; ``scan``: which files are photos, which
are skipped and why; ``analyze``: the per-photo work in worker processes (reduced decode,
features, hash, embedding, thumbnail); ``grouping``: near-duplicate and burst groups;
``select``: quality gate, best of each group, diversity-aware top K; ``explain``: the
words of reasons (traits against the album and the group, 0-100 scores); ``report``:
curation.json; ``sheet``: the HTML contact sheet's view model and rendering
(``templates/``); ``handoff``: XMP sidecars and copied picks; ``run``: ``curate``, the
whole stage. Nothing here imports torch, lightning or mlflow at the top.

May import: ``picme.scoring``, ``picme.features``, ``picme.util``, ``picme.settings``,
``picme.errors``.
"""
