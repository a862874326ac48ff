#!/usr/bin/env bash
# Sets up everything Omni ingest needs on a fresh Debian machine with Python 3.11:
# system packages (Chromium for JavaScript pages; qemu-user for the portability test), a .venv
# with the CPU build of torch, and the project itself (editable, with the dev extra). Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")"

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# qemu-user (x86-64 only): tests/ops/test_portability.py runs pgvector on an emulated CPU
# without AVX-512 (qemu-x86_64 -cpu Haswell).
if [ "$(uname -m)" = x86_64 ]; then
  command -v qemu-x86_64 >/dev/null 2>&1 || need_apt+=(qemu-user)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "setup: installing ${need_apt[*]} with apt"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.omni-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing Python packages (first run takes a few minutes)"
  .venv/bin/pip install -q --upgrade pip
  # The CPU build first: a plain `torch` requirement would pull gigabytes of CUDA packages.
  .venv/bin/pip install -q "torch==2.13.0"
  .venv/bin/pip install -q -e ".[dev]"
  touch "$stamp"
fi
echo "setup: ready (.venv/bin/omni)"
