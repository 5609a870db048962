"""
The Dockerfile and the compose file, checked with real tools (hadolint, and
check-jsonschema with the Compose Specification's schema) since no Docker
engine runs here, and read for what the stack promises.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests import ROOT

TOOLS = Path(sys.executable).parent


def tool(name: str) -> str:
    path = TOOLS / name
    if not path.exists():
        path = shutil.which(name)
    assert path, f"{name} is a test dependency (requirements-dev.txt)"
    return str(path)


def test_hadolint_finds_nothing_in_the_dockerfile():
    result = subprocess.run([tool("hadolint"), "Dockerfile"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_file_follows_the_compose_specification():
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "docker-compose.yml"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_setting_in_env_reaches_the_server_and_every_service_restarts(compose):
    web = compose["services"]["web"]
    assert web["env_file"] == ".env"
    assert set(web["environment"]) <= {
        "DJANGO_DEBUG", "DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOWED_HOSTS",
        "DJANGO_ALLOWED_ORIGINS",
    }, "anything else set here would silently override .env"
    for name, service in compose["services"].items():
        assert service.get("restart") == "unless-stopped", name


def test_health_checks_ask_for_readiness(compose):
    assert compose["services"]["web"]["healthcheck"]["test"] == ["CMD", "python", "scripts/healthcheck.py"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["python", "scripts/healthcheck.py"]' in dockerfile
    assert '"/health/ready"' in (ROOT / "scripts" / "healthcheck.py").read_text()


def test_the_image_leaves_out_what_does_not_run():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {"tests", "bench", "docs", ".git", "scripts/asyncapi"} <= ignored


def left_out_of_the_image(name: str) -> bool:
    """Whether .dockerignore leaves out a top-level file: the last pattern matching it decides, as in Docker."""
    import fnmatch

    left_out = False
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = line.strip()
        if pattern and not pattern.startswith("#") and fnmatch.fnmatchcase(name, pattern.removeprefix("!")):
            left_out = not pattern.startswith("!")
    return left_out


def test_no_env_file_with_secrets_goes_into_the_image():
    for name in (".env", ".env.local", ".env.production", ".env.bak"):
        assert left_out_of_the_image(name), name
    assert not left_out_of_the_image(".env.example"), "the documented template has no secrets"


def test_the_scheduler_runs_housekeeping_commands_that_exist(compose):
    from django.core.management import get_commands

    scheduler = compose["services"]["scheduler"]
    web = compose["services"]["web"]
    assert {**web["environment"], "RUN_MIGRATIONS": "0"} == scheduler["environment"], "the same settings as the server"
    assert scheduler["env_file"] == ".env"
    assert "attachments:/app/attachments" in scheduler["volumes"] and "attachments:/app/attachments" in web["volumes"]
    script = scheduler["command"][-1]
    run = [word for line in script.splitlines() for word in line.split() if word in get_commands()]
    assert {"cleanup_attachments", "flushexpiredtokens", "clearsessions"} <= set(run)
    result = subprocess.run(["sh", "-n", "-c", script.replace("$$", "$")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_expiry_service_runs_the_expiry_loop_with_the_servers_settings_and_files(compose):
    from django.core.management import get_commands

    expiry = compose["services"]["expiry"]
    web = compose["services"]["web"]
    assert {**web["environment"], "RUN_MIGRATIONS": "0"} == expiry["environment"], "the same settings as the server"
    assert expiry["env_file"] == ".env" and expiry["build"] == web["build"]
    assert "attachments:/app/attachments" in expiry["volumes"], "it deletes expired messages' files"
    assert expiry["command"] == ["python", "manage.py", "expire_messages", "--loop"]
    assert "expire_messages" in get_commands()


def test_the_push_worker_runs_the_push_worker_command_with_the_servers_settings(compose):
    from django.core.management import get_commands

    worker = compose["services"]["push-worker"]
    web = compose["services"]["web"]
    assert {**web["environment"], "RUN_MIGRATIONS": "0"} == worker["environment"], "the same settings as the server"
    assert worker["env_file"] == ".env" and worker["build"] == web["build"]
    assert worker["command"] == ["python", "manage.py", "push_worker"] and "push_worker" in get_commands()
    assert web["environment"]["REDIS_URL"], "the queue is in the stack's Redis"
