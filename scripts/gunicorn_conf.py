"""Gunicorn settings shared by `make run` (Procfile) and docker-compose.yml; environment overrides."""

from __future__ import annotations

import os

bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")  # docker-compose sets 0.0.0.0:8000
workers = int(os.environ.get("WEB_WORKERS", "2"))
# Threads serve the progress-polling requests of the UI cheaply; the work itself runs in Celery.
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
graceful_timeout = 10
accesslog = "-"
errorlog = "-"
# Behind a reverse proxy (nginx, a load balancer) that sets X-Forwarded-*; only trust it locally.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn >= 25 opens a control socket in $HOME by default: two instances on one machine would
# share it, and the container user has no writable home. Nothing here uses gunicornc.
control_socket_disable = True
