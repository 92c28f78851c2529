"""Small helpers every stage uses: atomic writes and generations, file locks, the
crash-isolating process pool, and secret redaction for logs.

Exposes: ``atomic`` (write-then-rename), ``generations`` (multi-file outputs published as
one generation, with a manifest; sweeping dead writers' leftovers), ``locks`` (filelock),
``pool`` (the process pool), ``logsafe`` (redaction), ``timefmt`` (file-name time stamps),
``progress`` (the long steps' progress, shown by whoever installs a reporter).
May import: the standard library, third-party libraries and ``picme.errors``; never another
picme package.
"""
