"""Stage 4, train and evaluate: fit a registered model with a registered loss (Lightning),
evaluate it beside the baselines, draw the plots, log to MLflow and register it.

``run``: ``train_and_register`` and ``TrainResult``; ``fit``: the Trainer, the per-model
defaults and the best-epoch weights; ``evaluate``: metrics against the random,
followers-only and heuristic baselines; ``plots``: the figures logged with each run;
``mlflow_log``: params, metrics, plots and the pyfunc model; ``promote``: the champion gate
for a new version (re-evaluating the champion needs the scorer, so it sits here, above the
registry); ``config``: ``TrainConfig``; ``candidates`` and ``select``: the automatic model
choice by grouped cross-validation; ``tabular``: fitting and logging the tabular rankers.

May import: ``picme.scoring``, ``picme.registry``, ``picme.models``, ``picme.dataset``,
``picme.features``, ``picme.util``, ``picme.settings``, ``picme.errors``.
"""
