"""MLflow tracking and the model registry: the store (embedded SQLite or a server), the
champion and challenger rule, and the retrain decision.

``tracking``: the client, the experiment, the version tags and the champion lookup;
``champion``: the champion rule and the record of each decision; ``retrain``: whether the
training table changed enough to train again.

May import: ``picme.dataset``, ``picme.util``, ``picme.settings``, ``picme.errors``.
"""
