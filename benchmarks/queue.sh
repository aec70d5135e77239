#!/usr/bin/env bash
# The long benchmark runs: each from a git worktree of a fixed commit (edits to ladderae/ in this checkout cannot
# change a run half-way), each resumable: start the queue again after a stop or on a new machine and it goes on from
# what is on disk (finished runs are skipped, unfinished ones resume from their last finished epoch).
#
#   nohup benchmarks/queue.sh run > /work/queue.log 2>&1 &   # train and score everything below, in two lanes
#   benchmarks/queue.sh status                               # the runs in progress (not finished), epochs done
#   benchmarks/queue.sh collect                              # finished runs into this checkout, tabulated here
#
# The IWAE lane (issue 14):
#   1. the IWAE protocol at 6 stages: baseline, no pairs and `mirror, none`, 3 seeds (seed 0 of every row first),
#      from a worktree of IWAE_COMMIT, the 5-stage table's: train, then score. Then the IWAE k=50 objective at 6
#      stages, one seed, from a worktree of IWAE4_COMMIT (the k=50 rows' commit): the issue's goal figure is at 6
#      stages, and k=50 was 2.89 nats ahead of the Keras VAE at 4 (about 8x a k=1 row's work per step).
# The second lane: the open issue's other table first, then the Ladder's rows (issues 12 and 13 have ended):
#   2. the IWAE protocol at 4 stages (40 epochs), every row, from a worktree of IWAE4_COMMIT: the IWAE k=50 objective
#      rows cost about 8x a k=1 row per step, so they run at this smaller budget, beside the k=1 rows at the same one;
#   3. the hierarchical table (issue 13), from a worktree of HIER_COMMIT: train every run, then score them;
#   4. the Ladder network at 100 labels and the paper's 150 epochs (issue 12): the full ladder on 3 label draws,
#      then supervised only, from a worktree of LADDER_COMMIT; then, from one of LADDER_NEW_COMMIT, the full ladder
#      at 1,000 and all labels at a reduced 30 epochs and the other 100-label rows.
#   Each stage count writes its own folder (iwae_protocol_<S>stages): a table's results.md holds its own runs only.
# At batch 20 the IWAE runs leave much of two cores idle: side by side, an IWAE epoch went from 3.1 to 3.6 s and a
# supervised Ladder epoch from 5.3 to 10.3 s, about 1.4 times the work per hour of one lane. The seconds per epoch of
# runs trained side by side are not speed figures: each table's speed section is timed with the cores free.
#
# `collect` copies each worktree's finished runs (JSON and pictures, not its floors) into this checkout and tabulates
# them with this checkout's code, training nothing (`mnist_vs_vae.py --report-only`, `mnist_ladder.py --report`);
# the runs of the lanes are paused meanwhile, since a floor measured for the first time wants the cores free. Then
# put the new results.md tables in README.md (tests/test_readme_benchmark.py checks) and commit.
# WAIT_LADDER (the second lane), WAIT_IWAE: a process for that lane to wait for first (the benchmark an earlier
# queue started, when the queue is replaced).
# The paper's 8 stages want a GPU machine: KERAS_BACKEND=jax python benchmarks/mnist_vs_vae.py --protocol iwae
# --stages 8 (JAX's CUDA build installed), resumable the same way.
set -euo pipefail
MAIN=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
PY=${PY:-$MAIN/.venv/bin/python}
HIER_WT=${HIER_WT:-/work/bench-hier}
HIER_COMMIT=${HIER_COMMIT:-72c498f}   # evaluate_hierarchy with the encoder run once per example
LADDER_WT=${LADDER_WT:-/work/bench-ladder}
LADDER_COMMIT=${LADDER_COMMIT:-1c045be}   # batches in parts: the decoder on the unlabelled rows (speed-jax.json timed it)
LADDER_NEW_WT=${LADDER_NEW_WT:-/work/bench-ladder2}
LADDER_NEW_COMMIT=${LADDER_NEW_COMMIT:-3b91aa8}   # the reference's noise at 1,000 labels: input 0.3, layers 0.2
IWAE_WT=${IWAE_WT:-/work/bench-wt}
IWAE_COMMIT=${IWAE_COMMIT:-e2a2434}   # the commit the 5-stage runs were trained and scored at
IWAE4_WT=${IWAE4_WT:-/work/bench-iwae4}
IWAE4_COMMIT=${IWAE4_COMMIT:-11ba8e0}   # the k=50 rows run the layers below z once per example (27% less per step)
IWAE6K_WT=${IWAE6K_WT:-/work/bench-iwae6k}   # the 6-stage k=50 run: IWAE4_COMMIT, its own worktree and checkouts
# Scoring commits: a training commit with 7e1fec5's compiled IWAE scoring alone applied (3.7x faster, the same draws;
# tags bench-score-<training commit>), so that the runs trained at a fixed commit are scored in minutes, not hours.
IWAE_SCORE_COMMIT=${IWAE_SCORE_COMMIT:-2af8cea}
IWAE4_SCORE_COMMIT=${IWAE4_SCORE_COMMIT:-a6513a2}
IWAE6=(--protocol iwae --stages 6 --rows "plain VAE (Keras, baseline)" "ladderae, no pairs" "mirror, none")
IWAE6K_ROW="IWAE k=50, no pairs"
IWAE6K=(--protocol iwae --stages 6 --rows "$IWAE6K_ROW")
IWAE4=(--protocol iwae --stages 4)
export KERAS_BACKEND=jax TF_CPP_MIN_LOG_LEVEL=3 LADDERAE_DATA=${LADDERAE_DATA:-/work/shared/data}

wait_for() { while [ -n "${1:-}" ] && kill -0 "$1" 2> /dev/null; do sleep 60; done; }

table() {  # worktree, training commit, scoring commit, out, then mnist_vs_vae.py arguments: train all, then score
  local wt=$1 commit=$2 score=$3 out=$4; shift 4
  [ -d "$wt" ] || git -C "$MAIN" worktree add "$wt" "$commit"
  cd "$wt/benchmarks"
  git -C "$wt" checkout -q --detach "$commit"
  PYTHONPATH=$wt nice -n 10 "$PY" mnist_vs_vae.py "$@" --out "$wt/benchmarks/results/$out" --train-only
  git -C "$wt" checkout -q --detach "$score"
  PYTHONPATH=$wt nice -n 10 "$PY" mnist_vs_vae.py "$@" --out "$wt/benchmarks/results/$out"
}

ladder() {  # worktree commit, then mnist_ladder.py arguments
  local wt=$1 commit=$2; shift 2
  [ -d "$wt" ] || git -C "$MAIN" worktree add "$wt" "$commit"
  cd "$wt/benchmarks"
  PYTHONPATH=$wt nice -n 10 "$PY" mnist_ladder.py "$@" --out "$wt/benchmarks/results/ladder"
}

ladder_lane() {
  table "$HIER_WT" "$HIER_COMMIT" "$HIER_COMMIT" hierarchical --protocol hierarchical --seeds 3 --epochs 10
  ladder "$LADDER_WT" "$LADDER_COMMIT" --labels 100 --draws 3 --epochs 150 --rows ladder
  ladder "$LADDER_WT" "$LADDER_COMMIT" --labels 100 --draws 3 --epochs 150 --rows supervised
  # The rows still to run, from the newer commit: one draw of each label count first (every row a figure soonest),
  # then the issue's other rows at 100 labels, one draw at the full budget: the second combinator first (the issue's
  # candidate to beat the paper), then the Gamma-model and today's consistency pairs.
  ladder "$LADDER_NEW_WT" "$LADDER_NEW_COMMIT" --labels 1000 all --draws 1 --epochs 30 --rows ladder
  ladder "$LADDER_NEW_WT" "$LADDER_NEW_COMMIT" --labels 100 --draws 1 --epochs 150 --rows ladder_amlp gamma consistency
  ladder "$LADDER_NEW_WT" "$LADDER_NEW_COMMIT" --labels 1000 all --draws 3 --epochs 30 --rows ladder
}

iwae_lane() {
  wait_for "${WAIT_IWAE:-}"
  local seeds
  for seeds in 1 3; do   # seed 0 of every row trained and scored first: a one-seed table soonest
    table "$IWAE_WT" "$IWAE_COMMIT" "$IWAE_SCORE_COMMIT" iwae_protocol_6stages "${IWAE6[@]}" --seeds $seeds
  done
  table "$IWAE6K_WT" "$IWAE4_COMMIT" "$IWAE4_SCORE_COMMIT" iwae_protocol_6stages "${IWAE6K[@]}" --seeds 1
}

second_lane() {  # the open issue's second table first; the Ladder's remaining rows (issue 12 ended) after
  wait_for "${WAIT_LADDER:-}"
  table "$IWAE4_WT" "$IWAE4_COMMIT" "$IWAE4_SCORE_COMMIT" iwae_protocol_4stages "${IWAE4[@]}" --seeds 3
  ladder_lane
}

copy_runs() {  # worktree table: its finished runs (JSON, pictures) where this checkout lacks them or is older
  local from=$1/benchmarks/results/$2 to=$MAIN/benchmarks/results/$2
  [ -d "$from/runs" ] || return 0
  mkdir -p "$to/runs" "$to/plots"
  find "$from/runs" -maxdepth 1 -name '*.json' ! -name 'floor-*' -exec cp -u {} "$to/runs/" \;
  [ -d "$from/plots" ] && find "$from/plots" -maxdepth 1 -name '*.png' -exec cp -u {} "$to/plots/" \;
  return 0
}

trained() {  # whether a table folder holds a finished training run, iwae-<row>-<S>stages-<seed>.json (not a speed
  # round nor a floor): a table of none would be empty
  find "$1/runs" -maxdepth 1 -name 'iwae-*-[0-9]stages-*.json' 2> /dev/null | grep -q .
}

collect() {
  copy_runs "$IWAE_WT" iwae_protocol_6stages
  copy_runs "$IWAE6K_WT" iwae_protocol_6stages
  copy_runs "$IWAE4_WT" iwae_protocol_4stages
  copy_runs "$LADDER_WT" ladder
  copy_runs "$LADDER_NEW_WT" ladder
  local results=$MAIN/benchmarks/results
  # Speed rounds and floors do not depend on the stage count: the 4-stage folder's (rows, k sweep, each k's floor)
  # serve the 6-stage table too, so that the two tables' speed sections are the same tables.
  mkdir -p "$results/iwae_protocol_6stages/runs"
  find "$results/iwae_protocol_4stages/runs" \( -name 'iwae-speed-*.json' -o -name 'iwae-ksweep-*.json' \) \
    -exec cp -n {} "$results/iwae_protocol_6stages/runs/" \;
  find "$results/iwae_protocol_4stages/runs" -name 'floor-*.json' -exec cp {} "$results/iwae_protocol_6stages/runs/" \;
  local paused
  paused=$(pgrep -f -- '--_run' | tr '\n' ' ' || true)
  if [ -n "$paused" ]; then
    kill -STOP $paused
    trap "kill -CONT $paused" EXIT   # expanded now: the function's locals are gone at exit
  fi
  cd "$MAIN/benchmarks"
  if trained "$results/iwae_protocol_6stages"; then
    "$PY" mnist_vs_vae.py "${IWAE6[@]}" "$IWAE6K_ROW" --seeds 3 --out "$results/iwae_protocol_6stages" --report-only
  fi
  if trained "$results/iwae_protocol_4stages"; then
    "$PY" mnist_vs_vae.py "${IWAE4[@]}" --seeds 3 --out "$results/iwae_protocol_4stages" --report-only
  fi
  "$PY" mnist_ladder.py --report --out "$results/ladder"
  echo "tabulated; put the new tables in README.md (tests/test_readme_benchmark.py checks), then commit"
}

status() {
  local wt h
  for wt in "$HIER_WT" "$LADDER_WT" "$LADDER_NEW_WT" "$IWAE_WT" "$IWAE4_WT" "$IWAE6K_WT"; do
    for h in "$wt"/benchmarks/results/*/work/*/history.csv; do
      local run=$(basename "$(dirname "$h")")
      [ -e "$h" ] && [ ! -e "$(dirname "$h")/../../runs/$run.json" ] && echo "$wt: $run: $(($(wc -l < "$h") - 1)) epochs done"
    done
  done
}

case "${1:-}" in
  run)
    second_lane > >(sed -u 's/^/[iwae4, ladder] /') 2>&1 &
    iwae_lane > >(sed -u 's/^/[iwae] /') 2>&1 &
    wait ;;
  status) status ;;
  collect) collect ;;
  *) sed -n '2,9p' "$0"; exit 2 ;;
esac
