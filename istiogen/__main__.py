from __future__ import annotations

from istiogen.cli.main import command

command()
