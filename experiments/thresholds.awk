# Where MLTQ speedups over mlb reach 15x and 45x, from a mltq-vs-mlb results.csv:
# for each network, levels and scheme, the pruning (1 - weight density) at which the
# network-total potential and achieved speedups first reach each target, interpolated
# linearly in density between the two sweep points around it. Prints a Markdown table.
#
#   awk -F, -f experiments/thresholds.awk experiments/out/mltq-vs-mlb/results.csv

NR == 1 {
    for (i = 1; i <= NF; i++) col[$i] = i
    next
}
$col["layer"] == "total" && $col["scheme"] != "mlb" {
    k = $col["network"] SUBSEP $col["weights"] SUBSEP $col["scheme"]
    if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
    n = ++cnt[k]
    d[k, n] = $col["weight_density"] + 0
    v["potential", k, n] = $col["potential_speedup"] + 0
    v["achieved", k, n] = $col["speedup"] + 0
}

# The pruning at which metric m of key k first reaches t, or "not reached (max ...)".
function reach(m, k, t,    n, i, j, tmp, best, bd, dd) {
    n = cnt[k]
    # Sort the points by density, densest first (insertion sort on an index).
    for (i = 1; i <= n; i++) idx[i] = i
    for (i = 2; i <= n; i++) {
        tmp = idx[i]
        for (j = i - 1; j >= 1 && d[k, idx[j]] < d[k, tmp]; j--) idx[j + 1] = idx[j]
        idx[j + 1] = tmp
    }
    best = 0; bd = 1
    for (i = 1; i <= n; i++) {
        if (v[m, k, idx[i]] > best) { best = v[m, k, idx[i]]; bd = d[k, idx[i]] }
        if (v[m, k, idx[i]] >= t) {
            if (i == 1) dd = d[k, idx[1]]
            else dd = d[k, idx[i - 1]] + (t - v[m, k, idx[i - 1]]) * \
                 (d[k, idx[i]] - d[k, idx[i - 1]]) / (v[m, k, idx[i]] - v[m, k, idx[i - 1]])
            return sprintf("%.0f%% (density %.2f)", 100 * (1 - dd), dd)
        }
    }
    return sprintf("not reached (max %.1fx)", best)
}

END {
    print "| network | levels | scheme | potential 15x | potential 45x | achieved 15x | achieved 45x |"
    print "|---|---|---|---|---|---|---|"
    for (o = 1; o <= nk; o++) {
        k = order[o]
        split(k, p, SUBSEP)
        lv = p[2]; sub(/^[a-z]+:/, "", lv)
        printf "| %s | %s | %s | %s | %s | %s | %s |\n", p[1], lv, p[3], \
            reach("potential", k, 15), reach("potential", k, 45), \
            reach("achieved", k, 15), reach("achieved", k, 45)
    }
}
