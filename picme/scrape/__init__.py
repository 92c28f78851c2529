"""Stage 1, scrape: download public Instagram posts with instaloader into ``raw/``.

Incremental (instaloader's LatestStamps, kept outside ``raw/``), polite (a rate controller
that hands long waits back to the caller, a request budget), session-file login only, and
secrets redacted from every log line. ``raw/`` is append-only: a download is staged and
renamed into place, never rewritten.

``run``: the entry point (``scrape``, ``scrape_targets``) and the names callers catch;
``config``: ``ScrapeConfig``; ``report``: what a run did; ``errors``: the errors and how an
Instagram failure becomes one; ``rate``: politeness, request budget, the instaloader used;
``session``: login by session file; ``state``: stamps, resume files, the one-scrape lock,
what raw/ holds; ``feed``: the walk over a feed; ``download``: staged writes into raw/.

May import: ``picme.util``, ``picme.settings``, ``picme.errors``.
"""
