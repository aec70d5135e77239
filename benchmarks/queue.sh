#!/usr/bin/env bash
# The long benchmark runs: each from a git worktree of a fixed commit (edits to ladderae/ in this checkout cannot
# change a run half-way), each resumable: start the queue again after a stop or on a new machine and it goes on from
# what is on disk (finished runs are skipped, unfinished ones resume from their last finished epoch).
#
#   nohup benchmarks/queue.sh run > /work/queue.log 2>&1 &   # train and score everything below, in two lanes
#                                                            # (on a new machine, installing .venv first)
#   benchmarks/queue.sh status                               # the runs in progress (not finished), epochs done
#   benchmarks/queue.sh collect                              # finished runs into this checkout, tabulated here
#   benchmarks/queue.sh park                                 # before a stop: unfinished runs' state, kept aside
# Issue 27's lanes, each from worktrees of commits on main (a run JSON names the commit it trained at and the one it
# was scored at, both reachable from main). Done and committed: the IWAE paper's full protocol, 8 stages, seed 0 of
# the Keras VAE and of ladderae without pairs (results/iwae_protocol_8stages, trained and scored at cb9eb00 by this
# queue as it was at d9ed165); the 10-epoch hierarchical table's one-latent row with the LVAE's batch norm and
# warm-up (trained and scored at 1c700c4, committed at 2e43376). Still to run:
#   1. one row each lane: the Ladder VAE paper's comparison at its budget (`--protocol lvae`, 2,000 epochs, seed 0):
#      the hierarchical VAE with bottom-up inference in lane 1, the Ladder VAE in lane 2;
#   2. then, the provenance item first: lane 2 trains the Ladder network's 100-label rows again from a commit that
#      records its commits (3 draws, 150 epochs) while lane 1 runs the other 100-label rows (ladder_amlp, Gamma-model,
#      consistency pairs, one draw at 150 epochs: about as long); once both lanes are done and the cores free (its
#      speed section is timed), the main table from a commit on main, then the two examples whose results the notes
#      cite (the conv VAE's manifold, the diamonds table); last, the 1,000- and all-label rows at 150 epochs.
# A sitting ends with a hard stop; the worktrees outlive it on this machine, not on a new one (2026-12-08: a new
# machine, the LVAE rows' 485 and 225 epochs lost with their worktrees and parked copies; both started again). For a
# move to another one, `park` copies every unfinished run's work folder (backup, epoch log, training commit) to
# $PARK/<table>/work/ (default /work/parked, outside the repository: a run's state is 25 MB of weights and Adam's
# moments, the least an exact resume needs, and no file over 2 MB is committed), to be carried over; `run` copies
# parked work into a new worktree before it trains, so the run resumes from its last parked epoch.
# The seconds per epoch of runs trained side by side are not speed figures: each table's speed section is timed with
# the cores free (the 8-stage table takes the 4-stage folder's, the stage count does not change a step).
#
# `collect` copies each worktree's finished runs (JSON and pictures, not its floors) into this checkout and tabulates
# them with this checkout's code, training nothing (`mnist_vs_vae.py --report-only`, `mnist_ladder.py --report`);
# the runs of the lanes are paused meanwhile. Then commit the new results and the README's tables.
set -euo pipefail
MAIN=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
PY=${PY:-$MAIN/.venv/bin/python}
LVAE_COMMIT=${LVAE_COMMIT:-1c700c4}   # the bottom_up kind, --protocol lvae, Lasagne's leaky ReLU slope
LVAE_WTS=(${LVAE_WT:-/work/bench-lvae-bottom-up} ${LVAE_WT2:-/work/bench-lvae-ladder})
LVAE_ROWS=("hierarchical VAE, bottom-up" "Ladder VAE")
LADDER_WT=${LADDER_WT:-/work/bench-ladder}
LADDER_COMMIT=${LADDER_COMMIT:-48c3677}   # mnist_ladder.py records its commits
LADDER_RERUN_WT=${LADDER_RERUN_WT:-/work/bench-ladder-rerun}
MAIN_TABLE_WT=${MAIN_TABLE_WT:-/work/bench-main-table}
MAIN_TABLE_COMMIT=${MAIN_TABLE_COMMIT:-f6b8816}   # every run records its training and scoring commits
EXAMPLES_WT=${EXAMPLES_WT:-/work/bench-examples}   # the examples' results, from the main table's commit
PARK=${PARK:-/work/parked}
export KERAS_BACKEND=jax TF_CPP_MIN_LOG_LEVEL=3 LADDERAE_DATA=${LADDERAE_DATA:-/work/shared/data}
# Each lane's JAX on one thread: two lanes that each spread their matrix products over both cores stall one another
# (the LVAE rows side by side: 18 s an epoch each with XLA's threads, 10.8 s with one thread a lane). The runs after
# the lanes have the cores to themselves (and time the main table's speed section) with XLA's default threads.
LANE_XLA=${LANE_XLA:---xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1}

unpark() {  # worktree table: the parked work folders ($PARK) into the worktree, where it has none
  local from=$PARK/$2/work to=$1/benchmarks/results/$2/work run
  [ -d "$from" ] || return 0
  mkdir -p "$to"
  for run in "$from"/*/; do
    [ -e "$to/$(basename "$run")/history.csv" ] || cp -r "$run" "$to/"
  done
}

table() {  # worktree, training commit, scoring commit, out, then mnist_vs_vae.py arguments: train all, then score
  local wt=$1 commit=$2 score=$3 out=$4; shift 4
  [ -d "$wt" ] || git -C "$MAIN" worktree add --detach "$wt" "$commit"
  unpark "$wt" "$out"
  cd "$wt/benchmarks"
  git -C "$wt" checkout -q --detach "$commit"
  PYTHONPATH=$wt nice -n 10 "$PY" mnist_vs_vae.py "$@" --out "$wt/benchmarks/results/$out" --train-only
  git -C "$wt" checkout -q --detach "$score"
  PYTHONPATH=$wt nice -n 10 "$PY" mnist_vs_vae.py "$@" --out "$wt/benchmarks/results/$out"
}

ladder() {  # worktree commit, then mnist_ladder.py arguments
  local wt=$1 commit=$2; shift 2
  [ -d "$wt" ] || git -C "$MAIN" worktree add --detach "$wt" "$commit"
  unpark "$wt" ladder
  cd "$wt/benchmarks"
  PYTHONPATH=$wt nice -n 10 "$PY" mnist_ladder.py "$@" --out "$wt/benchmarks/results/ladder"
}

ladder_rows_100() {  # issue 27's fourth item, the Ladder network's 100-label rows still to run (one draw each)
  ladder "$LADDER_WT" "$LADDER_COMMIT" --labels 100 --draws 1 --epochs 150 --rows ladder_amlp gamma consistency
}

ladder_rows_more_labels() {  # the same item's 1,000- and all-label rows at the paper's 150 epochs
  ladder "$LADDER_WT" "$LADDER_COMMIT" --labels 1000 all --draws 1 --epochs 150 --rows ladder
}

retrain_in() {  # worktree commit folder: a new worktree less its committed runs of results/<folder>, which the
  # runners would skip (a run whose JSON exists is done); a worktree that exists keeps its runs (this rerun's own)
  [ -d "$1" ] && return 0
  git -C "$MAIN" worktree add --detach "$1" "$2"
  rm -f "$1/benchmarks/results/$3/runs/"*.json
}

rerun_ladder_100() {  # the Ladder network's 100-label rows, 3 draws at 150 epochs, from a commit that records commits
  retrain_in "$LADDER_RERUN_WT" "$LADDER_COMMIT" ladder
  ladder "$LADDER_RERUN_WT" "$LADDER_COMMIT" --labels 100 --draws 3 --epochs 150 --rows ladder supervised
}

rerun_main_table() {  # the main table (its sweep, runs, floors and speed rounds), trained and scored at one commit
  retrain_in "$MAIN_TABLE_WT" "$MAIN_TABLE_COMMIT" .
  unpark "$MAIN_TABLE_WT" .
  cd "$MAIN_TABLE_WT/benchmarks"
  PYTHONPATH=$MAIN_TABLE_WT nice -n 10 "$PY" mnist_vs_vae.py --out "$MAIN_TABLE_WT/benchmarks/results"
}

example() {  # results folder, then the example and its arguments: run once, its results.json stamped with the commit
  # it trained and was scored at (the worktree's, clean), in the fields a benchmark run records them in
  local out=$EXAMPLES_WT/benchmarks/results/$1; shift
  grep -qs '"trained_at"' "$out/results.json" && return 0
  (cd "$EXAMPLES_WT" && PYTHONPATH=$EXAMPLES_WT nice -n 10 "$PY" "$@" --out "$out")
  "$PY" -c 'import json, sys; path, commit = sys.argv[1:]; run = json.load(open(path))
run["trained_at"] = run["environment"] = {"commit": commit}
json.dump(run, open(path, "w"), indent=1)' "$out/results.json" "$(git -C "$EXAMPLES_WT" rev-parse HEAD)"
}

rerun_examples() {  # the examples the notes cite, each as the notes' command runs it
  [ -d "$EXAMPLES_WT" ] || git -C "$MAIN" worktree add --detach "$EXAMPLES_WT" "$MAIN_TABLE_COMMIT"
  example conv_vae examples/conv_vae_manifold.py --epochs 10
  example diamonds examples/tabular_diamonds.py --epochs 30 --seeds 0 1 2
}

lvae_lane() {  # lane number (0 or 1): its row of the LVAE paper's table, seed 0
  table "${LVAE_WTS[$1]}" "$LVAE_COMMIT" "$LVAE_COMMIT" lvae_paper --protocol lvae --speed-rounds 0 \
    --rows "${LVAE_ROWS[$1]}" --seeds 1
}

copy_runs() {  # worktree table: its finished runs (JSON, pictures) where this checkout lacks them or is older
  local from=$1/benchmarks/results/$2 to=$MAIN/benchmarks/results/$2
  [ -d "$from/runs" ] || return 0
  mkdir -p "$to/runs" "$to/plots"
  find "$from/runs" -maxdepth 1 -name '*.json' ! -name 'floor-*' -exec cp -u {} "$to/runs/" \;
  [ -d "$from/plots" ] && find "$from/plots" -maxdepth 1 -name '*.png' -exec cp -u {} "$to/plots/" \;
  return 0
}

epochs() {  # the epochs a run's work folder holds: its history's lines after the header (0 without one, or while a
  # run's first epoch has not ended and its history is still empty)
  local lines=0
  [ -e "$1/history.csv" ] && lines=$(wc -l < "$1/history.csv")
  echo $((lines > 1 ? lines - 1 : 0))
}

park() {  # every unfinished run's work folder to $PARK (carry it to a new machine: the run resumes from it); where two
  # worktrees hold a run (`run` unparks a table's runs into each of its lanes' worktrees), the copy with more epochs
  local wt table run
  for wt in "${LVAE_WTS[@]}" "$LADDER_WT" "$LADDER_RERUN_WT" "$MAIN_TABLE_WT"; do
    for table in "$wt"/benchmarks/results/work "$wt"/benchmarks/results/*/work; do   # the main table's, the others'
      [ -d "$table" ] || continue
      local name=$(basename "$(dirname "$table")")
      [ "$name" = results ] && name=.
      local to=$PARK/$name/work
      mkdir -p "$to"
      for run in "$table"/*/; do
        [ -d "$run" ] || continue   # an empty work folder (its runs finished): the pattern stays unexpanded
        local dest=$to/$(basename "$run")
        [ "$(epochs "$run")" -gt "$(epochs "$dest")" ] || [ ! -e "$dest" ] || continue
        rm -rf "$dest" && cp -r "$run" "$dest"
      done
    done
  done
  echo "parked in $PARK"
}

collect() {
  local wt
  for wt in "${LVAE_WTS[@]}"; do copy_runs "$wt" lvae_paper; done
  copy_runs "$LADDER_WT" ladder
  copy_runs "$LADDER_RERUN_WT" ladder
  local results=$MAIN/benchmarks/results
  local paused
  paused=$(pgrep -f -- '--_run' | tr '\n' ' ' || true)
  if [ -n "$paused" ]; then
    kill -STOP $paused
    trap "kill -CONT $paused" EXIT   # expanded now: the function's locals are gone at exit
  fi
  cd "$MAIN/benchmarks"
  if find "$results/lvae_paper/runs" -maxdepth 1 -name 'lvae-*.json' ! -name 'lvae-speed-*' 2> /dev/null | grep -q .; then
    "$PY" mnist_vs_vae.py --protocol lvae --rows "${LVAE_ROWS[@]}" --seeds 1 --out "$results/lvae_paper" --report-only
  fi
  "$PY" mnist_vs_vae.py --protocol hierarchical --seeds 3 --epochs 10 --out "$results/hierarchical" --report-only
  "$PY" mnist_ladder.py --report --out "$results/ladder"
  if grep -qs '"trained_at"' "$MAIN_TABLE_WT/benchmarks/results/results.json"; then   # the rerun's table is written
    copy_runs "$MAIN_TABLE_WT" .   # all of its runs at once, never half the table
    cp "$MAIN_TABLE_WT/benchmarks/results/log.txt" "$results/log.txt"
    "$PY" mnist_vs_vae.py --out "$results" --report-only
  fi
  local name png
  for name in conv_vae diamonds; do   # the examples' results once stamped, with the pictures the notes show
    grep -qs '"trained_at"' "$EXAMPLES_WT/benchmarks/results/$name/results.json" || continue
    cp "$EXAMPLES_WT/benchmarks/results/$name/results.json" "$results/$name/"
    for png in "$results/$name"/*.png; do cp "$EXAMPLES_WT/benchmarks/results/$name/$(basename "$png")" "$png"; done
  done
  "$PY" findings.py   # benchmarks/README.md's generated figures from the new JSON
  echo "tabulated; commit the new results and benchmarks/README.md"
}

status() {  # exits 0 (it failed with the result of its last test when the last run it looked at had finished)
  local wt h
  for wt in "${LVAE_WTS[@]}" "$LADDER_WT" "$LADDER_RERUN_WT" "$MAIN_TABLE_WT"; do
    for h in "$wt"/benchmarks/results/work/*/history.csv "$wt"/benchmarks/results/*/work/*/history.csv; do
      local run=$(basename "$(dirname "$h")")
      if [ -e "$h" ] && [ ! -e "$(dirname "$h")/../../runs/$run.json" ]; then
        echo "$wt: $run: $(epochs "$(dirname "$h")") epochs done"
      fi
    done
  done
}

[ "${BASH_SOURCE[0]}" = "$0" ] || return 0   # sourced (the tests): the functions above, nothing run

case "${1:-}" in
  run)
    if [ ! -x "$PY" ]; then   # a new machine: the environment CI installs (the README's test command), then train
      python3 -m venv "$MAIN/.venv" && "$MAIN/.venv/bin/pip" install -q --no-compile -e "$MAIN[dev]"
    fi
    { export XLA_FLAGS=$LANE_XLA; lvae_lane 0; ladder_rows_100; } > >(sed -u 's/^/[lane 1] /') 2>&1 &
    { export XLA_FLAGS=$LANE_XLA; lvae_lane 1; rerun_ladder_100; } > >(sed -u 's/^/[lane 2] /') 2>&1 &
    wait
    rerun_main_table > >(sed -u 's/^/[main table] /') 2>&1
    rerun_examples > >(sed -u 's/^/[examples] /') 2>&1
    ladder_rows_more_labels > >(sed -u 's/^/[ladder] /') 2>&1 ;;
  status) status ;;
  park) park ;;
  collect) collect ;;
  *) sed -n '2,10p' "$0"; exit 2 ;;
esac
