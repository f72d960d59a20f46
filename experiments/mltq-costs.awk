# MLTQ against MLB with costs: joins the network totals of two sweeps,
# experiments/out/mlb-levels/results.csv (binary networks of 1-7 levels: MLB's own
# footprints, traffic, energy) and experiments/out/mltq-costs/results.csv (ternary
# networks of 1-4 levels pruned 0-95 %, mltq-word and mltq-bit in four storage
# formats), and writes
# - JOINED (a CSV `mltq plot sweep` reads): per (network, levels L, weight density),
#   `mlb` = the MLB network of L levels, `mlb-more` = the MLB network with at least as
#   many values per element as the MLTQ one (levels L' = 2, 4, 5, 7 for L = 1..4:
#   2^L' >= 3^L), every mltq scheme in every format, `mltq-word-best` / `mltq-bit-best`
#   (the format with the least energy), and `mltq-F` (the footprint of format F, the
#   same for both schemes); ratios over `mlb` (speedup_total, energy_ratio,
#   perf_per_area; speedup and potential_speedup of the compute cycles and work);
#   footprints in KiB, traffic in MiB, energy in µJ.
# - TABLE (Markdown): per network and L, the pruning at which MLTQ (its best format)
#   starts to take less memory, move less DRAM traffic and spend less energy than each
#   MLB network, interpolated linearly in density between the sweep points around it;
#   the activation footprints per format; then energy and perf/area at a few prunings.
#
#   awk -F, -v joined=J.csv -v table=T.md -f experiments/mltq-costs.awk \
#       experiments/out/mlb-levels/results.csv experiments/out/mltq-costs/results.csv

FNR == 1 {
    delete col
    for (i = 1; i <= NF; i++) col[$i] = i
    file++
    next
}
$col["layer"] != "total" { next }
file == 1 {
    k = $col["network"] SUBSEP $col["scheme"]
    mlb[k, "w"] = $col["weight_bits"]; mlb[k, "a"] = $col["act_bits"]
    mlb[k, "d"] = $col["dram_bits"]; mlb[k, "e"] = $col["energy_pj"]
    mlb[k, "t"] = $col["total_cycles"]; mlb[k, "c"] = $col["cycles"]
    mlb[k, "ar"] = $col["area_mm2"]; mlb[k, "wk"] = $col["work"]
    next
}
{
    net = $col["network"]; w = $col["weights"]; wd = $col["weight_density"] + 0
    s = $col["scheme"]
    if (s == "mlb") next
    p = net SUBSEP w SUBSEP wd
    if (!(p in seenP)) { seenP[p] = 1; pts[++np] = p }
    if (!(s in seenS)) { seenS[s] = 1; sch[++ns] = s }
    v[p, s, "w"] = $col["weight_bits"]; v[p, s, "a"] = $col["act_bits"]
    v[p, s, "d"] = $col["dram_bits"]; v[p, s, "e"] = $col["energy_pj"]
    v[p, s, "t"] = $col["total_cycles"]; v[p, s, "c"] = $col["cycles"]
    v[p, s, "ar"] = $col["area_mm2"]; v[p, s, "wk"] = $col["work"]
}

function levels(enc,   x) { x = enc; sub(/^[a-z]+:/, "", x); return x + 0 }
function more(l) { return (l == 1) ? 2 : (l == 2) ? 4 : (l == 3) ? 5 : 7 }

# One joined row: values (w, a, d, e, t, c, ar, wk) of X against the MLB reference R.
function row(p, name, fmt, X, R,    q) {
    split(p, q, SUBSEP)
    printf "%s,%s,%s,total,%s,%s,%.6f,%.6f,%.6f,%.6f,%.6f,%.3f,%.3f,%.3f,%.4f,%.3f\n", \
        q[1], q[2], q[3], name, fmt, R["c"] / X["c"], R["wk"] / X["wk"], R["t"] / X["t"], \
        R["e"] / X["e"], (R["t"] * R["ar"]) / (X["t"] * X["ar"]), \
        X["w"] / 8192, X["a"] / 8192, (X["w"] + X["a"]) / 8192, X["d"] / 8388608, \
        X["e"] / 1e6 > joined
}

function load(dst, src_is_mlb, key, p, s,    f, i) {
    split("w a d e t c ar wk", f, " ")
    for (i in f) dst[f[i]] = src_is_mlb ? mlb[key, f[i]] : v[p, s, f[i]]
}

# Pruning (1 - density) at which metric m of (net, L) drops below (or, for ratios,
# rises above) the reference: the first crossing from the densest point down.
function cross(net, L, m, ref, above,    i, j, n, d, x, dd, q, t) {
    n = 0
    for (i = 1; i <= np; i++) {
        split(pts[i], q, SUBSEP)
        if (q[1] != net || levels(q[2]) != L) continue
        n++; d[n] = q[3] + 0; x[n] = val[pts[i], m]
    }
    # Sort by density, densest first.
    for (i = 2; i <= n; i++) for (j = i; j > 1 && d[j - 1] < d[j]; j--) {
        t = d[j]; d[j] = d[j - 1]; d[j - 1] = t
        t = x[j]; x[j] = x[j - 1]; x[j - 1] = t
    }
    for (i = 1; i <= n; i++) {
        if ((above && x[i] > ref) || (!above && x[i] < ref)) {
            if (i == 1) return "always"
            dd = d[i - 1] + (ref - x[i - 1]) * (d[i] - d[i - 1]) / (x[i] - x[i - 1])
            return sprintf("%.0f%%", 100 * (1 - dd))
        }
    }
    return "never (to 95%)"
}

END {
    print "network,weights,weight_density,layer,scheme,format,speedup,potential_speedup,speedup_total,energy_ratio,perf_per_area,weight_kib,act_kib,footprint_kib,dram_mib,energy_uj" > joined
    for (i = 1; i <= np; i++) {
        p = pts[i]; split(p, q, SUBSEP); net = q[1]; L = levels(q[2])
        delete R; delete M; delete X
        load(R, 1, net SUBSEP "mlb-" L)
        load(M, 1, net SUBSEP "mlb-" more(L))
        row(p, "mlb", "dense", R, R)
        row(p, "mlb-more", "dense", M, R)
        for (f = 1; f <= 2; f++) { best[f] = ""; bestE[f] = 0 }
        for (j = 1; j <= ns; j++) {
            s = sch[j]; fmt = s; sub(/^mltq-(word|bit)-/, "", fmt)
            delete X; load(X, 0, "", p, s)
            row(p, s, fmt, X, R)
            f = (s ~ /^mltq-word/) ? 1 : 2
            if (best[f] == "" || X["e"] < bestE[f]) { best[f] = s; bestE[f] = X["e"] }
            if (f == 1) {
                row(p, "mltq-" fmt, fmt, X, R)
                actKiB[net, L, fmt] = X["a"] / 8192
                fp = (X["w"] + X["a"])
                if (!((p, "fp") in val) || fp < val[p, "fp"]) val[p, "fp"] = fp
                if (!((p, "wfp") in val) || X["w"] < val[p, "wfp"]) val[p, "wfp"] = X["w"]
                if (!((p, "dram") in val) || X["d"] < val[p, "dram"]) val[p, "dram"] = X["d"]
            }
        }
        for (f = 1; f <= 2; f++) {
            s = best[f]; fmt = s; sub(/^mltq-(word|bit)-/, "", fmt)
            delete X; load(X, 0, "", p, s)
            name = (f == 1) ? "mltq-word-best" : "mltq-bit-best"
            row(p, name, fmt, X, R)
            val[p, name "-e"] = R["e"] / X["e"]
            val[p, name "-eM"] = M["e"] / X["e"]
            val[p, name "-pa"] = (R["t"] * R["ar"]) / (X["t"] * X["ar"])
            val[p, name "-fmt"] = fmt
        }
        refs[net, L, "a"] = R["a"]; refs[net, L, "aM"] = M["a"]
        refs[net, L, "fp"] = R["w"] + R["a"]; refs[net, L, "fpM"] = M["w"] + M["a"]
        refs[net, L, "w"] = R["w"]; refs[net, L, "wM"] = M["w"]
        refs[net, L, "d"] = R["d"]; refs[net, L, "dM"] = M["d"]
        if (!(net in seenN)) { seenN[net] = 1; nets[++nn] = net }
    }

    print "Where MLTQ (its best format) starts to save over MLB, as weights are pruned (activations: density 0.5). `MLB L` has as many levels as the MLTQ network, `MLB L'` at least as many values per element (L' = 2, 4, 5, 7 for L = 1..4):" > table
    print "" > table
    print "| network | L | weights < MLB L | weights + acts < MLB L | DRAM < MLB L | weights < MLB L' | weights + acts < MLB L' | DRAM < MLB L' | energy: word < MLB L | energy: bit < MLB L | energy: word < MLB L' | energy: bit < MLB L' |" > table
    print "|---|---|---|---|---|---|---|---|---|---|---|---|" > table
    for (i = 1; i <= nn; i++) for (L = 1; L <= 4; L++) {
        net = nets[i]
        printf "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", net, L, \
            cross(net, L, "wfp", refs[net, L, "w"], 0), cross(net, L, "fp", refs[net, L, "fp"], 0), \
            cross(net, L, "dram", refs[net, L, "d"], 0), \
            cross(net, L, "wfp", refs[net, L, "wM"], 0), cross(net, L, "fp", refs[net, L, "fpM"], 0), \
            cross(net, L, "dram", refs[net, L, "dM"], 0), \
            cross(net, L, "mltq-word-best-e", 1, 1), cross(net, L, "mltq-bit-best-e", 1, 1), \
            cross(net, L, "mltq-word-best-eM", 1, 1), cross(net, L, "mltq-bit-best-eM", 1, 1) > table
    }
    print "" > table
    print "Activation footprint (KiB, the simulated sample at density 0.5; the same at every pruning) per format:" > table
    print "" > table
    print "| network | L | MLB L | MLB L' | dense | zvc | planes | packed |" > table
    print "|---|---|---|---|---|---|---|---|" > table
    for (i = 1; i <= nn; i++) for (L = 1; L <= 4; L++) {
        net = nets[i]
        printf "| %s | %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |\n", net, L, \
            refs[net, L, "a"] / 8192, refs[net, L, "aM"] / 8192, actKiB[net, L, "dense"], \
            actKiB[net, L, "zvc"], actKiB[net, L, "planes"], actKiB[net, L, "packed"] > table
    }
    print "" > table
    print "Energy ratio and perf/area over MLB L (best format in brackets) at 0 %, 70 % and 95 % pruning:" > table
    print "" > table
    print "| network | L | word energy 0% | word energy 70% | word energy 95% | bit energy 0% | bit energy 70% | bit energy 95% | word perf/area 95% | bit perf/area 95% |" > table
    print "|---|---|---|---|---|---|---|---|---|---|" > table
    for (i = 1; i <= nn; i++) for (L = 1; L <= 4; L++) {
        net = nets[i]; w = "ternary:" L
        line = "| " net " | " L
        split("1 0.3 0.05", ds, " ")
        for (f = 1; f <= 2; f++) {
            name = (f == 1) ? "mltq-word-best" : "mltq-bit-best"
            for (k = 1; k <= 3; k++) {
                p = net SUBSEP w SUBSEP (ds[k] + 0)
                line = line sprintf(" | %.2fx (%s)", val[p, name "-e"], val[p, name "-fmt"])
            }
        }
        for (f = 1; f <= 2; f++) {
            name = (f == 1) ? "mltq-word-best" : "mltq-bit-best"
            p = net SUBSEP w SUBSEP 0.05
            line = line sprintf(" | %.2fx", val[p, name "-pa"])
        }
        print line " |" > table
    }
}
