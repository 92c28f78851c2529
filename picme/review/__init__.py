"""Review, in the browser: the person keeps, rejects, stars and re-picks photos of a
curation, each decision stored at once in the lake's ``feedback`` table; the export
applies the decisions to the picks and highlights.

``config``: ``ReviewConfig``, the command's options; ``decisions``: the pure rule that turns
a curation and the decisions in force into final statuses and picks; ``session``: one
album's curation (read, or made when there is none), its photos served only from inside
the album, and the decisions recorded; ``export``: the reviewed picks written as one
complete output (with a hook for XMP sidecars); ``server``: the Starlette application
(token, host and origin checks, the page, the JSON API); ``serve``: binding and running it
under uvicorn. Starlette, uvicorn and DuckDB are imported by the modules that need them,
not at the package's top.

May import: ``picme.curate``, ``picme.lake``, ``picme.util``, ``picme.settings``,
``picme.errors``.
"""
