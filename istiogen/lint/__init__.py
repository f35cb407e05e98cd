"""``istiogen lint``: check a rendered tree or an external bundle of monitoring files.

Modelled on yamllint: the loader (:mod:`.loader`) reads files into a bundle
(:mod:`.model`); each check is a module of :mod:`.checks` with a stable ID and a
default level; findings are :class:`istiogen.problems.Problem` data, filtered by
exclusions that must give a reason (:mod:`.config`), and printed by
:func:`istiogen.problems.format_problems`.  See ``docs/lint.md``.
"""
