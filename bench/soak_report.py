"""soak_report.py — the verdict and the chart of `make soak` (bench/soak.sh).

  soak_report.py CSV SVG [TITLE]

CSV has one row per server and 10 s window (bench/soak.sh writes it):
  elapsed_s,server,pid,rss_kb,fds,p50_ms,p99_ms,requests,errors,idle_open,event
event: empty for an ordinary window; `term` or `kill` for a window in which the kv machine
was stopped (SIGTERM or kill -9) and started again; `baseline` for the sample taken before
the load, `quiet` for the one after it (neither is a window: no latency, no requests).

Verdict, per server and series (RSS, descriptors, p99), over the windows under load — for
kv without its restart windows, whose latency and connections a restart disturbs:
  early = median of the windows from 20% to 40% of the run (the first 20% is warm-up),
  late  = median of the last 20%;
  RSS   flat when late - early <= max(10% of early, 2 MiB)
  fds   flat when |late - early| <= 10
  p99   flat when late <= max(2 x early, early + 1 ms)
Otherwise `LEAK?`. Exits 1 when any series is not flat (or has too few windows: 5 at
least). The SVG has three panels (RSS, open descriptors, p99 on a log scale) with both
servers over time; kv's restarts are vertical lines (grey: SIGTERM, red: kill -9).
Standard library only.
"""
import csv
import math
import statistics
import sys

SERIES = [  # column, label, unit, scale from the CSV's unit
    ("rss_kb", "RSS", "MiB", 1 / 1024),
    ("fds", "open descriptors", "", 1),
    ("p99_ms", "p99 latency (10 s windows)", "ms", 1),
]
COLORS = {"static": "#1f6fb4", "kv": "#e07b00"}
RESTART_COLORS = {"term": "#888888", "kill": "#d62728"}


def load(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def windows(rows, server):
    return [r for r in rows if r["server"] == server and r["event"] in ("", "term", "kill")]


def limit(col, early):
    if col == "rss_kb":
        return early + max(0.10 * early, 2048)
    if col == "fds":
        return early + 10
    return max(2 * early, early + 1.0)


def verdict(rows, server):
    """Lines of the verdict table for SERVER, and whether every series is flat."""
    ws = [r for r in windows(rows, server) if r["event"] == ""]
    n = len(ws)
    out, flat = [], True
    for col, label, unit, _ in SERIES:
        vals = [float(r[col]) for r in ws if r[col] != ""]
        if len(vals) < 5:
            out.append("%-7s %-6s  too few windows (%d)  LEAK?" % (server, col, len(vals)))
            flat = False
            continue
        k = len(vals)
        early = statistics.median(vals[int(0.2 * k):max(int(0.4 * k), int(0.2 * k) + 1)])
        late = statistics.median(vals[int(0.8 * k):])
        lim = limit(col, early)
        ok = late <= lim and (col != "fds" or late >= early - 10)
        flat = flat and ok
        out.append("%-7s %-6s  early %10.2f  late %10.2f  limit %10.2f  %s"
                   % (server, col, early, late, lim, "flat" if ok else "LEAK?"))
    return out, flat, n


def axis(v):
    """A round axis maximum at or above V and its tick step (at most 8 ticks)."""
    if v <= 0:
        return 1, 0.2
    step = 10 ** math.floor(math.log10(v / 8))
    for m in (1, 2, 2.5, 5, 10):
        if v / (m * step) <= 8:
            step *= m
            break
    return math.ceil(v / step - 1e-9) * step, step


def log_axis(vals):
    """Decades covering VALS (all > 0): (lowest, highest) powers of ten."""
    lo = min(vals) if vals else 0.1
    hi = max(vals) if vals else 1
    return 10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi) + 1e-9)


def svg(rows, title):
    W, PH, L, R, T, GAP = 820, 170, 70, 150, 40, 40
    H = T + len(SERIES) * (PH + GAP) + 10
    ws = [r for r in rows if r["event"] in ("", "term", "kill")]
    xmax, xstep = axis(max([float(r["elapsed_s"]) for r in ws] + [10]) / 60)
    pw = W - L - R
    o = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
         'font-family="sans-serif" font-size="11">' % (W, H, W, H),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="%d" y="20" font-size="14" font-weight="bold">%s</text>' % (L, esc(title))]
    restarts = [(float(r["elapsed_s"]) / 60, r["event"]) for r in ws
                if r["server"] == "kv" and r["event"] in ("term", "kill")]
    for i, (col, label, unit, scale) in enumerate(SERIES):
        y0 = T + i * (PH + GAP)
        vals = [float(r[col]) * scale for r in ws if r[col] != ""]
        if col == "p99_ms":  # latencies span decades: a log scale keeps both servers visible
            vals = [max(v, 0.01) for v in vals]
            lo, hi = log_axis(vals)
            ypos = lambda v: y0 + PH - PH * (math.log10(max(v, lo)) - math.log10(lo)) \
                / (math.log10(hi) - math.log10(lo))
            ticks = [lo * 10 ** k for k in range(round(math.log10(hi / lo)) + 1)]
        else:
            ymax, ystep = axis(max(vals + [0]) * 1.05)
            ypos = lambda v: y0 + PH - PH * v / ymax
            ticks = [k * ystep for k in range(round(ymax / ystep) + 1)]
        o.append('<text x="%d" y="%d" font-weight="bold">%s%s</text>'
                 % (L, y0 - 6, esc(label), " (%s)" % unit if unit else ""))
        for v in ticks:  # y grid and labels
            y = ypos(v)
            o.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>'
                     % (L, y, L + pw, y))
            o.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (L - 5, y + 4, fmt(v)))
        o.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444"/>'
                 % (L, y0, pw, PH))
        for k in range(round(xmax / xstep) + 1):  # x labels, minutes
            x = L + pw * k * xstep / xmax
            o.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>'
                     % (x, y0 + PH + 14, fmt(k * xstep)))
        for t, ev in restarts:
            x = L + pw * t / xmax
            o.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" '
                     'stroke-dasharray="3,3"/>' % (x, y0, x, y0 + PH, RESTART_COLORS[ev]))
        for server, color in COLORS.items():
            pts = ["%.1f,%.1f" % (L + pw * float(r["elapsed_s"]) / 60 / xmax,
                                  ypos(float(r[col]) * scale))
                   for r in ws if r["server"] == server and r[col] != ""]
            if pts:
                o.append('<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>'
                         % (color, " ".join(pts)))
    o.append('<text x="%d" y="%d" text-anchor="middle">minutes (each point: a 10 s window, '
             'at its end)</text>' % (L + pw / 2, H - 4))
    lx, ly = L + pw + 15, T + 10
    for k, (name, color, dash) in enumerate([
            ("static server", COLORS["static"], ""), ("kv machine", COLORS["kv"], ""),
            ("kv SIGTERM + start", RESTART_COLORS["term"], "3,3"),
            ("kv kill -9 + start", RESTART_COLORS["kill"], "3,3")]):
        y = ly + 18 * k
        o.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>'
                 % (lx, y, lx + 20, y, color, ' stroke-dasharray="%s"' % dash if dash else ""))
        o.append('<text x="%d" y="%d">%s</text>' % (lx + 26, y + 4, name))
    o.append("</svg>")
    return "\n".join(o) + "\n"


def fmt(v):
    return ("%.0f" % v) if v >= 10 or v == int(v) else ("%g" % round(v, 3))


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    rows = load(sys.argv[1])
    title = sys.argv[3] if len(sys.argv) == 4 else "pluto soak"
    all_flat = True
    for server in ("static", "kv"):
        lines, flat, n = verdict(rows, server)
        all_flat = all_flat and flat
        for line in lines:
            print("soak: " + line)
    with open(sys.argv[2], "w") as f:
        f.write(svg(rows, title))
    sys.exit(0 if all_flat else 1)


if __name__ == "__main__":
    main()
