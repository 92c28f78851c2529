"""Small helpers every stage uses: atomic writes and generations, file locks, the
crash-isolating process pool, and secret redaction for logs.

Exposes: ``atomic`` (write-then-rename), ``logsafe`` (redaction).
May import: the standard library, third-party libraries and ``picme.errors``; never another
picme package.
"""
