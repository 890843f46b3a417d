# report.awk — turns bench/run.sh's raw runs into the markdown table (stdout) and the
# chart's data files (datadir/rps.dat, datadir/gbps.dat). Plain POSIX awk (mawk).
#
# Input, tab-separated: wrk runs (13 fields)
#   round server workload requests bytes duration_us connect read write status timeout
#   server_ticks wrk_ms
# idle runs (6 fields)
#   round server idle_conns held rss_before_kb rss_after_kb
# the busiest thread of each `workers` run
#   busiest round server percent_of_the_server's_cpu
# and bench/instr.sh's rows
#   instr name(uring|epoll|ceiling) requests total_warmup_only total_with_requests per_request
# Variables: servers workloads avail ("name:1 name:0") notes ("name=text|...") hz rounds
#   lean_rounds (the -lean workloads' rounds)
#   dur idle_target datadir header busy busy_end fallback quota quota_note instr_n
#   close_quota cap_note
# Servers: pluto (its default backend), pluto-epoll, the peers nginx lighttpd h2o, and
# ceiling (bench/ceiling.c, small and pipeline only); pluto-w1/pluto-w2 (`workers`).

function median(key,    n, i, j, t, a) {
    n = cnt[key]
    if (n == 0) return ""
    for (i = 1; i <= n; i++) a[i] = val[key, i] + 0
    for (i = 2; i <= n; i++) {
        t = a[i]
        for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
        a[j + 1] = t
    }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

function add(key, v) { val[key, ++cnt[key]] = v }

# Round by round: pluto's CPU per request over the ceiling's in the same round, for
# the rows with a ceiling. The rounds of one run move together (the machine's state),
# so these pairs show the spread that the ratio of two medians hides.
function paired(    i, j, nw, ws, w, s, r, k, v, lo, hi, key, txt, line) {
    line = ""
    nw = split("small-lean small pipeline", ws, " ")
    for (i = 1; i <= nw; i++) {
        w = ws[i]
        if (!(w in want)) continue
        txt = ""
        for (j = 1; j <= ns; j++) {
            s = srv[j]
            if (s != "pluto" && s != "pluto-epoll") continue
            key = "pair" SUBSEP s SUBSEP w
            k = 0
            for (r = 1; r <= maxround; r++) {
                if (!((s, w, r) in rcpu) || !(("ceiling", w, r) in rcpu) || rcpu["ceiling", w, r] <= 0)
                    continue
                v = rcpu[s, w, r] / rcpu["ceiling", w, r]
                add(key, v)
                if (k++ == 0 || v < lo) lo = v
                if (k == 1 || v > hi) hi = v
            }
            if (k > 0)
                txt = txt (txt == "" ? "" : ", ") sprintf("%s %.2f–%.2f (median %.2f)", label(s), lo, hi, median(key))
        }
        if (txt != "") line = line (line == "" ? "" : "; ") sprintf("`%s`: %s", w, txt)
    }
    if (line != "")
        printf "\nBy round: pluto's CPU µs per request over the ceiling's in the same round, " \
            "lowest–highest and the median of those ratios: %s.\n", line
}

function commas(x,    s, neg, out) {
    x = sprintf("%.0f", x)
    neg = (x ~ /^-/)
    s = neg ? substr(x, 2) : x
    out = ""
    while (length(s) > 3) {
        out = "," substr(s, length(s) - 2) out
        s = substr(s, 1, length(s) - 3)
    }
    return (neg ? "-" : "") s out
}

function fmt(metric, v) {
    if (v == "") return "—"
    if (metric == "rps") return commas(v)
    if (metric == "gbps") return sprintf("%.2f", v)
    if (metric == "cpu") return sprintf("%.1f", v)
    if (metric == "rss") return commas(v) " B"
    if (metric == "wrk") return sprintf("%.0f%%", v)
    if (metric == "cores") return sprintf("%.2f", v)
    return v
}

function label(s) {
    if (s == "pluto") return fallback != "" ? "pluto (auto: epoll)" : "pluto (io_uring)"
    if (s == "pluto-epoll") return "pluto (epoll)"
    return s
}

function ratio(a, b) { return (a != "" && b != "" && b > 0) ? sprintf("%.2f", a / b) : "" }

# One table row: label, metric, workload, higher-is-better?
function row(text, metric, w, higher,    s, i, v, best, bestname, cells, pv, r, note, c, ce) {
    cells = ""
    best = ""
    bestname = ""
    for (i = 1; i <= ns; i++) {
        s = srv[i]
        if (s == "ceiling" && w != "small" && w != "small-lean" && w != "pipeline") {
            cells = cells " | —"
            continue
        }
        if (!(s in ok) && cnt[metric SUBSEP s SUBSEP w] == 0) {
            cells = cells " | n/a"
            continue
        }
        v = median(metric SUBSEP s SUBSEP w)
        note = ""
        if (metric == "rss" && v != "" && held_min[s] < idle_target)
            note = " (" commas(held_min[s]) " of " commas(idle_target) " held)"
        cells = cells " | " fmt(metric, v) note
        if (!(s in peer) || v == "") continue
        if (best == "" || (higher && v > best) || (!higher && v < best)) {
            best = v
            bestname = s
        }
    }
    r = "—"
    pv = median(metric SUBSEP "pluto" SUBSEP w)
    if (pv != "" && best != "" && best > 0)
        r = sprintf("%.2f (%s)", pv / best, bestname)
    c = ""
    if (has_ceiling) {
        c = " | —"
        ce = median(metric SUBSEP "ceiling" SUBSEP w)
        if ((metric == "rps" || metric == "cpu") && ce != "") {
            v = ratio(pv, ce)
            note = ratio(median(metric SUBSEP "pluto-epoll" SUBSEP w), ce)
            if (v != "" || note != "")
                c = " | " (v != "" ? v : "n/a") (note != "" ? " (epoll " note ")" : "")
        }
    }
    printf "| %s%s | %s%s |\n", text, cells, r, c
}

function workers_section(    a, b, q) {
    a = "pluto-w1"; b = "pluto-w2"
    if (cnt["rps" SUBSEP a SUBSEP "workers"] == 0 && cnt["rps" SUBSEP b SUBSEP "workers"] == 0)
        return
    q = quota_note == "" ? sprintf("each worker's share capped at %s of a core", quota) \
        : "no CPU quota"
    printf "\n## `--workers 2` against `--workers 1`\n\n"
    printf "| pluto, 849 B file, keep-alive, 100 conns, wrk -t2 | -w 1 | -w 2 | -w 2 / -w 1 |\n"
    printf "|---|---:|---:|---:|\n"
    wrow("req/s (" q ")", "rps")
    wrow("server CPU µs per request", "cpu")
    wrow("busiest worker's share of the server's CPU", "busiest")
    if (quota_note == "")
        wrow(sprintf("server's CPU, in cores (its quota: %.2f, %.2f)", quota, 2 * quota), "cores")
    else
        wrow("server's CPU, in cores", "cores")
    wrow("wrk's CPU, % of one core", "wrk")
    if (quota_note == "")
        printf "\nServer and wrk may use every core, but the server's processes are in a cgroup " \
            "that gets %s of a core per worker (cfs quota, 10 ms period): the client has the " \
            "rest of the machine, so the ratio measures how pluto scales from one worker to " \
            "two, not how the 2-core machine is shared (as long as the server reached its quota: " \
            "below it, other load limited the run). It does not measure what two busy " \
            "cores would add (contention in the kernel's loopback, caches, memory bandwidth).\n", quota
    else
        printf "\n%s: server and wrk shared every core, so -w 2 / -w 1 is bounded by the " \
            "machine, not a scaling figure; CPU µs per request still compares the two.\n", quota_note
}

function wrow(text, metric,    va, vb, fa, fb) {
    va = median(metric SUBSEP "pluto-w1" SUBSEP "workers")
    vb = median(metric SUBSEP "pluto-w2" SUBSEP "workers")
    fa = metric == "busiest" ? (va == "" ? "—" : va "%") : fmt(metric, va)
    fb = metric == "busiest" ? (vb == "" ? "—" : vb "%") : fmt(metric, vb)
    printf "| %s | %s | %s | %s |\n", text, fa, fb,
        (metric == "rps" || metric == "cpu") && ratio(vb, va) != "" ? ratio(vb, va) : ""
}

function instr_section(    i, n, names, cols) {
    if (ninstr == 0) return
    printf "\n## Instructions per request\n\n"
    n = split("uring epoll ceiling", names, " ")
    split("pluto (io_uring)|pluto (epoll)|ceiling", cols, "|")
    printf "| callgrind, one connection, one request at a time, 849-byte cached file"
    for (i = 1; i <= n; i++) printf " | %s", cols[i]
    printf " |\n|---"
    for (i = 1; i <= n; i++) printf "|---:"
    printf "|\n| user-space instructions per request"
    for (i = 1; i <= n; i++) printf " | %s", (names[i] in instr) ? commas(instr[names[i]]) : "—"
    printf " |\n| the same, 64 KiB file (kept open: head, then `sendfile`)"
    for (i = 1; i <= n; i++) printf " | %s", ((names[i] "-64k") in instr) ? commas(instr[names[i] "-64k"]) : "—"
    printf " |\n\nbench/instr.sh: (a run serving %s more requests than another) minus (that " \
        "other run), over %s; start-up, the first miss and shutdown cancel out. The count " \
        "does not change with the machine's load, so a regression on the hot path shows " \
        "here first. System calls are counted as one instruction each: the kernel's work " \
        "is not in it.\n", commas(instr_n), commas(instr_n)
}

BEGIN {
    FS = "\t"
    ns = split(servers, srv, " ")
    na = split(avail, av, " ")
    for (i = 1; i <= na; i++) {
        split(av[i], kv, ":")
        if (kv[2] == 1) ok[kv[1]] = 1
    }
    nw = split(workloads, wl, " ")
    for (i = 1; i <= nw; i++) want[wl[i]] = 1
    peer["nginx"] = peer["lighttpd"] = peer["h2o"] = 1
    for (i = 1; i <= ns; i++) if (srv[i] == "ceiling") has_ceiling = 1
}

$1 == "busiest" { add("busiest" SUBSEP $3 SUBSEP "workers", $4); next }

$1 == "instr" { instr[$2] = $6; ninstr++; next }

NF == 13 {
    s = $2; w = $3; req = $4; bytes = $5; d = $6 / 1e6; ticks = $12
    if (d <= 0 || req <= 0) next
    add("rps" SUBSEP s SUBSEP w, req / d)
    add("gbps" SUBSEP s SUBSEP w, bytes / d / 1073741824)
    add("cpu" SUBSEP s SUBSEP w, ticks * 1e6 / hz / req)
    rcpu[s, w, $1] = ticks * 1e6 / hz / req        # by round, for the paired ratios
    if ($1 + 0 > maxround) maxround = $1 + 0
    add("wrk" SUBSEP s SUBSEP w, $13 / 10 / d)   # % of wrk's core
    add("cores" SUBSEP s SUBSEP w, ticks / hz / d)
    e = $7 + $8 + $9 + $10 + $11
    if (e > 0) {
        errs[s SUBSEP w] += e
        errtxt[s SUBSEP w] = errtxt[s SUBSEP w] sprintf(" round %d: connect %d, read %d, write %d, status %d, timeout %d;", $1, $7, $8, $9, $10, $11)
    }
    next
}

NF == 6 {
    s = $2; held = $4
    if (!(s in held_min) || held < held_min[s]) held_min[s] = held
    if (held > 0) add("rss" SUBSEP s SUBSEP "idle", ($6 - $5) * 1024 / held)
    next
}

END {
    printf "# Pluto static file benchmark\n\n"
    printf "%s. Each server: one worker pinned to core 0 (`taskset -c 0`), loopback; " \
        "the client pinned to core 1: wrk -t1, or bench/load.c where a row says *lean client*. " \
        "Medians of %d interleaved round(s) of %d s%s.\n\n", header, rounds, dur,
        (workloads ~ /-lean/ && lean_rounds != rounds) ? sprintf("; the lean-client rows, of %d", lean_rounds) : ""
    if (busy != "") printf "%s\n\n", busy
    if (busy_end + 0 >= 10)
        printf "Warning: the machine was %d%% busy right after the run (other processes); figures are noisy.\n\n", busy_end
    if (fallback != "")
        printf "pluto's default backend fell back to epoll here (`%s`): its column is not io_uring.\n\n", fallback
    nn = split(notes, nl, "|")
    for (i = 1; i <= nn; i++) {
        if (nl[i] == "") continue
        split(nl[i], kv, "=")
        printf "%s: not available (%s)\n\n", label(kv[1]), substr(nl[i], length(kv[1]) + 2)
    }
    printf "| workload"
    for (i = 1; i <= ns; i++) printf " | %s", label(srv[i])
    printf " | pluto / best peer |%s\n|---", has_ceiling ? " pluto / ceiling |" : ""
    for (i = 1; i <= ns; i++) printf "|---:"
    printf "|---|%s\n", has_ceiling ? "---|" : ""
    if ("small" in want) {
        row("849 B file, keep-alive, 100 conns: req/s", "rps", "small", 1)
        row("same: server CPU µs per request", "cpu", "small", 0)
    }
    if ("small-lean" in want) {
        row("849 B file, keep-alive, 100 conns, lean client: req/s", "rps", "small-lean", 1)
        row("same: server CPU µs per request", "cpu", "small-lean", 0)
    }
    if ("pipeline" in want) {
        row("same, 16 requests pipelined per write: req/s", "rps", "pipeline", 1)
        row("same pipelined: CPU µs per request", "cpu", "pipeline", 0)
    }
    if ("64k" in want) {
        row("64 KiB file, 50 conns: GB/s", "gbps", "64k", 1)
        row("same: req/s", "rps", "64k", 1)
        row("same: CPU µs per request", "cpu", "64k", 0)
    }
    if ("10m" in want) {
        row("10 MiB file, 10 conns: GB/s", "gbps", "10m", 1)
        row("same: req/s", "rps", "10m", 1)
        row("same: CPU µs per request", "cpu", "10m", 0)
    }
    if ("close" in want) {
        row("`Connection: close`, 50 conns: req/s", "rps", "close", 1)
        row("same: CPU µs per request", "cpu", "close", 0)
    }
    if (("close-cap" in want) && cap_note == "") {
        row(sprintf("`Connection: close`, 50 conns, each server capped at %s of a core: req/s", close_quota), "rps", "close-cap", 1)
        row("same: CPU µs per request", "cpu", "close-cap", 0)
    }
    if ("close-lean" in want) {
        row("`Connection: close`, 50 conns, lean client: req/s", "rps", "close-lean", 1)
        row("same: CPU µs per request", "cpu", "close-lean", 0)
    }
    if ("idle" in want)
        row(commas(idle_target) " idle keep-alive conns: RSS per conn", "rss", "idle", 0)

    printf "\npluto / best peer: pluto's median on its default backend over the best peer's " \
        "(nginx, lighttpd or h2o, named). For req/s and " \
        "GB/s the best peer is the highest and above 1 means pluto is faster; for CPU µs " \
        "per request and RSS per connection the best peer is the lowest and below 1 means " \
        "pluto uses less. GB/s is wrt 2^30 bytes, as wrk's Transfer/sec.\n"
    if (has_ceiling)
        printf "\nceiling: bench/ceiling.c, an epoll loop that answers every request with the " \
            "same 849-byte response built at start (no parsing beyond the blank line, no " \
            "file), pluto's header set included: what this kernel allows for this path. It " \
            "serves nothing else (—). pluto / ceiling: pluto's median over the ceiling's, " \
            "on the default backend, then on epoll.\n"
    if (has_ceiling) paired()
    if ("close-cap" in want) {
        if (cap_note != "")
            printf "\n`close-cap` not run: %s.\n", cap_note
        else {
            lst = ""
            for (j = 1; j <= ns; j++) {
                v = median("cores" SUBSEP srv[j] SUBSEP "close-cap")
                if (v != "") lst = lst (lst == "" ? "" : ", ") label(srv[j]) sprintf(" %.2f", v)
            }
            printf "\nCapped: in the `close-cap` runs each server's processes were in a cgroup " \
                "that gets %s of a core (cfs quota, 10 ms period), so that wrk, which needs more " \
                "CPU per connection than any of them, is not the limit: req/s is then what each " \
                "server does with the same CPU. The servers' CPU, in cores (medians): %s; one " \
                "well below %s was limited by something else.\n", close_quota, lst, close_quota
        }
    }
    # Runs where the client's own core was (nearly) saturated measure the client as much
    # as the server.
    nwl = split("small small-lean pipeline 64k 10m close close-lean", wo, " ")
    for (i = 1; i <= nwl; i++) {
        w = wo[i]
        if (!(w in want)) continue
        lst = ""
        for (j = 1; j <= ns; j++) {
            v = median("wrk" SUBSEP srv[j] SUBSEP w)
            if (v != "" && v >= 90) {
                lst = lst (lst == "" ? "" : ", ") label(srv[j]) sprintf(" %.0f%%", v)
                # Where the server's core was as busy, both were the limit.
                c = median("cores" SUBSEP srv[j] SUBSEP w)
                if (c != "" && c >= 0.9) lst = lst sprintf(" (server %.0f%%)", c * 100)
            }
        }
        if (lst != "")
            printf "\nClient-bound: %s's core was 90%% busy or more in `%s` (%s): those " \
                "req/s and GB/s are capped by the client as much as by the server (by both " \
                "where the server's core was 90%% busy too); CPU µs per request still " \
                "compares the servers.\n", w ~ /-lean$/ ? "bench/load" : "wrk", w, lst
    }
    for (k in errs) {
        split(k, kk, SUBSEP)
        printf "\nclient errors, %s / %s:%s\n", label(kk[1]), kk[2], errtxt[k]
    }
    if ("workers" in want) workers_section()
    if ("instr" in want) instr_section()

    # Chart data: one file per unit, columns = the servers with figures in it.
    nr = split("small small-lean pipeline close close-lean", rw, " ")
    split("849 B keep-alive|same, lean client|849 B pipelined x16|Connection: close|same, lean client", rl, "|")
    chart(datadir "/rps.dat", "rps", nr, rw, rl)
    nr = split("64k 10m", rw, " ")
    split("64 KiB, 50 conns|10 MiB, 10 conns", rl, "|")
    chart(datadir "/gbps.dat", "gbps", nr, rw, rl)
}

function chart(file, metric, nr, rw, rl,    i, j, line, any, v, hdr, use) {
    any = 0
    for (i = 1; i <= nr; i++) if (rw[i] in want) any = 1
    if (!any) return
    hdr = "workload"
    for (j = 1; j <= ns; j++) {
        use[j] = 0
        if (!(srv[j] in ok)) continue
        for (i = 1; i <= nr; i++)
            if ((rw[i] in want) && median(metric SUBSEP srv[j] SUBSEP rw[i]) != "") use[j] = 1
        if (use[j]) hdr = hdr "\t" srv[j]
    }
    print hdr > file
    for (i = 1; i <= nr; i++) {
        if (!(rw[i] in want)) continue
        line = "\"" rl[i] "\""
        for (j = 1; j <= ns; j++) {
            if (!use[j]) continue
            v = median(metric SUBSEP srv[j] SUBSEP rw[i])
            line = line "\t" (v == "" ? 0 : v)
        }
        print line > file
    }
    close(file)
}
