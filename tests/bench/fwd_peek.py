# tests/bench/fwd_traffic.sh: a quick look at one run, for the log and to fail
# early on a broken path (exit 1: nothing delivered). Snapshots as snap()
# prints them.
#
#   python3 fwd_peek.py CASE SNAP0 SNAP1
import sys
cs, a, b = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
a = list(map(int, a)); b = list(map(int, b)); dt = (b[0] - a[0]) / 1e9
d = [y - x for x, y in zip(a, b)]
cnt = d[5:14]
got = cnt[8] if cs == "xdp_drop" else cnt[2] if cs == "plain" else cnt[1]
print(f"    {got / dt / 1e3:8.1f} kpps delivered, sent {d[14] / dt / 1e3:8.1f} kpps, node CPU {100 * d[1] / max(d[2], 1):5.1f} %")
sys.exit(0 if got > 0 else 1)
