# Sourced by scripts/run: load_dotenv FILE exports the NAME=value lines of a
# .env file (see .env.example), read as docker compose's env_file reads them,
# so one .env means the same to both. Blank lines and comment lines are
# skipped, as is "export " before a name; spaces around the name and the
# value go; a value in double or single quotes ends at its closing quote
# (anything after it, such as a comment, is ignored); an unquoted value ends
# at " #" (a comment) and loses its trailing spaces, while a "#" inside a
# word stays. A variable already in the environment wins, so
# `PORT=9000 scripts/run` beats the file. Unlike compose, escapes and ${VAR}
# in values are kept as written.
load_dotenv() {
    local file="$1" line name value
    local double_quoted='^"([^"]*)"' single_quoted="^'([^']*)'"
    [ -f "$file" ] || return 0
    while IFS= read -r line || [ -n "$line" ]; do
        line="${line%$'\r'}"
        line="${line#"${line%%[![:space:]]*}"}"
        case "$line" in '' | '#'*) continue ;; esac
        if [[ "$line" =~ ^export[[:space:]]+(.*)$ ]]; then
            line="${BASH_REMATCH[1]}"
        fi
        name="${line%%=*}"
        value="${line#*=}"
        if [ "$name" = "$line" ]; then
            continue
        fi
        name="${name%"${name##*[![:space:]]}"}"
        value="${value#"${value%%[![:space:]]*}"}"
        if [[ "$value" =~ $double_quoted ]] || [[ "$value" =~ $single_quoted ]]; then
            value="${BASH_REMATCH[1]}"
        else
            value="${value%% #*}"
            value="${value%"${value##*[![:space:]]}"}"
        fi
        if [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] && [ -z "${!name+x}" ]; then
            export "$name=$value"
        fi
    done < "$file"
}
