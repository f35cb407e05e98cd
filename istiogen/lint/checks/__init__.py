"""The checks, one module each, with ``ID``, ``LEVEL``, ``DESCRIPTION`` and ``run(ctx)``; see :mod:`..registry`."""
