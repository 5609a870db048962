# Production image: daphne serves the ASGI app (HTTP and WebSockets) as a
# non-root user. Static files are collected at build time and served by
# WhiteNoise; avatars go to /app/media and attachments to /app/attachments, volumes.
#
#   docker build -t chat-backend .
#   docker run -e DJANGO_SECRET_KEY=... -e DATABASE_URL=... -e REDIS_URL=... \
#       -e DJANGO_ALLOWED_HOSTS=... -p 8000:8000 chat-backend
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=backend.settings \
    DJANGO_DEBUG=0

WORKDIR /app

RUN groupadd --gid 1000 app \
    && useradd --uid 1000 --gid app --no-create-home --home-dir /app --shell /usr/sbin/nologin app

# Dependencies first, so code changes do not reinstall them. Every pinned
# package ships a wheel, so no compiler is needed.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# The code stays owned by root, read-only for the app user; only media and
# attachments (two volumes: attachments are never served as public media) are
# writable. The secret key on the collectstatic line exists for that line only
# (settings refuse to load without one when debug is off).
COPY . .
RUN DJANGO_DEBUG=0 DJANGO_SECRET_KEY=collectstatic-only-not-a-real-key \
        python manage.py collectstatic --noinput \
    && mkdir -p /app/media /app/attachments \
    && chown app:app /app/media /app/attachments \
    && chmod +x /app/docker-entrypoint.sh

USER 1000:1000

EXPOSE 8000

# Ready means the database and Redis answer (/health/ready); the script sends
# an allowed Host header (scripts/healthcheck.py).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "scripts/healthcheck.py"]

ENTRYPOINT ["/app/docker-entrypoint.sh"]
# An endpoint string rather than -b/-p: it sets a listen backlog of 1024
# (Twisted's default is 50, too few for a burst of reconnecting clients).
CMD ["sh", "-c", "exec python -m core.runtime.serve -e \"tcp:port=${PORT:-8000}:interface=0.0.0.0:backlog=1024\" backend.asgi:application"]
