#!/usr/bin/env bash
# Creates, or reuses, the Python virtualenv holding the clients that tests/clients drives
# (python-tackerclient, python-openstackclient, pytest), and prints its path.
#
#   CLIENTS_VENV  venv directory, relative to the repository root unless absolute
#                 (default target/clients-venv)
#   PYTHON        interpreter to create it with (default python3)
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/venv.sh" tests/clients/requirements.txt \
  "${CLIENTS_VENV:-target/clients-venv}"
