"""Adopting istiogen on a cluster that already exists.

:mod:`istiogen.adopt.importer` reads what ``kubectl get -o yaml`` printed and works out a profile
that reproduces the cluster's monitoring (every value with the object and field it came from);
:mod:`istiogen.adopt.profile_text` writes that profile as commented YAML;
:mod:`istiogen.adopt.scaffold` lays out a new repository around it (``istiogen init``).
"""
