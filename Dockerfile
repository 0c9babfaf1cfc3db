# syntax=docker/dockerfile:1
# One image for web, worker, beat, flower and the migrate step of docker-compose.yml.
FROM python:3.11-slim

# DEBUG=0: the settings then refuse to start without SECRET_KEY and default to HTTPS (redirect,
# Secure cookies, HSTS). The rest of the production environment (SECRET_KEY, ALLOWED_HOSTS,
# SECURE_PROXY_SSL_HEADER behind a TLS proxy, SECURE_HSTS_*) is given at run time: see
# docker-compose.yml and the production checklist in docs/operations.md.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DEBUG=0 \
    KAIREON_VAR_DIR=/app/var \
    WEB_BIND=0.0.0.0:8000

WORKDIR /app
RUN groupadd --system kaireon && useradd --system --gid kaireon --home-dir /app --no-create-home kaireon

# Dependencies first, so this layer is rebuilt only when pyproject.toml changes.
# (The project installs no packages of its own: the code runs from /app.)
COPY pyproject.toml README.md ./
RUN pip install .

COPY . .
# Static files are collected into the image; whitenoise serves them. The key is only for this step.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p /app/var/media \
    && chown -R kaireon:kaireon /app/var

USER kaireon
EXPOSE 8000 5555
CMD ["gunicorn", "--config", "scripts/gunicorn_conf.py", "config.wsgi"]
