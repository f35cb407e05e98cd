"""The exit codes, in this one place (README, "Exit codes"): every verb returns one of them, and
:mod:`istiogen.cli.main` maps expected failures (``FatalError``, ``ProfileError``) to :data:`BAD_INPUT`
and Ctrl-C to :data:`INTERRUPTED`.  Nothing imported: the Ctrl-C handler reads it before anything else."""

OK = 0
FOUND = 1  # differences (diff), stale output (check), findings (lint), warnings with --strict (validate, lint)
BAD_INPUT = 2  # an invalid profile, export or object, an unknown ref, a bad usage: every FatalError
INTERRUPTED = 130  # Ctrl-C
