"""Generated data: instaloader trees with a planted image-to-engagement relation
(``instagram``, with ``sample_accounts``, ``sample_images`` and the instaloader-shaped files
of ``posts``) and test albums with bursts, near-duplicates and flawed shots (``album``, with
``album_plan`` and ``album_draw``); ``config``: ``GenerateConfig`` of ``picme generate``.

Used by ``picme generate``, ``picme demo``, the tests and the benchmarks.
May import: ``picme.util``, ``picme.errors``.
"""
