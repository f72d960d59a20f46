# Network totals of the weight-scheduling sweep as Markdown tables, from its
# results.csv: per network and pruning, each scheme's achieved and potential speedup
# over its arch's baseline, the share of the potential achieved, the steps the weight
# schedule kept, and the cost model's energy ratio and performance per area (both
# relative to the baseline: higher is better).
#
#   awk -F, -f experiments/weight-scheduling.awk experiments/out/weight-scheduling/results.csv

NR == 1 {
    for (i = 1; i <= NF; i++) col[$i] = i
    next
}
$col["layer"] == "total" {
    base = ($col["arch"] ~ /mlb/) ? "mlb" : "dadiannao-1c"
    if ($col["scheme"] == base) next
    k = $col["arch"] SUBSEP $col["network"] SUBSEP $col["weight_density"]
    if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
    n = ++cnt[k]
    row[k, n] = sprintf("| %s | %.0f%% | %s | %.2fx | %.2fx | %.1f%% | %s | %.2fx | %.2fx |",
        $col["network"], 100 * (1 - $col["weight_density"]), $col["scheme"],
        $col["speedup"], $col["potential_speedup"],
        100 * $col["speedup"] / $col["potential_speedup"],
        kept($col["kept_steps"]), $col["energy_ratio"], $col["perf_per_area"])
}

function kept(k) {
    return k == "" ? "-" : k
}

END {
    last = ""
    for (o = 1; o <= nk; o++) {
        k = order[o]
        split(k, p, SUBSEP)
        if (p[1] != last) {
            last = p[1]
            printf "\n%s (baseline %s)\n\n", p[1], (p[1] ~ /mlb/) ? "mlb" : "dadiannao-1c"
            print "| network | pruned | scheme | achieved | potential | achieved/potential | kept steps | energy ratio | perf/area |"
            print "|---|---|---|---|---|---|---|---|---|"
        }
        for (i = 1; i <= cnt[k]; i++) print row[k, i]
    }
}
