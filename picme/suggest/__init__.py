"""``picme suggest``: for candidate photos, the champion's predicted engagement relative to
the account's usual results (with an interval), the best hour and weekday to post each one
where the model's evidence supports a difference, beside the account's own posting habits,
and the order to post them in.

``config``: ``SuggestConfig``; ``history``: the account's posts and audience from the lake;
``timing``: the hour/weekday sweep and its permutation evidence; ``run``: ``suggest``;
``render``: the table and the JSON.

May import: ``picme.scoring``, ``picme.registry``, ``picme.models``, ``picme.dataset``,
``picme.features``, ``picme.lake``, ``picme.util``, ``picme.settings``, ``picme.errors``.
"""
