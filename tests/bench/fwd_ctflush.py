# tests/bench/fwd_traffic.sh: conntrack flush over ctnetlink (conntrack-tools
# is not required). Run in the node's namespace; prints the entries left.
#
#   python3 fwd_ctflush.py
import socket, struct, sys
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)   # NETLINK_NETFILTER
s.bind((0, 0))
body = struct.pack("BBH", socket.AF_INET, 0, 0)           # nfgenmsg
msg = struct.pack("=IHHII", 16 + len(body), (1 << 8) | 2, 0x1 | 0x4, 1, 0) + body  # CT_DELETE, REQUEST|ACK
s.send(msg)
r = s.recv(65536)
err = struct.unpack("=i", r[16:20])[0]
if err not in (0, -2):   # -ENOENT: conntrack never ran here
    sys.exit(f"ctnetlink flush: error {err}")
try:
    print(open("/proc/sys/net/netfilter/nf_conntrack_count").read().strip())
except OSError:
    print(0)
