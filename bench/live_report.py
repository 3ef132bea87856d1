#!/usr/bin/env python3
"""Report of the live-update benchmark (bench/live.sh): reads results.jsonl, prints the tables and the
target checks. Python standard library only.

usage: live_report.py results.jsonl      (context comes from the environment live.sh exports)

results.jsonl holds: the subscriber client's LIVEJSON / HOLDJSON lines (kind, round, subs added by live.sh),
wrkrun.py's records (measure id|bbox, server "subs=N") and one REAP record (how long the server kept the
subscribers the client had closed).
"""
import json, os, sys

P99_TARGET_MS = 200.0
MEM_TARGET_B = 10000  # "< 10 KB per subscriber", read strictly as 10,000 bytes
TARGET_N = 10000


def f(v, fmt="%.1f", none="-"):
    return none if v is None or (isinstance(v, (int, float)) and v < 0) else fmt % v


def main():
    recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    e = os.environ
    live = {r["subs"]: r for r in recs if r.get("kind") == "LIVEJSON"}
    hold = {r["subs"]: r for r in recs if r.get("kind") == "HOLDJSON"}
    reap = [r for r in recs if r.get("kind") == "REAP"]
    wrk = {}
    for r in recs:
        if "measure" in r and str(r.get("server", "")).startswith("subs="):
            wrk[(int(r["server"][5:]), r["measure"])] = r
    ns = sorted(live)

    print("crisismap live-update benchmark (Server-Sent Events)   stamp %s" % e.get("STAMP", "?"))
    print("mode:      %s" % e.get("MODE", "?"))
    print("host:      %s" % e.get("HOSTDESC", "?"))
    print("crisismap: %s; %s" % (e.get("CMVER", "?"), e.get("MHDVER", "")))
    print("server:    fresh `crisismap serve` per round on the demo store (Monaco; the store keeps the previous rounds' "
          "writes), events {log_length 10000, max_streams 20000, heartbeat_s %s}, access_log false, 127.0.0.1" % e.get("HEARTBEAT_S", "15"))
    print("limits:    RLIMIT_NOFILE %s" % e.get("LIMITS_DONE", "?"))
    print("client:    bench/sse_clients.c, one epoll thread for every subscriber + one writer thread (blocking socket, "
          "keep-alive); ramp-up with at most %s connects in flight" % e.get("BATCH", "?"))
    print()
    print("Live updates: %s writes (POST services, one after another, each waits for its 201) while N subscribers "
          "are connected and idle" % e.get("WRITES", "100"))
    hdr = ("%-7s %-11s %6s %9s %9s %8s %7s %13s %9s %8s %8s %8s %8s %7s %7s %8s"
           % ("subs", "connected", "ramp s", "RSS MiB", "+RSS MiB", "KiB/sub", "writes", "POST p50/p99", "delivered",
              "missing", "lat p50", "lat p99", "lat max", "<ack", "last50", "srv CPU"))
    print(hdr)
    for n in ns:
        r = live[n]
        con = "%d/%d" % (r["connected"], n) if n else "-"
        kib = (r["rss_connected_kb"] - r["rss_before_kb"]) / r["connected"] if r["connected"] else None
        drss = (r["rss_connected_kb"] - r["rss_before_kb"]) / 1024 if n else None
        post = "%s/%s" % (f(r["post_p50_ms"]), f(r["post_p99_ms"]))
        print("%-7d %-11s %6s %9s %9s %8s %7s %13s %9s %8s %8s %8s %8s %7s %7s %8s"
              % (n, con, f(r["ramp_s"], "%.2f") if n else "-", f(r["rss_connected_kb"] / 1024), f(drss), f(kib, "%.2f"),
                 "%d/%d" % (r["writes_ok"], r["writes"]), post, r["received"] if n else "-", r["missing"] if n else "-",
                 f(r["lat_p50_ms"], "%.2f") if n else "-", f(r["lat_p99_ms"], "%.2f") if n else "-",
                 f(r["lat_max_ms"], "%.2f") if n else "-", r["early"] if n else "-", f(r["last_sub_p50_ms"]) if n else "-",
                 f(r["srv_cpu_burst_s"], "%.2f")))
    print("  latency = time the subscriber's read() completed the event frame - time the writer had read the whole 201 of "
          "that write (CLOCK_MONOTONIC, same process), over all subscribers x writes; ms.")
    print("  '<ack': deliveries that arrived before the writer had its 201 (negative latencies, kept in the percentiles); "
          "last50: per write, the p50 of the last subscriber's latency; srv CPU: server CPU seconds over the burst window.")
    print("  RSS: server VmRSS with the subscribers connected and idle (+RSS = minus VmRSS just before connecting them).")
    for n in ns:
        r = live[n]
        if not n:
            continue
        extra = []
        for k in ("duplicates", "out_of_order", "resets", "unexpected", "failed", "non200", "timeouts", "closed_ramp",
                  "closed_idle", "closed_burst"):
            if r.get(k):
                extra.append("%s %s" % (k, r[k]))
        print("  %6d subs: receive - POST sent p50/p99/max %s/%s/%s ms; lat p90 %s p99.9 %s; VmRSS after the burst %s MiB "
              "(%s KiB/sub); burst window %.2f s: client CPU %.2f s, whole host %.2f cores busy (%.2f not server/client)%s"
              % (n, f(r["send_p50_ms"], "%.2f"), f(r["send_p99_ms"], "%.2f"), f(r["send_max_ms"], "%.2f"),
                 f(r["lat_p90_ms"], "%.2f"), f(r["lat_p999_ms"], "%.2f"), f(r["rss_after_burst_kb"] / 1024),
                 f((r["rss_after_burst_kb"] - r["rss_before_kb"]) / r["connected"] if r["connected"] else None, "%.2f"),
                 r["burst_window_s"], r["client_cpu_burst_s"], r["host_busy_cores"],
                 r["host_busy_cores"] - (r["srv_cpu_burst_s"] + r["client_cpu_burst_s"]) / max(r["burst_window_s"], 1e-9),
                 ("; " + ", ".join(extra)) if extra else ""))
        h = hold.get(n)
        if h:
            print("          held %.0f s during the reads: %d still connected at the end, %d closed by the server, "
                  "%d heartbeats, %d events, %d resets received; longest silence %.1f s, %d subscribers silent > "
                  "heartbeat_s + 1 s" % (h["hold_s"], h["alive_end"], h["closed_hold"], h["heartbeats"], h["events"],
                                         h["resets"], h["max_silence_s"], h["silent_over_hb"]))
    print()
    print("Reads while the subscribers stay connected (wrk -t%s -c%s, %s s + %s s warm-up each; 0 = no subscriber)"
          % (e.get("T_READ", "2"), e.get("C_READ", "50"), e.get("D", "?"), e.get("WARM", "?")))
    print("%-16s %-7s %10s %8s %8s %11s %8s %10s" % ("request", "subs", "req/s", "p50 ms", "p99 ms", "non2xx/err",
                                                   "srv CPU", "vs 0 subs"))
    for m, label in (("id", "feature by id"), ("bbox", "roads bbox")):
        for n in ns:
            r = wrk.get((n, m))
            if not r:
                print("%-16s %-7d %10s" % (label if n == ns[0] else "", n, "(failed)"))
                continue
            base = wrk.get((0, m))
            ratio = "%.2fx" % (r["rps"] / base["rps"]) if base and base["rps"] and n else ""
            print("%-16s %-7d %10.1f %8.2f %8.2f %11s %8s %10s"
                  % (label if n == ns[0] else "", n, r["rps"], r["p50_ms"], r["p99_ms"], "%d/%d" % (r["non2xx"], r["errors"]),
                     f(r.get("server_cpu_cores"), "%.2f"), ratio))
    print("  feature by id = %s; roads bbox = %s (a layer nobody writes); 'vs 0 subs' = req/s over the 0-subscriber row."
          % (e.get("URL_ID", ""), e.get("URL_BBOX", "")))
    print("  wrk, the (idle) subscriber client and the server share the 2 cores; single short windows on a shared box vary by "
          "+-20-30 %: repeat before reading much into a ratio.")
    for r in reap:
        print()
        print("Disconnect (after the %d-subscriber round): server fds %d held -> %d (%d before connecting); released %s; "
              "VmRSS %.1f -> %.1f MiB; server log lines 'Failed to send the chunked response body': %d"
              % (r["subs"], r["fds_held"], r["fds_after"], r["base_fds"],
                 ("%.1f s after the client closed them" % r["released_s"]) if r["released_s"] is not None
                 else "NOT within %d s" % r["limit_s"], r["rss_held_kb"] / 1024, r["rss_after_kb"] / 1024,
                 r["failed_send_log_lines"]))

    print()
    print("Targets")
    top = max(ns) if ns else 0
    quick = top < TARGET_N
    r = live.get(top)
    note = "" if not quick else "   (measured at %d subscribers, not %d: indicative only)" % (top, TARGET_N)
    if r and top:
        p99 = r["lat_p99_ms"]
        ok = p99 is not None and p99 >= -1e9 and r["received"] > 0 and p99 < P99_TARGET_MS and r["missing"] == 0
        why = "" if r["missing"] == 0 else " (%d deliveries missing)" % r["missing"]
        print("  event latency p99 at %6d subscribers   %9.2f ms   target < %.0f ms, none missing   %s%s%s"
              % (top, p99, P99_TARGET_MS, "PASS" if ok else "MISS", why, note))
        per = (r["rss_connected_kb"] - r["rss_before_kb"]) * 1024 / r["connected"] if r["connected"] else None
        if per is not None:
            print("  server memory per subscriber (%6d)    %9.0f B    target < %d B (10 KB)        %s   (%.2f KiB; %.2f KiB "
                  "after the burst)%s" % (top, per, MEM_TARGET_B, "PASS" if per < MEM_TARGET_B else "MISS", per / 1024,
                                         (r["rss_after_burst_kb"] - r["rss_before_kb"]) / r["connected"], note))
    else:
        print("  no round with subscribers completed")


if __name__ == "__main__":
    main()
