#!/usr/bin/env bash
# Creates .venv and installs the pinned platform into it. Idempotent: a second run
# only checks that the pins are satisfied.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
# Byte-compile the platform's own modules (quick when nothing changed). Every pipeline
# step and Ray worker is a new process; where PYTHONDONTWRITEBYTECODE is set, as on the
# CI machines, each one otherwise compiles them from source again (about 0.6 s a process).
python -m compileall -q -j 0 nuri components pipelines > /dev/null || true
stamp=.venv/.nuri-installed
want=$(cat requirements.txt requirements-dev.txt constraints.txt pyproject.toml | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "[bootstrap] installing pinned dependencies into .venv (first run: a few minutes)"
python -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
# torch alone first: otherwise pip may resolve a multi-GB CUDA build on CPU-only machines.
python -m pip install -q "torch==2.13.0" 2>&1 | grep -v "is ignored" || true
python -m pip install -q -r requirements-dev.txt -c constraints.txt 2>&1 | grep -v "is ignored" || true
python -m pip install -q --no-deps -e . 2>&1 | grep -v "is ignored" || true
python -m pip check
python -c "import torch, transformers, trl, ray, kfp, nuri" 
echo "$want" > "$stamp"
echo "[bootstrap] done"
