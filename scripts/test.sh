#!/bin/sh
# Installs everything the test suite needs, then runs it.
#   - Debian's prometheus package (promtool and a real Prometheus server), and zsh
#   - kubectl is expected on the machine (it is part of the image)
#   - Node.js and npm (Debian's), then tests/grafana_schema/package.json: Grafana's published
#     dashboard types (@grafana/schema) and the TypeScript compiler that checks dashboards against them
#   - a virtualenv in .venv with istiogen and its test extras
# Extra arguments are passed to pytest.
set -eu
cd "$(dirname "$0")/.."
need=""
command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || need="$need prometheus"
command -v zsh >/dev/null 2>&1 || need="$need zsh"  # to check the generated zsh completion script
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || need="$need nodejs npm"
command -v jq >/dev/null 2>&1 && command -v curl >/dev/null 2>&1 || need="$need jq curl"  # apply.sh posts the Sysdig alerts with them
if [ -n "$need" ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
command -v kubectl >/dev/null 2>&1 || { echo "kubectl is required (client only, no cluster)" >&2; exit 1; }
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
npm install --prefix tests/grafana_schema --no-package-lock --no-audit --no-fund --loglevel=error >/dev/null
# The suite starts istiogen as a new process hundreds of times: compile its bytecode once (a machine that
# sets PYTHONDONTWRITEBYTECODE would otherwise compile every module again in every process).
unset PYTHONDONTWRITEBYTECODE
.venv/bin/python -m compileall -q -j 0 -x node_modules istiogen tests bench >/dev/null
exec .venv/bin/python -m pytest -q "$@"
