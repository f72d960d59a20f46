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
    for net in resnet18 resnet50; do
        plot sweep --from "$r" --filter network=$net --filter arch=arch/wsched-mlb.toml \
            --x weight_density --panel scheme --log-y \
            --title "$net (ternary:2): speedup over mlb as weights are pruned (solid achieved, dashed potential)" \
            --out "$fig/weight-scheduling-mlb-$net.png"
        plot sweep --from "$r" --filter network=$net --filter arch=arch/wsched-fixed.toml \
            --x weight_density --panel scheme --log-y \
            --title "$net (int:16): speedup over dadiannao as weights are pruned (solid achieved, dashed potential)" \
            --out "$fig/weight-scheduling-fixed-$net.png"
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
