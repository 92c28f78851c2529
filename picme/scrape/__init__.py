"""Stage 1, scrape: download public Instagram posts with instaloader into ``raw/``.

Incremental (instaloader's LatestStamps, kept outside ``raw/``), polite (a rate controller
that hands long waits back to the caller, a request budget), session-file login only, and
secrets redacted from every log line. ``raw/`` is append-only: a download is staged and
renamed into place, never rewritten.

Exposes: ``scrape_targets``, ``ScrapeError``, ``RateLimited``, ``RequestBudgetReached``.
May import: ``picme.util``, ``picme.settings``, ``picme.errors``.
"""
