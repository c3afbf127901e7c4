# tests/bench/fwd_rules.sh: rule sets of kube-proxy for N services, written as
# its iptables and nftables modes write them (kube-proxy 1.31; names
# shortened, comments kept).
#
#   python3 fwd_rules.py iptables|nftables N FILE
#
# Writes FILE (the measured service with protocol udp) and FILE.udp /
# FILE.tcp, which switch the measured service's protocol in place: the chains
# of both exist, only the KUBE-SERVICES rule (iptables, replaced at its
# position, the last but the nodeports rule) or the service-ips element
# (nftables) points at one. Fillers have one endpoint each (their chains are
# never traversed by the measured packets; only iptables' KUBE-SERVICES rules
# are, one per service, in order).
import base64, hashlib, sys
kind, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
CLUSTER = "10.244.0.0/16"
VIP = "10.96.0.10"
EPS = [f"10.244.2.{k}" for k in (2, 3, 4, 5)]

def h(s):
    return base64.b32encode(hashlib.sha256(s.encode()).digest()).decode()[:16]

fillers = [(f"bench/fill{i}", f"10.97.{i >> 8}.{i & 255}", "tcp", 80,
            [f"10.246.{i >> 8}.{i & 255}"], 8080) for i in range(n - 1)]
targets = {p: ("bench/web", VIP, p, 80, EPS, 8080) for p in ("udp", "tcp")}
L = []
if kind == "iptables":
    def svc_rule(name, vip, p, port, eps, tport, verb="-A KUBE-SERVICES"):
        sp = f"{name}:p{port}"
        return (f'{verb} -d {vip}/32 -p {p} -m comment --comment "{sp} cluster IP" -m {p} '
                f'--dport {port} -j KUBE-SVC-{h(sp + p)}')
    def svc_chains(name, vip, p, port, eps, tport):
        sp = f"{name}:p{port}"
        svc = "KUBE-SVC-" + h(sp + p)
        decl = [f":{svc} - [0:0]"]
        body = [f'-A {svc} ! -s {CLUSTER} -d {vip}/32 -p {p} -m comment --comment "{sp} cluster IP" '
                f'-m {p} --dport {port} -j KUBE-MARK-MASQ']
        for k, ep in enumerate(eps):
            sep = "KUBE-SEP-" + h(sp + p + ep)
            decl.append(f":{sep} - [0:0]")
            left = len(eps) - k
            stat = f" -m statistic --mode random --probability {1 / left:.11f}" if left > 1 else ""
            body.append(f'-A {svc} -m comment --comment "{sp} -> {ep}:{tport}"{stat} -j {sep}')
            body.append(f'-A {sep} -s {ep}/32 -m comment --comment "{sp}" -j KUBE-MARK-MASQ')
            body.append(f'-A {sep} -p {p} -m comment --comment "{sp}" -m {p} -j DNAT --to-destination {ep}:{tport}')
        return decl, body
    L += ["*filter", ":KUBE-EXTERNAL-SERVICES - [0:0]", ":KUBE-FORWARD - [0:0]",
          ":KUBE-NODEPORTS - [0:0]", ":KUBE-PROXY-FIREWALL - [0:0]", ":KUBE-SERVICES - [0:0]",
          '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
          '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
          '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
          '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
          '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
          '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
          '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
          '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
          '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
          '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
          '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
          '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
          "COMMIT", "*nat", ":KUBE-MARK-MASQ - [0:0]", ":KUBE-NODEPORTS - [0:0]",
          ":KUBE-POSTROUTING - [0:0]", ":KUBE-SERVICES - [0:0]"]
    decls, bodies = [], []
    for s in fillers + [targets["udp"], targets["tcp"]]:
        d, b = svc_chains(*s)
        decls += d
        bodies += b
    L += decls
    L += ['-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
          '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
          '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
          "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000",
          "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
          "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0",
          '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully']
    L += [svc_rule(*s) for s in fillers]
    L.append(svc_rule(*targets["udp"]))   # position n: the last service rule
    L.append('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the '
             'last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS')
    L += bodies
    L.append("COMMIT")
    for p in ("udp", "tcp"):
        open(f"{out}.{p}", "w").write("*nat\n" + svc_rule(*targets[p], verb=f"-R KUBE-SERVICES {n}") + "\nCOMMIT\n")
else:
    def base(name, p, port):
        return h(name + p)[:8] + "-" + name.replace("/", "-") + f"-{p}-p{port}"
    def element(name, vip, p, port, eps, tport):
        return f"{vip} . {p} . {port} : goto service-{base(name, p, port)}"
    chains = []
    for name, vip, p, port, eps, tport in fillers + [targets["udp"], targets["tcp"]]:
        b = base(name, p, port)
        vm = ", ".join(f"{k} : goto endpoint-{b}__{ep}-{tport}" for k, ep in enumerate(eps))
        chains.append(f"\tchain service-{b} {{\n\t\tip daddr {vip} {p} dport {port} ip saddr != {CLUSTER} "
                      f"jump mark-for-masquerade\n\t\tnumgen random mod {len(eps)} vmap {{ {vm} }}\n\t}}")
        for ep in eps:
            chains.append(f"\tchain endpoint-{b}__{ep}-{tport} {{\n\t\tip saddr {ep} jump mark-for-masquerade\n"
                          f"\t\tmeta l4proto {p} dnat to {ep}:{tport}\n\t}}")
    vips = [s[1] for s in fillers] + [VIP]
    el = [element(*s) for s in fillers] + [element(*targets["udp"])]
    L.append("table ip kube-proxy {")
    L.append('\tcomment "rules for kube-proxy"')
    L += chains
    L.append("\tset cluster-ips {\n\t\ttype ipv4_addr\n\t\telements = { " + ", ".join(vips) + " }\n\t}")
    L.append("\tmap service-ips {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n\t\telements = { "
             + ", ".join(el) + " }\n\t}")
    L.append("\tmap service-nodeports {\n\t\ttype inet_proto . inet_service : verdict\n\t}")
    L.append("\tmap firewall-ips {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n\t}")
    L.append("\tmap no-endpoint-services {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n\t}")
    L.append("\tchain mark-for-masquerade {\n\t\tmeta mark set meta mark | 0x4000\n\t}")
    L.append("\tchain masquerading {\n\t\tmeta mark & 0x4000 == 0 return\n\t\tmeta mark set meta mark ^ 0x4000\n\t\tmasquerade fully-random\n\t}")
    L.append("\tchain nodeports {\n\t\tmeta l4proto . th dport vmap @service-nodeports\n\t}")
    L.append("\tchain services {\n\t\tip daddr . meta l4proto . th dport vmap @service-ips\n"
             "\t\tfib daddr type local ip daddr != 127.0.0.0/8 jump nodeports\n\t}")
    L.append("\tchain firewall-check {\n\t\tip daddr . meta l4proto . th dport vmap @firewall-ips\n\t}")
    L.append("\tchain service-endpoints-check {\n\t\tip daddr . meta l4proto . th dport vmap @no-endpoint-services\n\t}")
    L.append("\tchain cluster-ips-check {\n\t\tip daddr @cluster-ips reject\n\t\tip daddr { 10.96.0.0/12 } drop\n\t}")
    L.append("\tchain filter-prerouting {\n\t\ttype filter hook prerouting priority -110; policy accept;\n"
             "\t\tct state new jump firewall-check\n\t}")
    L.append("\tchain filter-forward {\n\t\ttype filter hook forward priority -110; policy accept;\n"
             "\t\tct state new jump service-endpoints-check\n\t\tct state new jump cluster-ips-check\n\t}")
    L.append("\tchain filter-output {\n\t\ttype filter hook output priority -110; policy accept;\n"
             "\t\tct state new jump service-endpoints-check\n\t\tct state new jump cluster-ips-check\n\t}")
    L.append("\tchain nat-prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\tjump services\n\t}")
    L.append("\tchain nat-output {\n\t\ttype nat hook output priority -100; policy accept;\n\t\tjump services\n\t}")
    L.append("\tchain nat-postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\tjump masquerading\n\t}")
    L.append("}")
    for p, q in (("udp", "tcp"), ("tcp", "udp")):
        open(f"{out}.{p}", "w").write(
            f"delete element ip kube-proxy service-ips {{ {VIP} . {q} . 80 }}\n"
            f"add element ip kube-proxy service-ips {{ {element(*targets[p])} }}\n")
open(out, "w").write("\n".join(L) + "\n")
