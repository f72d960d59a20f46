#!/usr/bin/env bash
# Regenerate the figures and tables of experiments/README.md from the sweep files here.
#
#   experiments/run.sh                 # all four experiments
#   experiments/run.sh mltq-vs-mlb     # or fixed-point, array-shape, weight-scheduling (several allowed)
#
# Environment: MLTQ=path/to/mltq to use an existing binary (default: build
# target/release/mltq without the onnx feature); THREADS=N worker threads (default: one
# per core). Sweeps resume: rerunning after an interruption only simulates the points
# not yet in experiments/out/NAME/journal.jsonl (delete that directory to start over).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root"

if [ -z "${MLTQ:-}" ]; then
    cargo build --release --no-default-features --bin mltq
    MLTQ=$root/target/release/mltq
fi
out=experiments/out
fig=experiments/figures
mkdir -p "$fig"

sweep() {
    "$MLTQ" sweep "experiments/$1.toml" --out "$out/$1" ${THREADS:+--threads "$THREADS"}
}

plot() {
    "$MLTQ" plot "$@"
}

mltq_vs_mlb() {
    sweep mltq-vs-mlb
    local r=$out/mltq-vs-mlb/results.csv
    for net in resnet20 resnet18; do
        plot sweep --from "$r" --filter "network=$net" --x weight_density \
            --series weights --panel scheme --log-y --hline 15,45 \
            --title "MLTQ vs MLB on $net: speedup over mlb as weights are pruned" \
            --out "$fig/mltq-vs-mlb-$net.png"
    done
    plot gap --from "$r" --title "MLTQ vs MLB: achieved vs potential, every sweep point" \
        --out "$fig/mltq-vs-mlb-gap.png"
    awk -F, -f experiments/thresholds.awk "$r" > "$fig/mltq-vs-mlb-thresholds.md"
    echo "wrote $fig/mltq-vs-mlb-thresholds.md"
}

fixed_point() {
    sweep fixed-point
    local r=$out/fixed-point/results.csv
    plot totals --from "$r" \
        --title "Fixed-point designs over dadiannao (int:16)" \
        --out "$fig/fixed-point.png"
    # Per layer: resnet50 (54 layers) without column registers (point 4).
    plot layers --from "$r" --filter point=4 \
        --title "resnet50 (int:16) per layer: speedup over dadiannao" \
        --out "$fig/fixed-point-resnet50-layers.png"
    plot util --from "$r" --filter point=4 \
        --title "resnet50 (int:16) per layer: lane utilization" \
        --out "$fig/fixed-point-resnet50-util.png"
}

array_shape() {
    sweep array-shape
    local r=$out/array-shape/results.csv
    plot sweep --from "$r" --filter columns=16 --filter column_registers=0 --x lanes \
        --log-x --y achieved --title "resnet20: achieved speedup over mlb vs lanes per PE (16 columns, no column registers)" \
        --out "$fig/array-shape-lanes.png"
    plot sweep --from "$r" --filter lanes=16 --filter column_registers=0 --x columns \
        --log-x --y achieved --title "resnet20: achieved speedup over mlb vs PE columns (16 lanes, no column registers)" \
        --out "$fig/array-shape-columns.png"
    plot sweep --from "$r" --filter lanes=16 --x column_registers --series columns \
        --panel scheme --y achieved \
        --title "resnet20: achieved speedup over mlb vs column registers (16 lanes)" \
        --out "$fig/array-shape-registers.png"
}

weight_scheduling() {
    sweep weight-scheduling
    local r=$out/weight-scheduling/results.csv
    local mlb=arch/wsched-mlb.toml fixed=arch/wsched-fixed.toml
    # Achieved (solid) against potential (dashed), one line per network.
    plot sweep --from "$r" --filter "arch=$mlb" --x weight_density --series network \
        --panel scheme --log-y \
        --title "MLTQ with and without weight schedules: speedup over mlb as weights are pruned" \
        --out "$fig/weight-scheduling-mlb.png"
    plot sweep --from "$r" --filter "arch=$fixed" --x weight_density --series network \
        --panel scheme --log-y \
        --title "Bit-Tactical's designs (int:16, paper shapes): speedup over dadiannao-1c as weights are pruned" \
        --out "$fig/weight-scheduling-fixed.png"
    # With the cost model: energy over the baseline's, and performance per area.
    for a in mlb fixed; do
        local arch=$mlb base=mlb
        [ "$a" = fixed ] && arch=$fixed base=dadiannao-1c
        plot sweep --from "$r" --filter "arch=$arch" --x weight_density --series network \
            --panel scheme --metric energy_ratio \
            --title "Energy ratio over $base (baseline energy / energy; higher is better)" \
            --out "$fig/weight-scheduling-$a-energy.png"
        plot sweep --from "$r" --filter "arch=$arch" --x weight_density --series network \
            --panel scheme --metric perf_per_area \
            --title "Performance per area over $base (higher is better)" \
            --out "$fig/weight-scheduling-$a-perf-area.png"
    done
    awk -F, -f experiments/weight-scheduling.awk "$r" > "$fig/weight-scheduling.md"
    echo "wrote $fig/weight-scheduling.md"
}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(mltq-vs-mlb fixed-point array-shape weight-scheduling)
for t in "${targets[@]}"; do
    case "$t" in
        mltq-vs-mlb) mltq_vs_mlb ;;
        fixed-point) fixed_point ;;
        array-shape) array_shape ;;
        weight-scheduling) weight_scheduling ;;
        all) mltq_vs_mlb; fixed_point; array_shape; weight_scheduling ;;
        *) echo "unknown experiment '$t': mltq-vs-mlb, fixed-point, array-shape, weight-scheduling or all" >&2; exit 2 ;;
    esac
done
