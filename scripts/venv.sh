#!/usr/bin/env bash
# Creates, or reuses, a Python virtualenv with a pinned requirements file installed, and prints
# its path:  scripts/venv.sh REQUIREMENTS VENV_DIR   (paths relative to the repository root
# unless absolute).
#
#   PYTHON  interpreter to create it with (default python3; the pins are made for CPython 3.11)
#
# A venv whose interpreter is gone is rebuilt; pip runs only when the requirements or the
# interpreter changed since the last install (the stamp holds their hash).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
absolute() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s\n' "$root/$1" ;;
  esac
}
requirements="$(absolute "$1")"
venv="$(absolute "$2")"
python="${PYTHON:-python3}"
stamp="$venv/.requirements.stamp"

if ! "$venv/bin/python" -c '' >/dev/null 2>&1; then
  "$python" -m venv --clear "$venv" >&2
fi
want="$(
  {
    sha256sum "$requirements" | cut -d' ' -f1
    "$venv/bin/python" -c 'import sys; print(sys.version)'
  } | sha256sum | cut -d' ' -f1
)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  rm -f "$stamp"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    -r "$requirements" >&2
  printf '%s\n' "$want" >"$stamp"
fi

printf '%s\n' "$venv"
