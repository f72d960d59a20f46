#!/bin/bash
# Run a sweep on a Slurm cluster: N shard tasks (one job array), then a merge job that
# starts once every shard succeeded, and is cancelled (not left pending) if one fails.
#
#   experiments/slurm/submit.sh SPEC.toml OUT_DIR N            # shards 1..N, then the merge
#   experiments/slurm/submit.sh SPEC.toml OUT_DIR N K [K...]   # only shards K... (a failed
#                                                              # shard resumes), then the merge
#
# Environment (defaults fit a small node; raise them for big sweeps):
#   MLTQ            the mltq binary, reachable from the compute nodes (default: mltq on PATH)
#   MLTQ_CPUS       CPUs per shard task, its worker threads (default 2)
#   MLTQ_MEM        memory per shard task, as sbatch --mem (default 2G); mltq's memory
#                   budget inside the task is set to it (MLTQ_MAX_MEMORY)
#   MLTQ_TIME       time limit per shard task (default 02:00:00)
#   MLTQ_MERGE_MEM  memory of the merge job (default 1G)
#   SBATCH_PARTITION, SBATCH_ACCOUNT, SBATCH_QOS, ...: read by sbatch itself.
#
# Before anything is submitted, the sweep file is checked (mltq sweep --list) and sbatch
# --test-only checks that a node of the partition can ever run the jobs: a request no
# node can meet would otherwise stay pending forever (Reason=PartitionConfig).
set -euo pipefail

usage="usage: submit.sh SPEC.toml OUT_DIR N [K...]"
spec=${1:?$usage}
out=${2:?$usage}
n=${3:?$usage}
shift 3
here=$(cd "$(dirname "$0")" && pwd)
mltq=${MLTQ:-mltq}
cpus=${MLTQ_CPUS:-2}
mem=${MLTQ_MEM:-2G}
time=${MLTQ_TIME:-02:00:00}
merge_mem=${MLTQ_MERGE_MEM:-1G}

fail() {
    echo "submit.sh: $*" >&2
    exit 2
}

[[ $n =~ ^[1-9][0-9]*$ ]] || fail "N must be a number of shards (1 or more), got '$n'"
shards=("$@")
if [ ${#shards[@]} -eq 0 ]; then
    array="1-$n"
else
    for k in "${shards[@]}"; do
        [[ $k =~ ^[1-9][0-9]*$ ]] && [ "$k" -le "$n" ] || fail "shard '$k' is not in 1..$n"
    done
    array=$(IFS=,; echo "${shards[*]}")
fi
command -v sbatch >/dev/null || fail "sbatch not found: run this on a Slurm login node"
command -v "$mltq" >/dev/null || fail "mltq binary '$mltq' not found: set MLTQ=/path/to/mltq"
[ -f "$spec" ] || fail "no sweep file $spec"
# SPEC and OUT_DIR stay as given (the sweep's record names the file as given, as a run
# by hand would); the jobs start in this directory, and the hints below cd to it.
mltq=$(command -v "$mltq")
case $mltq in /*) ;; *) mltq=$PWD/$mltq ;; esac
mkdir -p "$out"

# A bad sweep file fails here, not in N jobs.
"$mltq" sweep "$spec" --list >/dev/null

# One sweep, one number of shards: a directory split 8 ways cannot take shard 3 of 5.
if [ -f "$out/shards" ]; then
    had=$(cat "$out/shards")
    [ "$had" = "$n" ] || fail "$out holds a sweep split into $had shards; resubmit with N=$had, or use another OUT_DIR"
else
    echo "$n" >"$out/shards.tmp" && mv "$out/shards.tmp" "$out/shards"
fi

resources=(--cpus-per-task="$cpus" --mem="$mem" --time="$time")
check() {
    local what=$1
    shift
    local why
    if ! why=$(sbatch --test-only "$@" --wrap=true 2>&1); then
        fail "no node can run $what ($*): ${why##*: }
  set MLTQ_CPUS, MLTQ_MEM, MLTQ_TIME or MLTQ_MERGE_MEM lower, or pick a partition
  (SBATCH_PARTITION); 'sinfo -o \"%P %c %m %l\"' lists CPUs, memory (MB) and time limits"
    fi
}
check "a shard task" "${resources[@]}"
check "the merge job" --mem="$merge_mem"

export MLTQ="$mltq" MLTQ_SLURM_DIR="$here"
jid=$(sbatch --parsable --chdir="$PWD" --array="$array" "${resources[@]}" --export=ALL,SHARDS="$n" \
    "$here/sweep.sbatch" "$spec" "$out")
jid=${jid%%;*}
mid=$(sbatch --parsable --chdir="$PWD" --mem="$merge_mem" --dependency=afterok:"$jid" --kill-on-invalid-dep=yes \
    "$here/merge.sbatch" "$out")
mid=${mid%%;*}
echo "submitted shards $array of $n as job $jid and the merge as job $mid"
echo "results: $out/results.csv (the merge runs once every shard succeeded, and is cancelled if one fails)"
echo "shard logs: slurm-mltq-sweep-${jid}_K.out; to rerun failed shards K... and the merge:"
echo "  cd $PWD && $here/submit.sh $spec $out $n K..."
