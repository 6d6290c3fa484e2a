#!/usr/bin/env bash
# Sourced by scripts/run and scripts/test: prepares .venv and DynamoDB Local, quickly when nothing changed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"

require_python_311() {
    if ! "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "Pwiic needs Python 3.11 or newer ($1: $("$1" --version 2>/dev/null || echo 'not found'))." >&2
        echo "Install it, or point PYTHON at one (PYTHON=python3.11 $0)$2." >&2
        exit 1
    fi
}

if [ ! -x .venv/bin/python ]; then
    require_python_311 "$PYTHON" ""
    "$PYTHON" -m venv .venv
fi
require_python_311 .venv/bin/python ", then delete .venv and run again"

requirements_hash="$(cat requirements.txt requirements-dev.txt | .venv/bin/python -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
if [ "$(cat .venv/.requirements.sha256 2>/dev/null || true)" != "$requirements_hash" ]; then
    echo "Installing Python dependencies into .venv ..." >&2
    .venv/bin/python -m pip install --quiet -r requirements-dev.txt
    echo "$requirements_hash" > .venv/.requirements.sha256
fi

.venv/bin/python -c 'from tools.localstack import check_java, install_dynamodb_local; check_java(); install_dynamodb_local()'
