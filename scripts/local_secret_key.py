"""Print the SECRET_KEY of the local `make run` set-up, generating it on first use.

Kept in ``$KAIREON_VAR_DIR/secret_key`` (default ``var/``), readable by its owner only, so
sessions survive restarts. Only the Makefile calls this: settings never read the file, so a
production start without SECRET_KEY still refuses (config/settings.py).
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path


def local_secret_key(var_dir: Path) -> str:
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: two processes starting at once keep the first one's key
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    sys.stdout.write(local_secret_key(Path(os.environ.get("KAIREON_VAR_DIR") or root / "var")))
