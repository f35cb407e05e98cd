from __future__ import annotations

from istiogen.cli.main import main

raise SystemExit(main())
