#!/usr/bin/env bash
# Issue 23's SGD figures, by hand: each shared SGD service is imported as a pack (packs import-sgd),
# every one of its goals is run with --llm scripted, its real dialogues are imported beside them
# (import sgd) and `metrics` prints the two sets side by side; then 50 goals drawn from the pack.
#   bash benchmarks/sgd_services.sh [OUT]      (SGD=folder of the services, default ../shared/data/sgd)
set -euo pipefail
G=${GOALCONVO:-goalconvo}
SGD=${SGD:-../shared/data/sgd}
[ -d "$SGD/Services_3" ] || { echo "no SGD services under $SGD (set SGD=folder holding Services_3, Services_2, Banks_1)" >&2; exit 2; }
SGD=$(realpath "$SGD")
OUT=${1:-runs-sgd}; mkdir -p "$OUT"; cd "$OUT"
for s in Services_3 Services_2 Banks_1; do
  rm -rf "packs/$s" "db-$s.duckdb" "db-$s-drawn.duckdb"
  $G packs import-sgd "$SGD/$s" --out "packs/$s" | tail -2
  echo "== $s: every goal"; $G run --pack "packs/$s" --all-goals --llm scripted --concurrency 16 --db "db-$s.duckdb" 2>&1 | tail -1
  $G import sgd "$SGD/$s" --pack "packs/$s" --db "db-$s.duckdb" 2>&1 | tail -1
  $G metrics --db "db-$s.duckdb" 2>&1 | grep -E "figure|dialogues|acceptance|goal_completion|exchanges"
  echo "== $s: 50 goals generated from the pack"; $G run --pack "packs/$s" --goals 50 --goal-source generate --llm scripted --db "db-$s-drawn.duckdb" 2>&1 | tail -1
  $G metrics --db "db-$s-drawn.duckdb" 2>&1 | grep -E "dialogues|acceptance|goal_completion|exchanges"
done
