"""Container health checks (python:3.11-slim has no curl).

python scripts/healthcheck.py url http://127.0.0.1:8000/healthz    exit 0 when the URL answers 200
python scripts/healthcheck.py deps                                  exit 0 when database and broker answer
"""

from __future__ import annotations

import os
import sys
import urllib.request


def check_url(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310  (a fixed local http URL)
            return bool(response.status == 200)
    except OSError as exc:  # URLError and HTTPError (e.g. 503) are OSErrors
        print(f"{url}: {exc}", file=sys.stderr)
        return False


def check_deps() -> bool:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.db import connection

    try:
        connection.ensure_connection()
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001  (any failure means unhealthy; say which)
        print(f"unhealthy: {exc}", file=sys.stderr)
        return False
    return True


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "url":
        return 0 if check_url(argv[1]) else 1
    if argv == ["deps"]:
        return 0 if check_deps() else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
