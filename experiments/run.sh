#!/usr/bin/env bash
# Regenerate the figures and tables of experiments/README.md from the sweep files here.
#
#   experiments/run.sh                 # every experiment
#   experiments/run.sh mltq-vs-mlb     # or fixed-point, array-shape, weight-scheduling, classic, mltq-costs, gap (several allowed)
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

# The per-layer activation densities of a network of N layers: a dense image into the
# first layer, half zeros (ReLU) everywhere after it.
relu_densities() {
    local d=1 i
    for ((i = 1; i < $1; i++)); do d+=",0.5"; done
    echo "$d"
}

classic() {
    local models=$out/classic/models
    mkdir -p "$models"
    # 16-bit dense Gaussian weights, rectified-Gaussian activations with per-layer
    # precisions: the Stripes profile where the papers published one, else profiled
    # from the data (1 % relative L2 error). Layer counts: alexnet 8, vgg16 16,
    # resnet50 54. Rewritten byte for byte on every run (seeded), so a resumed sweep
    # finds the same inputs.
    local common=(--weights int:16 --acts int:16 --weight-density 1 --act-dist gaussian --seed 1)
    "$MLTQ" gen alexnet "${common[@]}" --act-density "$(relu_densities 8)" \
        --precision-profile stripes --out "$models/alexnet.mltq"
    "$MLTQ" gen vgg16 "${common[@]}" --act-density "$(relu_densities 16)" \
        --precision-profile stripes --out "$models/vgg16.mltq"
    "$MLTQ" gen resnet50 "${common[@]}" --act-density "$(relu_densities 54)" \
        --profile-precision --out "$models/resnet50.mltq"
    sweep classic
    local r=$out/classic/results.csv
    plot totals --from "$r" \
        --title "Classic designs at their papers' shapes (int:16, per-layer precisions): speedup over dadiannao-1c" \
        --out "$fig/classic.png"
    plot energy --from "$r" --title "Classic designs: energy per inference (DRAM at 25.6 GB/s)" \
        --out "$fig/classic-energy.png"
    plot memory --from "$r" --filter point=2 \
        --title "resnet50 on the classic designs: compute vs memory cycles per layer (25.6 GB/s)" \
        --out "$fig/classic-resnet50-memory.png"
    awk -F, -f experiments/classic.awk "$r" > "$fig/classic-table.md"
    echo "wrote $fig/classic-table.md"
}

mltq_costs() {
    sweep mlb-levels
    sweep mltq-costs
    local j=$out/mltq-costs/joined.csv
    awk -F, -v joined="$j" -v table="$fig/mltq-costs-table.md" -f experiments/mltq-costs.awk \
        "$out/mlb-levels/results.csv" "$out/mltq-costs/results.csv"
    echo "wrote $j and $fig/mltq-costs-table.md"
    local formats=mlb,mlb-more,mltq-dense,mltq-zvc,mltq-planes,mltq-packed
    plot sweep --from "$j" --baseline mlb --filter network=resnet50 --x weight_density \
        --panel weights --metric weight_kib --schemes "$formats" \
        --title "resnet50 on the embedded arch: weight footprint (KiB) by storage format vs MLB" \
        --out "$fig/mltq-costs-footprint.png"
    plot sweep --from "$j" --baseline mlb --filter network=resnet50 --x weight_density \
        --panel weights --metric dram_mib --schemes "$formats" \
        --title "resnet50 on the embedded arch: DRAM traffic per inference (MiB) by storage format vs MLB" \
        --out "$fig/mltq-costs-dram.png"
    plot sweep --from "$j" --baseline mlb --x weight_density --panel network --series weights \
        --metric energy_ratio --schemes mltq-word-best,mltq-bit-best --hline 1 \
        --title "Energy ratio over the MLB network of as many levels (best storage format), embedded arch" \
        --out "$fig/mltq-costs-energy.png"
    plot sweep --from "$j" --baseline mlb --x weight_density --panel network --series weights \
        --metric perf_per_area --schemes mltq-word-best,mltq-bit-best --hline 1 --log-y \
        --title "Performance per area over the MLB network of as many levels, embedded arch" \
        --out "$fig/mltq-costs-perf-area.png"
}

gap() {
    sweep gap-mlb
    sweep gap
    local j=$out/gap/joined.csv
    awk -F, -v joined="$j" -v table="$fig/gap-table.md" -f experiments/gap.awk \
        "$out/gap-mlb/results.csv" "$out/gap/results.csv"
    echo "wrote $j and $fig/gap-table.md"
    plot sweep --from "$j" --filter weight_density=0.2 --schemes mltq-bit-zvc --x lanes --log-x \
        --series column_registers --panel design --log-y --hline 15 \
        --title "mltq-bit at equal area (65,536 lanes), resnet18 pruned 80 %: speedup over MLB vs lanes per PE" \
        --out "$fig/gap-bit.png"
    plot sweep --from "$j" --filter weight_density=0.05 --schemes mltq-word-zvc --x lanes --log-x \
        --series column_registers --panel design --log-y --hline 45 \
        --title "mltq-word at equal area (65,536 lanes), resnet18 pruned 95 %: speedup over MLB vs lanes per PE" \
        --out "$fig/gap-word.png"
    plot sweep --from "$j" --filter column_registers=4 --x lanes --log-x --series weight_density \
        --panel design --metric energy_ratio --hline 1 \
        --title "Energy ratio over MLB at equal area (4 column registers)" \
        --out "$fig/gap-energy.png"
    plot sweep --from "$j" --filter column_registers=4 --x lanes --log-x --series weight_density \
        --panel design --metric perf_per_area --log-y --hline 15,45 \
        --title "Performance per area over MLB at equal area, DRAM included (4 column registers)" \
        --out "$fig/gap-perf-area.png"
}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(mltq-vs-mlb fixed-point array-shape weight-scheduling classic mltq-costs gap)
for t in "${targets[@]}"; do
    case "$t" in
        mltq-vs-mlb) mltq_vs_mlb ;;
        fixed-point) fixed_point ;;
        array-shape) array_shape ;;
        weight-scheduling) weight_scheduling ;;
        classic) classic ;;
        mltq-costs) mltq_costs ;;
        gap) gap ;;
        all) mltq_vs_mlb; fixed_point; array_shape; weight_scheduling; classic; mltq_costs; gap ;;
        *) echo "unknown experiment '$t': mltq-vs-mlb, fixed-point, array-shape, weight-scheduling, classic, mltq-costs, gap or all" >&2; exit 2 ;;
    esac
done
