#!/usr/bin/env bash
# Creates, or reuses, the Python virtualenv holding the clients that tests/clients drives
# (python-tackerclient, python-openstackclient, pytest), and prints its path.
#
#   CLIENTS_VENV  venv directory, relative to the repository root unless absolute
#                 (default target/clients-venv)
#   PYTHON        interpreter to create it with (default python3; CPython 3.11 is what the
#                 pins in tests/clients/requirements.txt are made for)
#
# pip runs only when the requirements or the interpreter changed since the last install.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${CLIENTS_VENV:-target/clients-venv}"
case "$venv" in
  /*) ;;
  *) venv="$root/$venv" ;;
esac
requirements="$root/tests/clients/requirements.txt"
python="${PYTHON:-python3}"
stamp="$venv/.requirements.stamp"

# A venv whose interpreter is gone (or moved) is rebuilt from scratch.
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
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-input -r "$requirements" >&2
  printf '%s\n' "$want" >"$stamp"
fi

printf '%s\n' "$venv"
