"""Generated data: instaloader trees with a planted image-to-engagement relation
(``instagram``) and test albums with bursts, near-duplicates and flawed shots (``album``).

Used by ``picme generate``, ``picme demo``, the tests and the benchmarks.
May import: ``picme.util``, ``picme.errors``.
"""
