"""Scoring photos: the ``Scorer`` protocol, the heuristic scorer, the scorer of a logged
MLflow model, and saliency maps.

``api``: ``load_scorer`` (a model URI, ``heuristic``, or the champion); ``base``: the
``Scorer`` protocol; ``heuristic``: ``HeuristicScorer`` and its sharpness map; ``model``:
``ModelScorer`` of a logged network and the loader of any logged model; ``ranker``:
``RankerScorer`` of a logged tabular ranker; ``saliency``: Grad-CAM maps and overlays.

May import: ``picme.registry``, ``picme.models``, ``picme.features``, ``picme.util``,
``picme.settings``, ``picme.errors``.
"""
