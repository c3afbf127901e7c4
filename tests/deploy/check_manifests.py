#!/usr/bin/env python3
"""Schema checks of deploy/*.yaml: one PASS/FAIL line per property.

    check_manifests.py DEPLOY_DIR                 the manifests as written
    check_manifests.py --rendered FILE [--full]   the output of `kubectl kustomize`

Only what the agent's deployment depends on is checked (see deploy/README.md
for why each property matters); it is not a Kubernetes schema validator.
"""
import glob
import os
import re
import sys

import yaml

NS = "canary-bpf"
CAPS = {"BPF", "NET_ADMIN", "PERFMON"}
results = []


def check(name, why_not):
    """why_not: None or "" when the property holds, else what is wrong."""
    results.append((name, why_not))
    print(("FAIL %s: %s" % (name, why_not)) if why_not else ("PASS %s" % name))


def load_dir(d):
    docs = []
    paths = glob.glob(os.path.join(d, "*.yaml")) + glob.glob(os.path.join(d, "*", "*.yaml"))
    for path in sorted(paths):
        base = os.path.relpath(path, d)
        try:
            with open(path) as f:
                found = [x for x in yaml.safe_load_all(f) if x is not None]
        except yaml.YAMLError as e:
            check("%s parses as YAML" % base, str(e).replace("\n", " "))
            continue
        check("%s parses as YAML" % base,
              None if found else "no document in the file")
        docs += [(base, i + 1, doc) for i, doc in enumerate(found)]
    return docs


def label(base, i, doc):
    kind = doc.get("kind", "?") if isinstance(doc, dict) else "?"
    name = ((doc.get("metadata") or {}).get("name", "?")) if isinstance(doc, dict) else "?"
    return "%s#%d %s/%s" % (base, i, kind, name)


def check_identity(docs):
    for base, i, doc in docs:
        where = label(base, i, doc)
        if not isinstance(doc, dict):
            check("%s is a mapping" % where, "document is a %s" % type(doc).__name__)
            continue
        missing = [k for k in ("apiVersion", "kind") if not doc.get(k)]
        what = "apiVersion, kind"
        # A kustomization is a build file, not an object: it has no name.
        if doc.get("kind") not in ("Kustomization", "Component"):
            what += ", metadata.name"
            if not (doc.get("metadata") or {}).get("name"):
                missing.append("metadata.name")
            if doc.get("kind") != "Namespace":
                what += ", namespace %s" % NS
                ns = (doc.get("metadata") or {}).get("namespace")
                if ns != NS:
                    missing.append("metadata.namespace (is %r)" % ns)
        check("%s has %s" % (where, what),
              "missing " + ", ".join(missing) if missing else None)


def one(docs, kind):
    found = [d for _, _, d in docs if isinstance(d, dict) and d.get("kind") == kind]
    check("exactly one %s" % kind, None if len(found) == 1 else "found %d" % len(found))
    return found[0] if len(found) == 1 else None


def args_of(c):
    return [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]


def opt(args, name):
    """Value of --name=V or --name V, or None."""
    for k, a in enumerate(args):
        if a.startswith(name + "="):
            return a[len(name) + 1:]
        if a == name and k + 1 < len(args):
            return args[k + 1]
    return None


def port_number(c, port):
    """A probe's port (a number or a container port's name) as a number."""
    if isinstance(port, int):
        return port
    for p in c.get("ports") or []:
        if p.get("name") == port:
            return p.get("containerPort")
    return None


def check_daemonset(ds, configmaps, serviceaccounts):
    spec = (ds.get("spec") or {}).get("template", {}).get("spec") or {}
    pod_labels = (ds["spec"].get("template", {}).get("metadata") or {}).get("labels") or {}
    sel = (ds["spec"].get("selector") or {}).get("matchLabels") or {}
    check("DaemonSet selector matches its pod labels",
          None if sel and all(pod_labels.get(k) == v for k, v in sel.items())
          else "selector %r, pod labels %r" % (sel, pod_labels))
    check("DaemonSet hostNetwork: true",
          None if spec.get("hostNetwork") is True else "hostNetwork is %r" % spec.get("hostNetwork"))
    check("DaemonSet dnsPolicy ClusterFirstWithHostNet",
          None if spec.get("dnsPolicy") == "ClusterFirstWithHostNet"
          else "dnsPolicy is %r (with hostNetwork the default gives the node's resolver)"
          % spec.get("dnsPolicy"))
    check("DaemonSet priorityClassName system-node-critical",
          None if spec.get("priorityClassName") == "system-node-critical"
          else "priorityClassName is %r" % spec.get("priorityClassName"))
    tol = spec.get("tolerations") or []
    check("DaemonSet tolerates every taint",
          None if any(t.get("operator") == "Exists" and not t.get("key") and not t.get("effect")
                      for t in tol) else "no toleration {operator: Exists} without key/effect")
    check("DaemonSet terminationGracePeriodSeconds set",
          None if isinstance(spec.get("terminationGracePeriodSeconds"), int)
          else "missing")
    sa = spec.get("serviceAccountName")
    check("DaemonSet serviceAccountName names a ServiceAccount of deploy/",
          None if sa in serviceaccounts else "%r not in %r" % (sa, sorted(serviceaccounts)))

    volumes = {v.get("name"): v for v in spec.get("volumes") or []}
    bpf_vols = {n for n, v in volumes.items()
                if (v.get("hostPath") or {}).get("path", "").rstrip("/") == "/sys/fs/bpf"}
    check("a hostPath volume of /sys/fs/bpf", None if bpf_vols else "no such volume")

    # The init container: mounts bpffs, and is the only privileged container.
    inits = spec.get("initContainers") or []
    mounters = [c for c in inits if re.search(r"mount\s+-t\s+bpf\b", " ".join(args_of(c)))]
    check("an init container runs `mount -t bpf`",
          None if mounters else "no init container whose command mounts bpffs")
    for c in mounters:
        vm = [m for m in c.get("volumeMounts") or []
              if m.get("name") in bpf_vols and m.get("mountPath", "").rstrip("/") == "/sys/fs/bpf"]
        check("init container %s mounts /sys/fs/bpf with Bidirectional propagation" % c.get("name"),
              None if vm and vm[0].get("mountPropagation") == "Bidirectional"
              else "volumeMount %r" % (vm[0] if vm else None))

    containers = spec.get("containers") or []
    agents = [c for c in containers if "agent" in args_of(c)]
    check("a container runs `canary-bpf agent`",
          None if len(agents) == 1 else "%d containers have `agent` in their arguments" % len(agents))
    for c in containers + inits:
        privileged = (c.get("securityContext") or {}).get("privileged") is True
        if c in mounters:
            continue
        check("container %s is not privileged" % c.get("name"),
              "securityContext.privileged: true" if privileged else None)
    for c in containers + inits:
        r = c.get("resources") or {}
        missing = ["%s.%s" % (k, res) for k in ("requests", "limits")
                   for res in ("cpu", "memory") if not (r.get(k) or {}).get(res)]
        check("container %s has cpu and memory requests and limits" % c.get("name"),
              "missing resources." + ", resources.".join(missing) if missing else None)
    if len(agents) != 1:
        return
    agent = agents[0]
    args = args_of(agent)
    sc = agent.get("securityContext") or {}
    caps = sc.get("capabilities") or {}
    drop = [str(x).upper() for x in caps.get("drop") or []]
    add = {str(x).upper().replace("CAP_", "") for x in caps.get("add") or []}
    check("agent drops ALL capabilities",
          None if drop == ["ALL"] else "capabilities.drop is %r" % (caps.get("drop"),))
    check("agent adds exactly BPF, NET_ADMIN, PERFMON",
          None if add == CAPS else "capabilities.add is %r (missing %s, extra %s)"
          % (caps.get("add"), sorted(CAPS - add) or "none", sorted(add - CAPS) or "none"))
    check("agent allowPrivilegeEscalation: false",
          None if sc.get("allowPrivilegeEscalation") is False
          else "allowPrivilegeEscalation is %r" % sc.get("allowPrivilegeEscalation"))
    check("agent readOnlyRootFilesystem: true",
          None if sc.get("readOnlyRootFilesystem") is True
          else "readOnlyRootFilesystem is %r" % sc.get("readOnlyRootFilesystem"))
    uid = sc.get("runAsUser", (spec.get("securityContext") or {}).get("runAsUser"))
    check("agent runAsUser 0 (the pins are 0600 root)",
          None if uid == 0 else "runAsUser is %r" % uid)
    seccomp = sc.get("seccompProfile") or (spec.get("securityContext") or {}).get("seccompProfile") or {}
    check("agent seccompProfile RuntimeDefault",
          None if seccomp.get("type") == "RuntimeDefault" else "seccompProfile is %r" % seccomp)

    mounts = agent.get("volumeMounts") or []
    bpf_m = [m for m in mounts if m.get("name") in bpf_vols]
    check("agent mounts /sys/fs/bpf (hostPath) at /sys/fs/bpf with HostToContainer",
          None if bpf_m and bpf_m[0].get("mountPath", "").rstrip("/") == "/sys/fs/bpf"
          and bpf_m[0].get("mountPropagation") == "HostToContainer"
          else "volumeMount %r" % (bpf_m[0] if bpf_m else None))
    pin = opt(args, "--pin-path") or opt(args, "-p") or "/sys/fs/bpf/canary-bpf"
    check("agent's pin path lies in bpffs",
          None if pin.startswith("/sys/fs/bpf/") else "pin path %r" % pin)

    cm_vols = {n: v["configMap"] for n, v in volumes.items() if "configMap" in v}
    cm_m = [m for m in mounts if m.get("name") in cm_vols]
    check("agent mounts a ConfigMap volume",
          None if cm_m else "no volumeMount of a configMap volume")
    config = opt(args, "--config")
    check("agent has --config", None if config else "no --config argument")
    for m in cm_m:
        check("ConfigMap volume %s is mounted as a directory (no subPath)" % m["name"],
              "subPath %r: the kubelet never updates a subPath mount, so the agent would not "
              "see a new config" % m["subPath"] if m.get("subPath") or m.get("subPathExpr")
              else None)
        cm = cm_vols[m["name"]]
        check("ConfigMap volume %s names a ConfigMap of deploy/" % m["name"],
              None if cm.get("name") in configmaps
              else "%r not in %r" % (cm.get("name"), sorted(configmaps)))
        if config:
            d = m.get("mountPath", "").rstrip("/") + "/"
            inside = config.startswith(d) and "/" not in config[len(d):]
            check("--config lies directly in the ConfigMap mount %s" % d,
                  None if inside else "--config=%s" % config)
            if not inside:
                continue
            key = config[len(d):]
            items = cm.get("items")
            keys = [it.get("path") for it in items] if items else \
                list((configmaps.get(cm.get("name")) or {}).get("data") or {})
            check("the ConfigMap provides the file %s" % key,
                  None if key in keys else "files in the mount: %r" % keys)

    ports = {p.get("name"): p for p in agent.get("ports") or []}
    metrics = ports.get("metrics") or {}
    check("agent has container port `metrics` 9435/TCP",
          None if metrics.get("containerPort") == 9435 and metrics.get("protocol", "TCP") == "TCP"
          else "ports %r" % list(ports.values()))
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        hg = (agent.get(probe) or {}).get("httpGet") or {}
        check("agent %s GET %s on the metrics port" % (probe, path),
              None if hg.get("path") == path and port_number(agent, hg.get("port")) == 9435
              else "%s is %r" % (probe, agent.get(probe)))
    addr = opt(args, "--metrics-addr")
    check("agent --metrics-addr=$(POD_IP):9435",
          None if addr in ("$(POD_IP):9435", "[$(POD_IP)]:9435")
          else "--metrics-addr is %r (the default listens on loopback only)" % addr)
    env = {e.get("name"): e for e in agent.get("env") or []}
    ref = ((env.get("POD_IP") or {}).get("valueFrom") or {}).get("fieldRef") or {}
    check("agent env POD_IP from status.podIP",
          None if ref.get("fieldPath") == "status.podIP" else "POD_IP is %r" % env.get("POD_IP"))


def check_configmap(cm):
    text = (cm.get("data") or {}).get("config.yaml")
    check("ConfigMap has data config.yaml", None if text else "no data key config.yaml")
    if not text:
        return
    try:
        cfg = yaml.safe_load(text)
    except yaml.YAMLError as e:
        check("config.yaml parses as YAML", str(e).replace("\n", " "))
        return
    check("config.yaml parses as YAML", None)
    svcs = cfg.get("services") if isinstance(cfg, dict) else None
    check("config.yaml has services",
          None if isinstance(svcs, list) and svcs else "services is %r" % (svcs,))
    for s in svcs or []:
        missing = [k for k in ("name", "vip", "port", "stable") if k not in (s or {})]
        check("config.yaml service %s has name, vip, port, stable" % (s or {}).get("name"),
              "missing " + ", ".join(missing) if missing else None)
    ifs = cfg.get("interfaces") if isinstance(cfg, dict) else None
    check("config.yaml has interfaces",
          None if isinstance(ifs, list) and ifs else "interfaces is %r" % (ifs,))


def check_podmonitor(pm, ds):
    spec = pm.get("spec") or {}
    pod = ds["spec"]["template"]
    labels = (pod.get("metadata") or {}).get("labels") or {}
    sel = (spec.get("selector") or {}).get("matchLabels") or {}
    check("PodMonitor selects the DaemonSet's pods",
          None if sel and all(labels.get(k) == v for k, v in sel.items())
          else "selector %r, pod labels %r" % (sel, labels))
    names = {p.get("name") for c in pod["spec"].get("containers") or []
             for p in c.get("ports") or []}
    eps = spec.get("podMetricsEndpoints") or []
    check("PodMonitor scrapes the named port `metrics` of the pods",
          None if eps and all(e.get("port") == "metrics" and "metrics" in names for e in eps)
          else "endpoints %r, pod port names %r" % (eps, sorted(n for n in names if n)))
    check("PodMonitor interval 15s",
          None if eps and all(e.get("interval") == "15s" for e in eps)
          else "intervals %r" % [e.get("interval") for e in eps])
    return labels.get(spec.get("jobLabel")) if spec.get("jobLabel") else \
        "%s/%s" % (pm["metadata"].get("namespace"), pm["metadata"]["name"])


def check_rules(pr, job):
    rules = [r for g in (pr.get("spec") or {}).get("groups") or [] for r in g.get("rules") or []]
    alerts = [r for r in rules if "alert" in r]
    check("PrometheusRule has alerts", None if alerts else "no alert rule")
    for r in alerts:
        ann = r.get("annotations") or {}
        missing = [k for k in ("summary", "description") if not ann.get(k)]
        if not (r.get("labels") or {}).get("severity"):
            missing.append("labels.severity")
        check("alert %s has severity, summary, description" % r["alert"],
              "missing " + ", ".join(missing) if missing else None)
        expr = str(r.get("expr", ""))
        if re.search(r"\bby\s*\([^)]*\bservice\b", expr):
            bad = [k for k in ("summary", "description") if "$labels.service" not in ann.get(k, "")]
            check("alert %s names {{ $labels.service }}" % r["alert"],
                  "not in " + ", ".join(bad) if bad else None)
        for j in re.findall(r'\bup\{[^}]*job="([^"]*)"', expr) if job else []:
            check("alert %s: up{job=%r} is the PodMonitor's job" % (r["alert"], j),
                  None if j == job else "the PodMonitor's targets get job=%r" % job)


def check_kustomization(k, d):
    res = k.get("resources") or []
    missing = [r for r in res if not os.path.exists(os.path.join(d, r))]
    check("kustomization.yaml resources exist", "missing " + ", ".join(missing) if missing else None)
    want = {"namespace.yaml", "serviceaccount.yaml", "configmap.yaml", "daemonset.yaml"}
    check("kustomization.yaml lists namespace, serviceaccount, configmap, daemonset",
          None if want <= set(res) else "missing " + ", ".join(sorted(want - set(res))))


def main_dir(d):
    docs = load_dir(d)
    check_identity(docs)
    configmaps = {x["metadata"]["name"]: x for _, _, x in docs
                  if isinstance(x, dict) and x.get("kind") == "ConfigMap"}
    sas = {x["metadata"]["name"] for _, _, x in docs
           if isinstance(x, dict) and x.get("kind") == "ServiceAccount"}
    one(docs, "Namespace")
    ds = one(docs, "DaemonSet")
    if ds:
        check_daemonset(ds, configmaps, sas)
    cm = one(docs, "ConfigMap")
    if cm:
        check_configmap(cm)
    pm = one(docs, "PodMonitor")
    job = check_podmonitor(pm, ds) if pm and ds else None
    pr = one(docs, "PrometheusRule")
    if pr:
        check_rules(pr, job)
    k = [x for b, _, x in docs if b == "kustomization.yaml"]
    k = k[0] if k and isinstance(k[0], dict) and k[0].get("kind") == "Kustomization" else None
    check("kustomization.yaml is a Kustomization", None if k else "missing or another kind")
    if k:
        check_kustomization(k, d)


def main_rendered(path, full):
    with open(path) as f:
        docs = [x for x in yaml.safe_load_all(f) if x is not None]
    kinds = sorted(x.get("kind") for x in docs)
    want = {"Namespace", "ServiceAccount", "ConfigMap", "DaemonSet"}
    if full:
        want |= {"PodMonitor", "PrometheusRule"}
    tag = "full" if full else "default"
    check("kustomize (%s) renders %s" % (tag, ", ".join(sorted(want))),
          None if want <= set(kinds) else "rendered kinds %r" % kinds)
    wrong = [label("render", i + 1, x) for i, x in enumerate(docs) if x.get("kind") != "Namespace"
             and (x.get("metadata") or {}).get("namespace") != NS]
    check("kustomize (%s) puts everything in namespace %s" % (tag, NS),
          "outside: " + ", ".join(wrong) if wrong else None)
    if full:
        ds = [x for x in docs if x.get("kind") == "DaemonSet"]
        c = ds[0]["spec"]["template"]["spec"]["containers"][0] if ds else {}
        d = opt(args_of(c), "--textfile-dir")
        mounted = any(m.get("mountPath") == d for m in c.get("volumeMounts") or [])
        check("kustomize (full) with the textfile component mounts --textfile-dir",
              None if d and mounted else "--textfile-dir %r, mounts %r" % (d, c.get("volumeMounts")))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--rendered":
        main_rendered(sys.argv[2], "--full" in sys.argv[3:])
    elif len(sys.argv) == 2:
        main_dir(sys.argv[1])
    else:
        sys.exit(__doc__)
    sys.exit(1 if any(w for _, w in results) else 0)
