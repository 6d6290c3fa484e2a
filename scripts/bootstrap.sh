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

# Chromium, for the transparency page's browser test (tests/e2e/test_transparency_browser.py, skipped without
# it): Debian's package, installed when missing and this machine can (root or passwordless sudo, apt-get).
# Never fails the bootstrap; PWIIC_SKIP_CHROMIUM=1 leaves it out.
install_chromium() {
    if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
        return 0
    fi
    local root=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then root="sudo -n"; else root="none"; fi
    fi
    if [ "${PWIIC_SKIP_CHROMIUM:-}" = 1 ] || [ "$root" = none ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "Chromium is missing: the browser test will be skipped (Debian/Ubuntu: sudo apt-get install chromium)." >&2
        return 0
    fi
    echo "Installing Chromium for the browser test (apt-get install chromium) ..." >&2
    local apt="$root env DEBIAN_FRONTEND=noninteractive apt-get -qq -o Dpkg::Use-Pty=0"
    if ! $apt install -y --no-install-recommends chromium >/dev/null 2>&1; then
        # A fresh machine has no package lists yet.
        if ! { $apt update >/dev/null 2>&1 && $apt install -y --no-install-recommends chromium >/dev/null 2>&1; }; then
            echo "Could not install Chromium: the browser test will be skipped (sudo apt-get install chromium)." >&2
        fi
    fi
    return 0
}
install_chromium
