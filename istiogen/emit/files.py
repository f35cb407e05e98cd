"""Single files written atomically and never over an existing one (``istiogen import`` and ``init``)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from istiogen.errors import FatalError


def write_new_file(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Create ``path`` with ``data``: written to a temporary file beside it, flushed, then linked into
    place, which fails if anything exists there (no window where another file could be replaced)."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".istiogen-new-", dir=folder)
    except OSError as e:
        raise FatalError(f"cannot write {path}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        Path(tmp).chmod(mode)
        os.link(tmp, path)
    except FileExistsError:
        raise FatalError(f"{path} exists: nothing was overwritten") from None
    except OSError as e:
        raise FatalError(f"cannot write {path}: {e.strerror}") from None
    finally:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
