#!/bin/bash
# Run a sweep on a Slurm cluster: N shard tasks, then a merge job once all succeed.
#
#   experiments/slurm/submit.sh experiments/mltq-vs-mlb.toml out/mltq-vs-mlb 8
#
# MLTQ (path to the binary) and any sbatch options in SBATCH_* variables are passed on.
set -euo pipefail

spec=${1:?usage: submit.sh SPEC.toml OUT_DIR N}
out=${2:?usage: submit.sh SPEC.toml OUT_DIR N}
n=${3:?usage: submit.sh SPEC.toml OUT_DIR N}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"

jid=$(SHARDS=$n sbatch --parsable --export=ALL,SHARDS="$n" --array=1-"$n" \
    "$here/sweep.sbatch" "$spec" "$out")
jid=${jid%%;*}
mid=$(sbatch --parsable --dependency=afterok:"$jid" "$here/merge.sbatch" "$out")
echo "submitted shards $jid (1-$n) and merge $mid; results: $out/results.csv"
