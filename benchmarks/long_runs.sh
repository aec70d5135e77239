#!/usr/bin/env bash
# The IWAE-paper protocol's long runs, from a git worktree of a fixed commit, so that edits to ladderae/ in the main
# checkout cannot change a run half-way. Each run saves its state every epoch: run this script again (same COMMIT)
# to resume every run from its last finished epoch; finished runs are skipped.
#
#   benchmarks/long_runs.sh start              # train every run, then score them (nohup, nice, JAX, one at a time)
#   benchmarks/long_runs.sh status             # the log's last lines and each unfinished run's epochs
#   benchmarks/long_runs.sh collect            # copy finished runs' JSON into the main checkout and commit them
#   STAGES=8 benchmarks/long_runs.sh start     # the paper's 3,280 epochs: a GPU machine (JAX with CUDA)
#
# Settings (environment): COMMIT (default: the commit recorded in $WT/.bench-commit, else HEAD), WT (the worktree,
# /work/bench-wt), STAGES (5), SEEDS (3), ROWS (the three rows below; ROWS=all for every protocol row).
# Scoring with a newer ladderae (a faster evaluate.iwae_nll) once training is done: stop the job, then
# `git -C /work/bench-wt checkout --detach <commit>` and `start` again: trained runs only score.
set -euo pipefail
MAIN=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
WT=${WT:-/work/bench-wt}
STAGES=${STAGES:-5}
SEEDS=${SEEDS:-3}
OUT=$WT/benchmarks/results/iwae_protocol
PY=${PY:-$MAIN/.venv/bin/python}
DEFAULT_ROWS=("plain VAE (Keras, baseline)" "ladderae, no pairs" "mirror, none")

worktree() {
  if [ ! -d "$WT" ]; then
    git -C "$MAIN" worktree add "$WT" "${COMMIT:-HEAD}"
  fi
  git -C "$WT" rev-parse HEAD > "$WT/.bench-commit"
}

rows() {
  if [ "${ROWS:-}" = all ]; then return; fi
  printf -- '--rows'; printf ' %q' "${DEFAULT_ROWS[@]}"
}

case "${1:-}" in
  start)
    if [ -e "$OUT/pid" ] && kill -0 "$(cat "$OUT/pid")" 2> /dev/null; then
      echo "already running (pid $(cat "$OUT/pid")): one run at a time"; exit 1
    fi
    worktree
    mkdir -p "$OUT"
    args="--protocol iwae --stages $STAGES --seeds $SEEDS --out $OUT $(rows)"
    cd "$WT/benchmarks"
    export KERAS_BACKEND=jax TF_CPP_MIN_LOG_LEVEL=3 PYTHONPATH="$WT" LADDERAE_DATA=${LADDERAE_DATA:-/work/shared/data}
    nohup nice -n 10 bash -c "$PY mnist_vs_vae.py $args --train-only && $PY mnist_vs_vae.py $args" \
      >> "$OUT/nohup.log" 2>&1 &
    echo $! > "$OUT/pid"
    echo "started (pid $!): tail -f $OUT/log.txt (each run's output: $OUT/logs/)"
    ;;
  status)
    tail -n 5 "$OUT/log.txt"
    for h in "$OUT"/work/*/history.csv; do
      [ -e "$h" ] && echo "$(basename "$(dirname "$h")"): $(($(wc -l < "$h") - 1)) epochs done"
    done
    ;;
  collect)
    dest=$MAIN/benchmarks/results/iwae_protocol
    mkdir -p "$dest/runs"
    for f in "$OUT"/runs/*.json "$OUT"/results.md "$OUT"/results.json; do
      [ -e "$f" ] || continue
      rel=${f#"$OUT"/}
      if ! cmp -s "$f" "$dest/$rel"; then cp "$f" "$dest/$rel"; echo "copied $rel"; fi
    done
    cd "$MAIN"
    git add benchmarks/results/iwae_protocol
    if ! git diff --cached --quiet -- benchmarks/results/iwae_protocol; then
      git commit -q -m "IWAE protocol: finished runs from $(cat "$WT/.bench-commit" | cut -c1-7)" -- benchmarks/results/iwae_protocol
      git log --oneline -1
    fi
    if [ -e "$dest/results.md" ]; then
      echo "put the tables of $dest/results.md in README.md's protocol section (tests/test_readme_benchmark.py checks)"
    fi
    ;;
  *)
    sed -n '2,15p' "$0"; exit 2 ;;
esac
