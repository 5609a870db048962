"""
The container's health check (Dockerfile HEALTHCHECK, docker-compose.yml):
exit 0 when the server in this container is ready (/health/ready: the
database and Redis answer), 1 otherwise.

    python scripts/healthcheck.py [path]

The request names 127.0.0.1 as its host: health checks answer whatever the
Host header says (core.probes), so DJANGO_ALLOWED_HOSTS need not list it.
"""

import http.client
import os
import sys


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "/health/ready"
    connection = http.client.HTTPConnection("127.0.0.1", int(os.environ.get("PORT") or 8000), timeout=4)
    try:
        connection.request("GET", path)
        status = connection.getresponse().status
    except OSError as error:
        print(f"health check: {error}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"health check: {path} answered {status}", file=sys.stderr)
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
