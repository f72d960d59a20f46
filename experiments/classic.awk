# The classic designs against their papers, from experiments/out/classic/results.csv:
# per network and scheme, ratios over dadiannao-1c of sums over the conv layers (what
# the papers report: they evaluate conv layers) and over every layer, in three
# settings of the memory system, then the geometric mean over the networks beside the
# published figures. Prints Markdown.
#
#   awk -F, -f experiments/classic.awk experiments/out/classic/results.csv
#
# Settings (everything comes from the per-layer rows; nothing is re-simulated):
# - "on chip": compute cycles only, energy without DRAM, static energy over the compute
#   cycles (energy_static_pj · cycles / total_cycles): the papers' assumption that
#   weights and activations stay on chip (DaDianNao's eDRAM) across many images.
# - "dynamic": on chip, without static energy (compute and SRAM only).
# - "with DRAM": one inference reading its operands from a 25.6 GB/s DRAM: total_cycles
#   and energy_pj as the tool reports them (speedup_total, energy_ratio, perf_per_area).
# Fully connected layers are the rows whose layer name starts with "classifier" or is
# "fc" (the zoo's names for them in alexnet, vgg16 and resnet50).

NR == 1 {
    for (i = 1; i <= NF; i++) col[$i] = i
    next
}
$col["layer"] != "total" {
    net = $col["network"]; s = $col["scheme"]; l = $col["layer"]
    if (!(net in seenNet)) { seenNet[net] = 1; nets[++nn] = net }
    if (!(s in seenScheme)) { seenScheme[s] = 1; schemes[++ns] = s }
    conv = (l !~ /^classifier/ && l != "fc")
    cyc = $col["cycles"]; tot = $col["total_cycles"]
    e = $col["energy_pj"]; ed = $col["energy_dram_pj"]; es = $col["energy_static_pj"]
    esOn = (tot > 0) ? es * cyc / tot : 0
    for (part = 0; part <= 1; part++) {
        if (part == 0 && !conv) continue
        k = net SUBSEP s SUBSEP part
        C[k] += cyc; T[k] += tot
        Eon[k] += e - ed - es + esOn
        Edyn[k] += e - ed - es
        Eall[k] += e
    }
    area[net, s] = $col["area_mm2"]
}

function r(a, b) { return (b > 0) ? a / b : 0 }
function fmt(x) { return sprintf("%.2fx", x) }

END {
    base = schemes[1]
    pub["cnvlutin-1c", "speed"] = "1.37x"; pub["cnvlutin-1c", "area"] = "1.045"
    pub["stripes", "speed"] = "1.92x"; pub["stripes", "energy"] = "1.57x"; pub["stripes", "area"] = "1.32"
    pub["pragmatic-2b", "speed"] = "2.6x"; pub["pragmatic-2b", "energy"] = "1.28x"
    pub["pragmatic-2b-cr2", "speed"] = "3.1x"
    for (i = 1; i <= nn; i++) for (j = 1; j <= ns; j++) {
        net = nets[i]; s = schemes[j]
        c = net SUBSEP s SUBSEP 0; a = net SUBSEP s SUBSEP 1
        bc = net SUBSEP base SUBSEP 0; ba = net SUBSEP base SUBSEP 1
        m["sc", net, s] = r(C[bc], C[c])
        m["sa", net, s] = r(C[ba], C[a])
        m["st", net, s] = r(T[ba], T[a])
        m["eon", net, s] = r(Eon[bc], Eon[c])
        m["edyn", net, s] = r(Edyn[bc], Edyn[c])
        m["eall", net, s] = r(Eall[ba], Eall[a])
        m["area", net, s] = r(area[net, s], area[net, base])
        m["pa", net, s] = m["sc", net, s] / m["area", net, s]
        m["pat", net, s] = m["st", net, s] / m["area", net, s]
    }
    split("sc sa st eon edyn eall area pa pat", keys, " ")
    for (j = 1; j <= ns; j++) for (q = 1; q <= 9; q++) {
        g = 0
        for (i = 1; i <= nn; i++) g += log(m[keys[q], nets[i], schemes[j]])
        m[keys[q], "mean", schemes[j]] = exp(g / nn)
    }
    nets[nn + 1] = "mean"

    print "Speed over " base " (cycles; conv layers as the papers, and the whole network):"
    print ""
    print "| network | scheme | conv, on chip | all layers, on chip | all layers, with DRAM | published (conv) |"
    print "|---|---|---|---|---|---|"
    for (i = 1; i <= nn + 1; i++) for (j = 2; j <= ns; j++) {
        net = nets[i]; s = schemes[j]
        p = (net == "mean" && (s SUBSEP "speed") in pub) ? pub[s, "speed"] : ""
        printf "| %s | %s | %s | %s | %s | %s |\n", (net == "mean" ? "**geometric mean**" : net), s, \
            fmt(m["sc", net, s]), fmt(m["sa", net, s]), fmt(m["st", net, s]), p
    }
    print ""
    print "Energy efficiency (" base " energy / energy) and area over " base ":"
    print ""
    print "| network | scheme | energy, conv on chip | energy, conv dynamic only | energy, all layers with DRAM | published energy | area | published area | perf/area, conv on chip | perf/area, with DRAM |"
    print "|---|---|---|---|---|---|---|---|---|---|"
    for (i = 1; i <= nn + 1; i++) for (j = 2; j <= ns; j++) {
        net = nets[i]; s = schemes[j]
        pe = (net == "mean" && (s SUBSEP "energy") in pub) ? pub[s, "energy"] : ""
        pa = (net == "mean" && (s SUBSEP "area") in pub) ? pub[s, "area"] : ""
        printf "| %s | %s | %s | %s | %s | %s | %.3f | %s | %s | %s |\n", \
            (net == "mean" ? "**geometric mean**" : net), s, \
            fmt(m["eon", net, s]), fmt(m["edyn", net, s]), fmt(m["eall", net, s]), pe, \
            m["area", net, s], pa, fmt(m["pa", net, s]), fmt(m["pat", net, s])
    }
    print ""
    printf "Pragmatic over Stripes (conv, on chip, geometric mean): pragmatic-2b %.2fx, pragmatic-2b-cr2 %.2fx (published: 1.4x for the practical design).\n", \
        m["sc", "mean", "pragmatic-2b"] / m["sc", "mean", "stripes"], \
        m["sc", "mean", "pragmatic-2b-cr2"] / m["sc", "mean", "stripes"]
}
