#!/usr/bin/env python3
"""Probes of the e2e tests that need more than a TCP client (tests/e2e/hostile_tests.sh).

  netprobe.py udp-server ADDR PORT REPLY_BYTES   echo server: answers every datagram
                                                 with REPLY_BYTES bytes (its first byte
                                                 and the backend's name after it)
  netprobe.py udp-ask ADDR PORT BYTES N         N requests of BYTES bytes each from a
                                                 socket connected to ADDR:PORT (replies
                                                 from any other source never arrive);
                                                 prints {"ok", "errors", "backends", "sizes"}
  netprobe.py ttl1 ADDR PORT                     a TCP SYN with TTL / hop limit 1 to
                                                 ADDR:PORT; prints {"from", "type",
                                                 "quoted_dst", "quoted_dport"} of the ICMP
                                                 error it draws (time exceeded, or
                                                 unreachable from a hop with no route)

Everything is bounded in time; the exit status is 0 unless the arguments are wrong
or a socket cannot be made.
"""
import ipaddress
import json
import select
import socket
import struct
import sys
import time


def family_of(addr):
    return socket.AF_INET6 if ipaddress.ip_address(addr).version == 6 else socket.AF_INET


def udp_server(addr, port, reply_bytes, name):
    s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    body = (name.encode() + b"\n").ljust(reply_bytes, b"x")
    print("ready", flush=True)
    while True:
        _, peer = s.recvfrom(65535)
        s.sendto(body, peer)


def udp_ask(addr, port, size, n, timeout_s=1.0):
    out = {"ok": 0, "errors": 0, "backends": {}, "sizes": {}}
    for i in range(n):
        s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
        s.connect((addr, port))
        s.settimeout(timeout_s)
        try:
            s.send(bytes([i & 0xFF]) * size)
            data = s.recv(65535)
            name = data.split(b"\n", 1)[0].decode(errors="replace")
            out["ok"] += 1
            out["backends"][name] = out["backends"].get(name, 0) + 1
            out["sizes"][str(len(data))] = out["sizes"].get(str(len(data)), 0) + 1
        except OSError:
            out["errors"] += 1
        s.close()
    print(json.dumps(out))


def ttl1(addr, port, wait_s=2.0):
    """What a hop says when our SYN's TTL runs out: who, and the header it quotes."""
    fam = family_of(addr)
    v6 = fam == socket.AF_INET6
    icmp = socket.socket(fam, socket.SOCK_RAW,
                         socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
    tcp = socket.socket(fam, socket.SOCK_STREAM)
    if v6:
        tcp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 1)
    else:
        tcp.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 1)
    tcp.setblocking(False)
    try:
        tcp.connect((addr, port))
    except BlockingIOError:
        pass
    except OSError:
        pass
    result = {"from": None, "type": None, "quoted_dst": None, "quoted_dport": None}
    end = time.monotonic() + wait_s
    while time.monotonic() < end:
        r, _, _ = select.select([icmp], [], [], max(0.0, end - time.monotonic()))
        if not r:
            break
        data, peer = icmp.recvfrom(65535)
        if not v6:
            ihl = (data[0] & 0xF) * 4     # IPv4 raw sockets see the IP header
            data = data[ihl:]
        kind = data[0]
        if kind not in ((1, 3) if v6 else (3, 11)):
            continue
        inner = data[8:]
        if v6:
            dst = socket.inet_ntop(socket.AF_INET6, inner[24:40])
            l4 = inner[40:]
        else:
            dst = socket.inet_ntop(socket.AF_INET, inner[16:20])
            l4 = inner[(inner[0] & 0xF) * 4:]
        result = {"from": peer[0], "type": kind, "quoted_dst": dst,
                  "quoted_dport": struct.unpack("!H", l4[2:4])[0] if len(l4) >= 4 else None}
        break
    tcp.close()
    print(json.dumps(result))


def main(argv):
    if len(argv) >= 5 and argv[1] == "udp-server":
        udp_server(argv[2], int(argv[3]), int(argv[4]), argv[5] if len(argv) > 5 else "udp")
    elif len(argv) == 6 and argv[1] == "udp-ask":
        udp_ask(argv[2], int(argv[3]), int(argv[4]), int(argv[5]))
    elif len(argv) == 4 and argv[1] == "ttl1":
        ttl1(argv[2], int(argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
