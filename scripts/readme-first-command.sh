#!/bin/sh
# Runs the README's first command, verbatim, in a fresh clone of this repository at a new path,
# with no virtualenv or anything else left by an earlier run: a missing install step fails here
# even where the machine that runs CI already has it.
set -eu
top="$(cd "$(dirname "$0")/.." && pwd)"
first="$(awk '/^```(sh|bash|console)?$/{f=!f; if(!f) exit; next} f' "$top/README.md")"
[ -n "$first" ] || { echo "README.md has no first command block" >&2; exit 1; }
work="$(mktemp -d "${TMPDIR:-/tmp}/istiogen-fresh.XXXXXX")"
trap 'rm -rf "$work"' EXIT INT TERM
git clone -q "$top" "$work/repo"
cd "$work/repo"
{ [ ! -e .venv ] && [ ! -L .venv ]; } || { echo "the fresh clone already holds .venv: something machine-specific is committed" >&2; exit 1; }
echo "README's first command, in a fresh clone at $work/repo:"
printf '  %s\n' "$first"
sh -eu -c "$first"
echo "README's first command passed in a fresh clone"
