#!/usr/bin/env bash
# Writes the lock files from pyproject.toml, with the hash of every file of every pinned version
# (pip installs them in hash-checking mode), for any platform and Python 3.11 and newer:
#   requirements/dev.txt      the library's dependencies, every extra, the test, lint, docs tools
#   requirements/runtime.txt  the base install only, at the versions of dev.txt
# Versions already pinned stay unless asked: `bash requirements/lock.sh` after a change of
# pyproject.toml, `bash requirements/lock.sh --upgrade-package NAME` (or --upgrade) to move.
# Runs the uv on PATH (use the version dev.txt pins) against PyPI; uv reads no pip settings.
set -euo pipefail
cd "$(dirname "$0")/.."

compile() {
    uv pip compile --quiet --custom-compile-command "bash requirements/lock.sh" \
        --generate-hashes --universal --python-version 3.11 \
        pyproject.toml requirements/build.in "$@"
}
compile --extra all --extra dev --output-file requirements/dev.txt "$@"
compile --constraints requirements/dev.txt --output-file requirements/runtime.txt "$@"
