"""Scoring photos: the ``Scorer`` protocol, the heuristic scorer, the scorer of a logged
MLflow model, and saliency maps.

``api``: ``Scorer``, ``HeuristicScorer``, ``load_scorer`` (a model URI, ``heuristic``, or the
champion); ``model``: ``ModelScorer``; ``saliency``: Grad-CAM maps and overlays.

May import: ``picme.registry``, ``picme.models``, ``picme.features``, ``picme.util``,
``picme.settings``, ``picme.errors``.
"""
