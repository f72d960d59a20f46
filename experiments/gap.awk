# Closing the gap at equal area: joins experiments/out/gap-mlb/results.csv (the MLB
# network, binary:2, on the reference array: its cycles, traffic, energy and area) and
# experiments/out/gap/results.csv (mltq-word and mltq-bit on reshaped arrays of the same
# lanes), and writes
# - JOINED (a CSV `mltq plot sweep` reads): per point and scheme, `design` (the sync
#   settings of the arch file), the array, and ratios over the MLB network: speedup
#   (compute cycles) and potential_speedup (work) as the sweep reports them (mlb's cycles
#   do not depend on its operands' values), speedup_total, energy_ratio and
#   perf_per_area against the MLB network's total cycles, energy and area;
#   `achieved_share` = speedup / potential; and a row `mlb` (all ratios 1) per point.
# - TABLE (Markdown): per weight density and scheme, the reference design (16 lanes,
#   16 columns, lock-step, the preset's sync) and the best design at equal area by
#   compute speedup and by total speedup (DRAM included; ties, as between memory-bound
#   designs, go to the higher compute speedup), and with the 10x faster DRAM.
#
#   awk -F, -v joined=J.csv -v table=T.md -f experiments/gap.awk \
#       experiments/out/gap-mlb/results.csv experiments/out/gap/results.csv

FNR == 1 {
    delete col
    for (i = 1; i <= NF; i++) col[$i] = i
    file++
    next
}
$col["layer"] != "total" { next }
# The MLB reference per DRAM: gap-mlb.toml (25.6 GB/s) and gap-mlb-hbm.toml (256 GB/s).
file == 1 {
    m = ($col["arch"] ~ /hbm/) ? "hbm" : "ddr"
    mT[m] = $col["total_cycles"]; mE[m] = $col["energy_pj"]; mA[m] = $col["area_mm2"]
    next
}
$col["scheme"] == "mlb-16" { next }
{
    arch = $col["arch"]
    design = (arch ~ /step-min0/) ? "step sync + min_cycles 0" : (arch ~ /step/) ? "step sync" : \
        (arch ~ /hbm/) ? "window sync + 256 GB/s DRAM" : "window sync"
    m = (arch ~ /hbm/) ? "hbm" : "ddr"
    n++
    R[n, "wd"] = $col["weight_density"]; R[n, "design"] = design
    R[n, "lanes"] = $col["lanes"]; R[n, "columns"] = $col["columns"]
    R[n, "cr"] = $col["column_registers"]; R[n, "scheme"] = $col["scheme"]
    R[n, "sp"] = $col["speedup"]; R[n, "po"] = $col["potential_speedup"]
    R[n, "st"] = mT[m] / $col["total_cycles"]
    R[n, "er"] = mE[m] / $col["energy_pj"]
    R[n, "pa"] = (mT[m] * mA[m]) / ($col["total_cycles"] * $col["area_mm2"])
    R[n, "area"] = $col["area_mm2"]
    R[n, "bound"] = $col["bound"]
}

# Is design i better than design j by total speedup? Memory-bound designs tie (they
# move the same DRAM traffic): a tie within 1e-9 goes to the higher compute speedup.
function better(i, j,    a, b) {
    a = R[i, "st"]; b = R[j, "st"]
    if (a > b * (1 + 1e-9)) return 1
    if (a < b * (1 - 1e-9)) return 0
    return R[i, "sp"] > R[j, "sp"]
}

function describe(i) {
    return sprintf("%s %s × %s columns, %s column registers, %s", R[i, "lanes"], \
        (R[i, "lanes"] == 1) ? "lane" : "lanes", R[i, "columns"], R[i, "cr"], R[i, "design"])
}

function line(label, i) {
    printf "| %s | %s | %s | %.2fx | %.2fx | %.0f%% | %.2fx | %.2fx | %.2fx | %s |\n", \
        R[i, "wd"], R[i, "scheme"], label ": " describe(i), R[i, "sp"], R[i, "po"], \
        100 * R[i, "sp"] / R[i, "po"], R[i, "st"], R[i, "er"], R[i, "pa"], R[i, "bound"] > table
}

END {
    print "weight_density,design,lanes,columns,column_registers,layer,scheme,speedup,potential_speedup,achieved_share,speedup_total,energy_ratio,perf_per_area" > joined
    for (i = 1; i <= n; i++) {
        printf "%s,%s,%s,%s,%s,total,%s,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f\n", R[i, "wd"], R[i, "design"], \
            R[i, "lanes"], R[i, "columns"], R[i, "cr"], R[i, "scheme"], R[i, "sp"], R[i, "po"], \
            R[i, "sp"] / R[i, "po"], R[i, "st"], R[i, "er"], R[i, "pa"] > joined
        # The MLB network as every point's baseline row (ratios 1).
        pk = R[i, "wd"] SUBSEP R[i, "design"] SUBSEP R[i, "lanes"] SUBSEP R[i, "cr"]
        if (!(pk in based)) {
            based[pk] = 1
            printf "%s,%s,%s,%s,%s,total,mlb,1,1,1,1,1,1\n", R[i, "wd"], R[i, "design"], \
                R[i, "lanes"], R[i, "columns"], R[i, "cr"] > joined
        }
        k = R[i, "wd"] SUBSEP R[i, "scheme"]
        if (!(k in seen)) { seen[k] = 1; keys[++nk] = k }
        if (!(k in bestC) || R[i, "sp"] > R[bestC[k], "sp"]) bestC[k] = i
        if (R[i, "design"] !~ /256/ && (!(k in bestT) || better(i, bestT[k]))) bestT[k] = i
        if (R[i, "design"] ~ /256/ && (!(k in bestH) || better(i, bestH[k]))) bestH[k] = i
        preset = (R[i, "scheme"] ~ /word/) ? "window sync" : "step sync"
        if (R[i, "lanes"] == 16 && R[i, "cr"] == 0 && R[i, "design"] == preset) ref[k] = i
    }
    print "Over the MLB network (binary:2) on the 16 × 16 × 16 × 16 array, all designs of 65,536 lanes (equal area: " R[1, "area"] " mm² with the buffers). Speedup: compute cycles; total: with the DRAM (25.6 GB/s, or 256 GB/s for both MLB and MLTQ where the design says so); perf/area: total speedup × area ratio (= total speedup here)." > table
    print "" > table
    print "| weight density | scheme | design | speedup | potential | of potential | total speedup | energy ratio | perf/area | bound |" > table
    print "|---|---|---|---|---|---|---|---|---|---|" > table
    for (j = 1; j <= nk; j++) {
        k = keys[j]
        if (k in ref) line("reference", ref[k])
        line("best compute", bestC[k])
        if (bestT[k] != bestC[k]) line("best total", bestT[k])
        line("best total, faster DRAM", bestH[k])
    }
}
