# tests/bench/fwd.sh: the JSON report and the human table of a run.
#
#   python3 fwd_report.py RAW OUTFILE DUR WARM LAYOUT GENERATOR IPTABLES_VERSION
#       NODE_CPU GEN_CPU FILL_JSON CLK_TCK SMOKE LOAD_JSON RUN_S
#
# RAW holds a line per run as measure() (fwd_traffic.sh) appends it. OUTFILE
# receives (written to OUTFILE.tmp, then renamed):
#
# {"kind":"fwd","smoke":false,"duration_s":3,"warmup_s":0.5,
#  "layout":"split","generator":"trafgen ...","node_cpu":1,"generator_cpu":0,
#  "iptables":"iptables v1.8.9 (nf_tables)","xdp_drop_pps":P,
#  "xdp_drop_cpu_ns_per_pkt":C,"cb_fill_s":{"100":s,..},
#  "rules_load_s":{"nftables:10000":s,..},"run_s":s,"targets":{..},
#  "cases":[{"case":"cb_xdp","services":1,"flows":"many","traffic":"udp64",
#   "new_conn_per_pkt":true,"pps":..,"cpu_ns_per_pkt":..,
#   "node_thread_ns_per_pkt":..,"ratio_pps_vs_nft":..,"ratio_cpu_vs_nft":..,
#   "ratio_pps_vs_xdp_drop":..,"sent_pps":..,"offered_pps":..,
#   "node_cpu_util":..,"node_cpu_other_util":..,"gen_cpu_util":..,
#   "backend_share":[4 fractions],"cb_redirect_share":..,"window_s":..},..]}
# ratio_cpu_vs_nft is nftables' CPU per packet over this case's (> 1: this
# case is cheaper); the ratios compare rows of the same services, flows and
# traffic. cb_redirect_share is the share of canary-bpf's forwarded packets
# it redirected itself (the rest it handed to the stack after NAT).
# The table and the targets, checked, go to stdout.
import json, sys
raw, out, dur, warm, layout, gen, iptv, ncpu, gcpu, fill, hz, smoke, load, took = sys.argv[1:]
hz = float(hz)
NEW = {("udp64", "many"), ("tcp_syn", "many")}
rows = []
for line in open(raw):
    f = line.split()
    cs, n, traffic, flows = f[0], int(f[1]), f[2], f[3]
    K = 17   # fields of a snapshot
    a = list(map(int, f[4:4 + K])); b = list(map(int, f[4 + K:4 + 2 * K])); g = f[4 + 2 * K:]
    d = [y - x for x, y in zip(a, b)]
    dt = d[0] / 1e9
    cnt = d[5:14]
    got = cnt[8] if cs == "xdp_drop" else cnt[2] if cs == "plain" else cnt[1]
    share = [round(c / cnt[1], 3) if cnt[1] else 0 for c in cnt[4:8]]
    busy_ns = d[1] / hz * 1e9
    rows.append({
        "case": cs, "services": n, "flows": flows, "traffic": traffic,
        "new_conn_per_pkt": (traffic, flows) in NEW,
        "pps": round(got / dt), "cpu_ns_per_pkt": round(busy_ns / got, 1) if got else None,
        "sent_pps": round(d[14] / dt), "offered_pps": round((d[14] + d[15]) / dt), "node_cpu_util": round(d[1] / d[2], 3) if d[2] else None,
        "gen_cpu_util": round(d[3] / d[4], 3) if d[4] else None,
        "backend_share": share if cs not in ("plain", "xdp_drop") else None,
        "window_s": round(dt, 3),
        "node_thread_ns_per_pkt": round(d[16] / got, 1) if got and layout == "split" else None,
        "node_cpu_other_util": (round(max(0.0, d[1] / hz * 1e9 - d[16]) / (d[2] / hz * 1e9), 3)
                                if layout == "split" and d[2] else None),
        "cb_redirect_share": (round(int(g[0]) / (int(g[0]) + int(g[1])), 3)
                              if cs.startswith("cb_") and int(g[0]) + int(g[1]) else None),
    })
idx = {(r["case"], r["services"], r["flows"], r["traffic"]): r for r in rows}
for r in rows:
    nft = idx.get(("nftables", r["services"], r["flows"], r["traffic"]))
    drop = idx.get(("xdp_drop", 1, r["flows"], r["traffic"]))
    r["ratio_pps_vs_nft"] = round(r["pps"] / nft["pps"], 2) if nft and nft["pps"] else None
    r["ratio_cpu_vs_nft"] = (round(nft["cpu_ns_per_pkt"] / r["cpu_ns_per_pkt"], 2)
                             if nft and nft["cpu_ns_per_pkt"] and r["cpu_ns_per_pkt"] else None)
    r["ratio_pps_vs_xdp_drop"] = round(r["pps"] / drop["pps"], 2) if drop and drop["pps"] else None
ref = idx.get(("xdp_drop", 1, "many", "udp64"))

# The targets, checked on these figures (None: a row is missing).
def ratios(case, mixes, key):
    v = [idx[(case, 1, f, t)][key] for t, f in mixes if (case, 1, f, t) in idx]
    return v if len(v) == len(mixes) and None not in v else None
EST = [("udp64", "single"), ("tcp_ack", "many"), ("tcp_ack", "single")]
NEWC = [("udp64", "many"), ("tcp_syn", "many")]
targets = {}
for name, mixes, want in (("established_vs_nft", EST, 2.5), ("new_conn_vs_nft", NEWC, 4.0)):
    p, c = ratios("cb_xdp", mixes, "ratio_pps_vs_nft"), ratios("cb_xdp", mixes, "ratio_cpu_vs_nft")
    targets[name] = {"want": want, "pps_ratios": p, "cpu_ratios": c,
                     "met": None if p is None else min(p) >= want}
drops = []
for t, f in EST + NEWC:
    cbx, dr = idx.get(("cb_xdp", 1, f, t)), idx.get(("xdp_drop", 1, f, t))
    if cbx and dr and cbx["cpu_ns_per_pkt"]:
        drops.append({"traffic": t, "flows": f, "pps_ratio": cbx["ratio_pps_vs_xdp_drop"],
                      "cpu_ratio": round(dr["cpu_ns_per_pkt"] / cbx["cpu_ns_per_pkt"], 2)})
targets["vs_xdp_drop"] = {"want": 0.7, "by_mix": drops,
                          "met": None if not drops else min(x["pps_ratio"] for x in drops) >= 0.7}
ns = sorted({r["services"] for r in rows})
grow = {}
for case in ("cb_xdp", "cb_tc", "nftables", "iptables"):
    for t, f in NEWC:
        lo, hi = idx.get((case, ns[0], f, t)), idx.get((case, ns[-1], f, t))
        if lo and hi and lo is not hi and lo["cpu_ns_per_pkt"] and hi["cpu_ns_per_pkt"]:
            grow[f"{case} {t}/{f}"] = round(hi["cpu_ns_per_pkt"] / lo["cpu_ns_per_pkt"] - 1, 3)
cbg = [v for k, v in grow.items() if k.startswith("cb_xdp")]
targets["scaling_cost_growth"] = {"want": 0.10, "from": ns[0], "to": ns[-1], "by_case": grow,
                                  "met": None if not cbg else max(cbg) <= 0.10}
doc = {
    "kind": "fwd", "smoke": smoke == "1", "duration_s": float(dur), "warmup_s": float(warm),
    "layout": layout, "generator": gen, "node_cpu": int(ncpu) if layout == "split" else "all",
    "generator_cpu": int(gcpu) if layout == "split" else "all", "iptables": iptv,
    "xdp_drop_pps": ref["pps"] if ref else None,
    "xdp_drop_cpu_ns_per_pkt": ref["cpu_ns_per_pkt"] if ref else None,
    "cb_fill_s": json.loads(fill), "rules_load_s": json.loads(load), "run_s": int(took),
    "targets": targets, "cases": rows,
}
with open(out + ".tmp", "w") as fh:
    json.dump(doc, fh, indent=1)
    fh.write("\n")
import os
os.replace(out + ".tmp", out)

def fmt(v, w, p=0):
    return f"{'-':>{w}}" if v is None else f"{v:>{w}.{p}f}"
print(f"\nforwarding, {layout} layout, {dur} s per run; kpps delivered at the backend; ns/pkt: "
      f"{'CPU ' + ncpu if layout == 'split' else 'all CPUs'} busy time per delivered packet")
print(f"{'case':<9} {'svcs':>6} {'traffic':<8} {'flows':<6} {'kpps':>8} {'ns/pkt':>8} "
      f"{'x nft':>6} {'cpu x nft':>9} {'x drop':>6} {'offered':>8} {'node cpu':>8}")
for r in rows:
    print(f"{r['case']:<9} {r['services']:>6} {r['traffic']:<8} {r['flows']:<6} {r['pps'] / 1e3:>8.1f} "
          f"{fmt(r['cpu_ns_per_pkt'], 8)} {fmt(r['ratio_pps_vs_nft'], 6, 2)} {fmt(r['ratio_cpu_vs_nft'], 9, 2)} "
          f"{fmt(r['ratio_pps_vs_xdp_drop'], 6, 2)} {r['offered_pps'] / 1e3:>8.1f} "
          f"{fmt(None if r['node_cpu_util'] is None else 100 * r['node_cpu_util'], 7)}%")
def yn(m):
    return "-" if m is None else "met" if m else "MISSED"
def lst(v):
    return "-" if v is None else " ".join(f"{x:.2f}" for x in v)
e, c = targets["established_vs_nft"], targets["new_conn_vs_nft"]
print("\ntargets (cb_xdp)" + (" -- smoke run, not meaningful:" if smoke == "1" else ":"))
print(f"  >= 2.5x nftables, established (udp64/single tcp_ack/many tcp_ack/single): "
      f"pps {lst(e['pps_ratios'])}, cpu {lst(e['cpu_ratios'])}: {yn(e['met'])}")
print(f"  >= 4x nftables, new connection per packet (udp64/many tcp_syn/many): "
      f"pps {lst(c['pps_ratios'])}, cpu {lst(c['cpu_ratios'])}: {yn(c['met'])}")
v = targets["vs_xdp_drop"]
print(f"  >= 70 % of xdp_drop: pps {lst([x['pps_ratio'] for x in v['by_mix']])}, "
      f"cpu {lst([x['cpu_ratio'] for x in v['by_mix']])}: {yn(v['met'])}")
v = targets["scaling_cost_growth"]
print(f"  cost growth {v['from']} -> {v['to']} services <= 10 %: "
      + ", ".join(f"{k} {100 * x:+.0f} %" for k, x in v["by_case"].items()) + f": {yn(v['met'])}")
