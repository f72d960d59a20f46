#!/usr/bin/env bash
# experiments/slurm/ against a real Slurm: a one-node cluster started by hand under a
# temporary directory (munged, slurmctld and slurmd, no systemd), a small sweep run as
# 3 shards with submit.sh, checked byte for byte against the unsharded sweep; then a
# shard made to fail (the merge is cancelled, not left pending), rerun with the command
# the failed shard's log prints, which completes the sweep; and a request no node can
# meet, refused at submission. Every daemon started here is stopped by its pid.
#
#   tests/slurm/run.sh [MLTQ_BINARY]      (default: target/debug/mltq)
#
# Needs Debian's slurmctld, slurmd, slurm-client and munge (`.ci/run` installs them as
# root). Exit 0 when every check passed, 77 when Slurm is not installed (skipped, with
# the reason), 1 on a failed check.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
mltq=${1:-$root/target/debug/mltq}
case $mltq in /*) ;; *) mltq=$PWD/$mltq ;; esac

for tool in munged mungekey slurmctld slurmd sbatch squeue scontrol scancel sinfo python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "slurm test skipped: $tool is not installed (apt-get install slurmctld slurmd slurm-client munge)"
        exit 77
    fi
done
[ -x "$mltq" ] || { echo "slurm test: no mltq binary at $mltq" >&2; exit 1; }

start=$(date +%s)
tmp=$(mktemp -d /tmp/mltq-slurm.XXXXXX)
pids=()
log() { echo "slurm test: $*"; }
die() {
    echo "slurm test FAILED: $*" >&2
    for f in "$tmp"/log/*.log; do
        [ -f "$f" ] && { echo "--- last lines of $f" >&2; tail -n 15 "$f" >&2; }
    done
    exit 1
}

cleanup() {
    local status=$?
    if [ -n "${SLURM_CONF:-}" ] && [ ${#pids[@]} -ge 3 ]; then
        # Jobs first (their processes belong to slurmstepd, not to the daemons).
        scancel --quiet --user="$(id -un)" 2>/dev/null || true
        for _ in $(seq 1 30); do
            [ -z "$(squeue -h 2>/dev/null)" ] && break
            sleep 1
        done
    fi
    # Daemons in reverse order of start, each by the pid this script started.
    local i
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill "${pids[i]}" 2>/dev/null || true
    done
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        for _ in $(seq 1 50); do
            kill -0 "${pids[i]}" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "${pids[i]}" 2>/dev/null; then
            kill -9 "${pids[i]}" 2>/dev/null || true
        fi
        wait "${pids[i]}" 2>/dev/null || true
    done
    if [ "$status" -eq 0 ]; then
        rm -rf "$tmp"
    else
        echo "slurm test: state kept in $tmp" >&2
    fi
}
trap cleanup EXIT

mkdir -p "$tmp"/{munge,etc,state,spool,log,run,work}
chmod 700 "$tmp/munge"

# --- munge ---------------------------------------------------------------------------
mungekey --create --keyfile="$tmp/munge/munge.key" --bits=1024
socket=$tmp/munge/munge.socket
munged --foreground --force --socket="$socket" --key-file="$tmp/munge/munge.key" \
    --pid-file="$tmp/run/munged.pid" --seed-file="$tmp/munge/munged.seed" \
    --log-file="$tmp/log/munged.log" >"$tmp/log/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do [ -S "$socket" ] && break; sleep 0.1; done
[ -S "$socket" ] || die "munged did not create its socket"

# --- slurm.conf: one node with this machine's CPUs and most of its memory -----------
read -r ctld_port slurmd_port < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.8 }' /proc/meminfo)
export SLURM_CONF=$tmp/etc/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=mltqtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/run/slurmctld.pid
SlurmdPidFile=$tmp/run/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
MinJobAge=600
KillWait=5
NodeName=mltqnode NodeHostname=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

slurmctld -D -i -f "$SLURM_CONF" >"$tmp/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -N mltqnode -f "$SLURM_CONF" >"$tmp/log/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do
    [ "$(sinfo -h -n mltqnode -o %t 2>/dev/null)" = idle ] && break
    sleep 1
done
[ "$(sinfo -h -n mltqnode -o %t 2>/dev/null)" = idle ] || die "the node did not come up idle: $(sinfo 2>&1)"
log "one-node Slurm up ($(sinfo -V), $cpus CPUs, $mem_mb MB) in $(($(date +%s) - start)) s"

# --- helpers -------------------------------------------------------------------------
states() { # the distinct states of a job (all tasks of an array)
    { scontrol show job "$1" -o 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2 | sort -u | tr '\n' ' '; } || true
}
reason() {
    { scontrol show job "$1" -o 2>/dev/null | grep -o 'Reason=[A-Za-z_]*' | head -n 1 | cut -d= -f2; } || true
}
wait_done() { # wait until every task of job $1 is in a final state (at most $2 s, default 300)
    local s limit=${2:-300}
    for _ in $(seq 1 "$limit"); do
        s=$(states "$1")
        [ -n "$s" ] && ! [[ $s =~ PENDING|RUNNING|CONFIGURING|COMPLETING|SUSPENDED|REQUEUED ]] && return 0
        sleep 1
    done
    die "job $1 still not finished after $limit s: $s ($(reason "$1"))"
}
jobs_of() { # "shards job J and the merge as job M" -> "J M"
    sed -n 's/.* as job \([0-9]*\) and the merge as job \([0-9]*\)$/\1 \2/p' <<<"$1"
}

# --- a small sweep, and its unsharded results ------------------------------------------
work=$tmp/work
cd "$work"
cp "$root/arch/embedded.toml" .
cat >small.toml <<'EOF'
name = "small"
[fixed]
arch = "embedded.toml"
network = "resnet20"
[grid]
weight_density = [1.0, 0.5, 0.25]
column_registers = [0, 2]
EOF
"$mltq" sweep small.toml --out ref --threads 1 >/dev/null
submit=$root/experiments/slurm/submit.sh
export MLTQ=$mltq MLTQ_CPUS=1 MLTQ_MEM=512M MLTQ_TIME=00:10:00 MLTQ_MERGE_MEM=256M

# --- 1. three shards and the merge: the unsharded results, byte for byte -------------
t=$(date +%s)
said=$("$submit" small.toml out 3)
read -r jid mid < <(jobs_of "$said") || true
[ -n "${mid:-}" ] || die "cannot read the job ids from submit.sh's output: $said"
wait_done "$jid"
wait_done "$mid"
[ "$(states "$jid")" = "COMPLETED " ] || die "shards ended $(states "$jid")"
[ "$(states "$mid")" = "COMPLETED " ] || die "merge ended $(states "$mid") ($(reason "$mid"))"
cmp out/results.csv ref/results.csv || die "merged results.csv differs from the unsharded sweep"
cmp out/sweep.json ref/sweep.json || die "merged sweep.json differs from the unsharded sweep"
log "3 shards + merge: results.csv and sweep.json equal the unsharded sweep ($(($(date +%s) - t)) s)"

# --- 2. a failing shard: the merge is cancelled, the printed command completes it ----
t=$(date +%s)
cat >"$tmp/mltq-flaky" <<EOF
#!/bin/bash
# mltq, except that shard 2 fails while $tmp/fail-shard-2 exists.
if [ "\${SLURM_ARRAY_TASK_ID:-}" = 2 ] && [ -e "$tmp/fail-shard-2" ]; then
    echo "shard 2 made to fail" >&2
    exit 1
fi
exec "$mltq" "\$@"
EOF
chmod +x "$tmp/mltq-flaky"
touch "$tmp/fail-shard-2"
said=$(MLTQ=$tmp/mltq-flaky "$submit" small.toml out2 3)
read -r jid mid < <(jobs_of "$said") || true
wait_done "$jid"
# Without --kill-on-invalid-dep the merge would stay PENDING (DependencyNeverSatisfied).
wait_done "$mid" 30
[ "$(states "$jid")" = "COMPLETED FAILED " ] || die "shards ended $(states "$jid"), expected one FAILED"
[ "$(states "$mid")" = "CANCELLED " ] || die "merge ended $(states "$mid") ($(reason "$mid")), expected CANCELLED"
[ "$(reason "$mid")" = DependencyNeverSatisfied ] || die "merge cancelled for $(reason "$mid")"
[ ! -e out2/results.csv ] || die "out2/results.csv exists although a shard failed"
shard_log=slurm-mltq-sweep-${jid}_2.out
grep -q "shard 2/3 failed" "$shard_log" || die "the failed shard's log does not say so: $(cat "$shard_log")"
rerun=$(grep -A1 "rerun this shard" "$shard_log" | tail -n 1)
[ "$rerun" = "  cd $work && $root/experiments/slurm/submit.sh small.toml out2 3 2" ] ||
    die "unexpected rerun hint: $rerun"
log "shard 2 failed, the merge was cancelled (DependencyNeverSatisfied); the log says: $rerun"
rm "$tmp/fail-shard-2"
said=$(eval "$rerun")
read -r jid mid < <(jobs_of "$said") || true
wait_done "$jid"
wait_done "$mid"
[ "$(states "$jid")" = "COMPLETED " ] || die "rerun shard ended $(states "$jid")"
[ "$(states "$mid")" = "COMPLETED " ] || die "second merge ended $(states "$mid") ($(reason "$mid"))"
cmp out2/results.csv ref/results.csv || die "results after the rerun differ from the unsharded sweep"
log "rerun of shard 2 + merge: results equal the unsharded sweep ($(($(date +%s) - t)) s)"

# --- 3. requests no node can meet are refused before anything is submitted ----------
before=$(scontrol show job -o 2>/dev/null | grep -c JobId || true)
if msg=$(MLTQ_CPUS=$((cpus + 1)) "$submit" small.toml out3 3 2>&1); then
    die "submit.sh accepted $((cpus + 1)) CPUs per task on a $cpus-CPU node"
fi
[[ $msg == *"no node can run a shard task"*"MLTQ_CPUS"* ]] || die "unclear refusal: $msg"
if MLTQ_MEM=$((mem_mb * 2))M "$submit" small.toml out3 3 >/dev/null 2>&1; then
    die "submit.sh accepted more memory than the node has"
fi
if msg=$("$submit" small.toml out 5 2>&1); then
    die "submit.sh accepted 5 shards into a directory of 3"
fi
[[ $msg == *"split into 3 shards"* ]] || die "unclear refusal: $msg"
after=$(scontrol show job -o 2>/dev/null | grep -c JobId || true)
[ "$before" = "$after" ] || die "refused submissions left jobs behind"
log "oversized requests and a mismatched shard count refused before submission"

# A task resubmitted by hand without SHARDS reads the count submit.sh recorded.
jid=$(sbatch --parsable --array=3 "$root/experiments/slurm/sweep.sbatch" small.toml out)
wait_done "$jid"
[ "$(states "$jid")" = "COMPLETED " ] || die "hand-resubmitted shard 3 ended $(states "$jid"): $(cat slurm-mltq-sweep-"$jid"_3.out)"
python3 -c 'import json, sys; s = json.load(open(sys.argv[1]))["shard"]; assert (s["k"], s["n"]) == (3, 3), s' \
    out/shard-3/sweep.json || die "hand-resubmitted shard 3 did not run as shard 3/3"

log "all checks passed in $(($(date +%s) - start)) s"
echo "slurm: 4 passed, 0 failed"
