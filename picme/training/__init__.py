"""Stage 4, train and evaluate: fit a registered model with a registered loss (Lightning),
evaluate it beside the baselines, draw the plots, log to MLflow and register it.

``run``: ``TrainConfig``, ``train_and_register``; ``evaluate``: metrics against the random,
followers-only and heuristic baselines; ``plots``: the figures logged with each run.

May import: ``picme.scoring``, ``picme.registry``, ``picme.models``, ``picme.dataset``,
``picme.features``, ``picme.util``, ``picme.settings``, ``picme.errors``.
"""
