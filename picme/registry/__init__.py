"""MLflow tracking and the model registry: the store (embedded SQLite or a server), the
champion and challenger rule, and the retrain decision.

``tracking``: the client, the experiment, the version tags and the champion lookup;
``gate``: the champion gate (paired bootstrap against every reference, pure); ``champion``:
the decision recorded under the registry lock; ``recovery``: runs and versions a killed
training left behind; ``status``: why there is no champion; ``retrain``: whether the
training table changed enough to train again.

May import: ``picme.dataset``, ``picme.util``, ``picme.settings``, ``picme.errors``.
"""
