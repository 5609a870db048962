"""
scripts/run reads a local .env (scripts/dotenv.sh): what it exports, what it
skips, and that the environment wins over the file. It reads a line as
docker compose's env_file does, so one .env means the same to both.
"""

import os
import subprocess

from tests import ROOT

ENV_FILE = """\
# a comment, then a blank line

PORT=9123
DJANGO_DEBUG="0"
SENTRY_ENVIRONMENT='staging'
export CHANNEL_LAYER=redis
DATABASE_URL=postgres://chat:pa=ss@db:5432/chat
JWT_ACCESS_TOKEN_LIFETIME=300\r
not a setting
1BAD=value
ALREADY=from-file
"""

# How docker compose (compose-go's dotenv parser) reads these lines: spaces
# around the name and the value go, an unquoted value ends at " #", a quoted
# one at its closing quote, and a "#" inside a word is part of the value.
COMPOSE_LINES = {
    "INLINE=1 # a comment": "1",
    'QUOTED="two" # a comment': "two",
    "SINGLE='three'   # a comment": "three",
    "SPACED = 3": "3",
    "  INDENTED=\tfour  ": "four",
    'QUOTED_HASH="five # six"': "five # six",
    "WORD_HASH=pa#ss": "pa#ss",
    "TAB_HASH=seven\t# a comment": "seven\t# a comment",
    "EMPTY=": "",
    # The value's leading spaces go first, so no " #" is left to start a comment.
    "NOT_A_COMMENT= # nothing": "# nothing",
}

NAMES = [
    "PORT", "DJANGO_DEBUG", "SENTRY_ENVIRONMENT", "CHANNEL_LAYER", "DATABASE_URL",
    "JWT_ACCESS_TOKEN_LIFETIME", "ALREADY", "not a setting", "1BAD",
    *(line.split("=")[0].strip() for line in COMPOSE_LINES),
]


def load(tmp_path, text, environment=None):
    path = tmp_path / ".env"
    path.write_text(text)
    script = (
        f'source "{ROOT / "scripts" / "dotenv.sh"}" && load_dotenv "$1" && '
        'for name in "${@:2}"; do printf "%s=%s|\\n" "$name" "$(printenv "$name" || echo UNSET)"; done'
    )
    env = {"PATH": os.environ["PATH"], **(environment or {})}
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script, "bash", str(path), *NAMES],
        capture_output=True, text=True, env=env, timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return dict(line.rstrip("|").split("=", 1) for line in result.stdout.split("|\n") if line)


def test_a_dotenv_file_is_exported_with_quotes_comments_and_carriage_returns_handled(tmp_path):
    seen = load(tmp_path, ENV_FILE)
    assert seen["PORT"] == "9123"
    assert seen["DJANGO_DEBUG"] == "0"
    assert seen["SENTRY_ENVIRONMENT"] == "staging"
    assert seen["CHANNEL_LAYER"] == "redis"
    assert seen["DATABASE_URL"] == "postgres://chat:pa=ss@db:5432/chat"
    assert seen["JWT_ACCESS_TOKEN_LIFETIME"] == "300"
    assert seen["ALREADY"] == "from-file"
    assert seen["1BAD"] == seen["not a setting"] == "UNSET"


def test_a_line_means_what_it_means_to_docker_compose(tmp_path):
    seen = load(tmp_path, "".join(f"{line}\n" for line in COMPOSE_LINES))
    assert {line.split("=")[0].strip(): seen[line.split("=")[0].strip()] for line in COMPOSE_LINES} == {
        line.split("=")[0].strip(): value for line, value in COMPOSE_LINES.items()
    }


def test_the_environment_wins_over_the_file(tmp_path):
    seen = load(tmp_path, ENV_FILE, {"PORT": "8001", "ALREADY": ""})
    assert seen["PORT"] == "8001"
    assert seen["ALREADY"] == ""
    assert seen["DJANGO_DEBUG"] == "0"


def test_no_file_changes_nothing(tmp_path):
    script = f'source "{ROOT / "scripts" / "dotenv.sh"}" && load_dotenv "{tmp_path / "missing"}" && echo ok'
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "ok", result.stderr


def test_scripts_run_loads_the_local_dotenv_before_anything_else():
    lines = [line.strip() for line in (ROOT / "scripts" / "run").read_text().splitlines()]
    assert lines.index("load_dotenv .env") < lines.index("ensure_venv requirements.txt")


def test_every_setting_read_from_the_environment_is_documented():
    import re

    settings_source = (ROOT / "backend" / "settings.py").read_text()
    names = set(re.findall(r'\benv(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', settings_source))
    names.discard("NUM_PROXIES")  # read only to refuse it, pointing at TRUSTED_PROXIES
    assert len(names) > 100, "the pattern still finds the settings"
    readme, example = (ROOT / "README.md").read_text(), (ROOT / ".env.example").read_text()
    assert sorted(name for name in names if f"| `{name}` |" not in readme) == [], "missing from README's table"
    assert sorted(name for name in names if not re.search(rf"^# {name}=", example, re.M)) == [], "missing from .env.example"
