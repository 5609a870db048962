# Sourced by scripts/run and scripts/test: make sure .venv exists and holds
# the packages of the given requirements file, installing only when that
# file changed since the last install.
set -euo pipefail

ensure_venv() {
    local requirements="$1"
    local python="${PYTHON:-python3}"
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)." >&2
        exit 1
    fi
    if [ ! -x .venv/bin/python ]; then
        echo "Creating .venv ..."
        "$python" -m venv .venv
    fi
    local stamp=".venv/.installed-$(basename "$requirements")"
    local digest
    digest="$(cat "$requirements" requirements.txt | cksum)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
        echo "Installing $requirements into .venv ..."
        .venv/bin/python -m pip install --quiet --upgrade pip
        .venv/bin/python -m pip install --quiet -r "$requirements"
        echo "$digest" > "$stamp"
    fi
}

# The AsyncAPI project's parser, which the tests use to validate the socket
# protocol's document (scripts/asyncapi). Needs Node.js; without it that one
# test is skipped (CI fails instead).
ensure_asyncapi_parser() {
    local folder=scripts/asyncapi
    if ! command -v npm >/dev/null 2>&1; then
        echo "Node.js/npm not found: the AsyncAPI document will not be validated." >&2
        return 0
    fi
    local stamp="$folder/node_modules/.installed"
    local digest
    digest="$(cksum < "$folder/package-lock.json")"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
        echo "Installing the AsyncAPI parser into $folder/node_modules ..."
        npm ci --prefix "$folder" --no-audit --no-fund --loglevel=error
        echo "$digest" > "$stamp"
    fi
}
