#!/usr/bin/env python3
"""Checks of the PrometheusRule and the Grafana dashboard of deploy/.

    check_monitoring.py rules DEPLOY_DIR OUT OUT2  write the rule groups to OUT (for promtool),
                                                   and to OUT2 without annotations
    check_monitoring.py dashboard DEPLOY_DIR OUT   check the dashboard; write every panel
                                                   query as a recording rule to OUT (for promtool)
    check_monitoring.py names DEPLOY_DIR           every metric, label and label value used by
                                                   the alerts and the dashboard is one the agent
                                                   exports

One PASS/FAIL line per property; exit status 1 if any failed. The metric list
below is the agent's exposition (user/agent/metrics.c): a name or label that
is not there matches no series, so a typo would leave a panel empty or an
alert silent forever instead of failing.
"""
import json
import os
import re
import sys

import yaml

TRACK = {"service", "track"}
# metric -> its labels; histograms are expanded to _bucket/_sum/_count below.
METRICS = {
    "canary_bpf_packets_total": TRACK,
    "canary_bpf_bytes_total": TRACK,
    "canary_bpf_connections_total": TRACK,
    "canary_bpf_drops_total": TRACK,
    "canary_bpf_connect_failures_total": TRACK,
    "canary_bpf_tcp_resets_total": TRACK | {"from"},
    "canary_bpf_http_responses_total": TRACK | {"class"},
    "canary_bpf_canary_weight_ratio": {"service"},
    "canary_bpf_rollout_step": {"service"},
    "canary_bpf_rollout_steps": {"service"},
    "canary_bpf_rollout_phase": {"service", "phase"},
    "canary_bpf_rollbacks_total": {"service"},
    "canary_bpf_promotions_total": {"service"},
    "canary_bpf_backend_up": TRACK | {"backend"},
    "canary_bpf_build_info": {"version"},
    "canary_bpf_agent_ready": set(),
    "canary_bpf_config_reloads_total": {"result"},
    "canary_bpf_last_update_timestamp_seconds": set(),
    "canary_bpf_datapath_events_total": {"event"},
    "up": set(),
    "node_textfile_scrape_error": set(),
}
for h in ("canary_bpf_connect_duration_seconds", "canary_bpf_time_to_first_byte_seconds"):
    METRICS[h + "_bucket"] = TRACK | {"le"}
    METRICS[h + "_sum"] = TRACK
    METRICS[h + "_count"] = TRACK
VALUES = {
    "track": {"stable", "canary"},
    "class": {"2xx", "3xx", "4xx", "5xx"},
    "from": {"backend", "client"},
    "phase": {"idle", "progressing", "paused", "promoted", "rolled_back"},
    "result": {"success", "failure"},
    "event": {"malformed", "fragment", "unknown", "not_service", "ct_reselect", "redirect",
              "stack", "no_backend", "rev_nat"},
}
# Labels Prometheus adds to every scraped series (the PodMonitor adds node).
TARGET = {"job", "instance", "node", "namespace", "pod", "container", "endpoint"}
ALL_LABELS = set().union(*METRICS.values()) | TARGET | {"le"}

GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
KEYWORDS = GROUPING | {"and", "or", "unless", "offset", "bool", "inf", "nan", "atan2",
                      "start", "end"}
# Grafana's built-in variables, replaced by typical values before promtool sees them.
BUILTIN = {"__rate_interval": "1m", "__interval": "30s", "__range": "1h", "__range_s": "3600",
           "__range_ms": "3600000", "__interval_ms": "30000"}
TOKEN = re.compile(r"""
    (?P<space>\s+|\#[^\n]*)
  | (?P<str>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
  | (?P<dur>(?:\d+(?:ms|[smhdwy]))+(?![\w.]))
  | (?P<num>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>=~|!~|!=|==|>=|<=|[-+*/%^=<>(){}\[\],@])
""", re.X)
results = []


def check(name, why_not):
    results.append((name, why_not))
    print(("FAIL %s: %s" % (name, why_not)) if why_not else ("PASS %s" % name))


def lex(expr):
    toks, i = [], 0
    while i < len(expr):
        m = TOKEN.match(expr, i)
        if not m:
            raise ValueError("cannot read %r" % expr[i:i + 20])
        if m.lastgroup != "space":
            text = m.group()
            if m.lastgroup == "str":
                text = text[1:-1]
            toks.append((m.lastgroup, text))
        i = m.end()
    return toks


def analyse(expr):
    """Metric names, selectors [(metric, [(label, op, value)])] and grouping labels of expr."""
    toks = lex(expr)
    metrics, selectors, grouping = [], [], []
    i = 0
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else (None, None)
        if kind == "ident" and text in GROUPING and nxt == ("op", "("):
            j = i + 2
            while j < len(toks) and toks[j] != ("op", ")"):
                if toks[j][0] == "ident":
                    grouping.append(toks[j][1])
                j += 1
            i = j + 1
            continue
        if kind == "op" and text == "[":
            while i < len(toks) and toks[i] != ("op", "]"):
                i += 1
        elif kind == "op" and text == "{":
            metric = None
            if i > 0 and toks[i - 1][0] == "ident" and toks[i - 1][1].lower() not in KEYWORDS:
                metric = toks[i - 1][1]
            j, matchers = i + 1, []
            while j + 2 < len(toks) and toks[j] != ("op", "}"):
                if toks[j][0] == "ident" and toks[j + 1][0] == "op" and toks[j + 2][0] == "str":
                    matchers.append((toks[j][1], toks[j + 1][1], toks[j + 2][1]))
                    j += 3
                else:
                    j += 1
            if metric is None:
                metrics += [v for l, op, v in matchers if l == "__name__" and op == "="]
            selectors.append((metric, matchers))
            i = j
        elif kind == "ident" and text.lower() not in KEYWORDS:
            # A function or aggregation is followed by "(" (or "by/without (").
            if nxt != ("op", "(") and nxt not in (("ident", "by"), ("ident", "without")):
                metrics.append(text)
        i += 1
    return metrics, selectors, grouping


def name_problems(expr):
    """What in expr is not in the agent's exposition (empty list: nothing)."""
    try:
        metrics, selectors, grouping = analyse(expr)
    except ValueError as e:
        return [str(e)]
    bad = ["unknown metric %s" % m for m in metrics if m not in METRICS]
    for metric, matchers in selectors:
        known = METRICS.get(metric)
        for label, op, value in matchers:
            if label == "__name__":
                continue
            if known is not None and label not in known | TARGET:
                bad.append("%s has no label %s" % (metric, label))
            elif label not in ALL_LABELS:
                bad.append("unknown label %s" % label)
            elif label in VALUES and op in ("=", "!="):
                if value not in VALUES[label]:
                    bad.append('%s="%s" is not one of %s' % (label, value, sorted(VALUES[label])))
            elif label in VALUES and re.fullmatch(r"[\w|]+", value):
                bad += ['%s=~"%s": %s is not one of %s' % (label, value, v, sorted(VALUES[label]))
                        for v in value.split("|") if v not in VALUES[label]]
    bad += ["unknown label %s in by/on/without/ignoring" % l for l in grouping if l not in ALL_LABELS]
    return bad


def load_rules(d):
    with open(os.path.join(d, "prometheusrule.yaml")) as f:
        docs = [x for x in yaml.safe_load_all(f) if x]
    prs = [x for x in docs if x.get("kind") == "PrometheusRule"]
    if len(prs) != 1:
        raise ValueError("prometheusrule.yaml holds %d PrometheusRules" % len(prs))
    return prs[0]["spec"]["groups"]


def cmd_rules(d, out, logic_out):
    try:
        groups = load_rules(d)
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as e:
        check("PrometheusRule spec.groups extracted", str(e).replace("\n", " "))
        return
    with open(out, "w") as f:
        yaml.safe_dump({"groups": groups}, f, sort_keys=False)
    # The same without annotations, for the unit tests (alerts_test.yaml).
    for g in groups:
        for r in g.get("rules") or []:
            r.pop("annotations", None)
    with open(logic_out, "w") as f:
        yaml.safe_dump({"groups": groups}, f, sort_keys=False)
    check("PrometheusRule spec.groups extracted", None)


def load_dashboard(d):
    with open(os.path.join(d, "grafana-dashboard.json")) as f:
        return json.load(f)


def panels_of(dash):
    for p in dash.get("panels") or []:
        yield p
        yield from p.get("panels") or []     # panels inside collapsed rows


def substitute(expr, variables):
    """expr with $var, ${var}, ${var:fmt} and [[var]] replaced; raises on an unknown one."""
    def rep(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in BUILTIN:
            return BUILTIN[name]
        if name in variables:
            return variables[name]
        raise ValueError("undefined variable $%s" % name)
    return re.sub(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]", rep, expr)


def variables_of(dash):
    return {v["name"]: "checkout" for v in (dash.get("templating") or {}).get("list") or []}


def dashboard_queries(dash):
    """[(panel title, panel id, refId, expr with variables substituted or an error)]"""
    variables = variables_of(dash)
    out = []
    for p in panels_of(dash):
        for t in p.get("targets") or []:
            expr = t.get("expr") or ""
            try:
                expr = substitute(expr, variables)
            except ValueError as e:
                expr = e
            out.append((p.get("title", "?"), p.get("id"), t.get("refId", "?"), expr))
    return out


def cmd_dashboard(d, out):
    try:
        dash = load_dashboard(d)
    except (OSError, ValueError) as e:
        check("grafana-dashboard.json parses as JSON", str(e))
        return
    check("grafana-dashboard.json parses as JSON", None)
    check("dashboard schemaVersion >= 36",
          None if isinstance(dash.get("schemaVersion"), int) and dash["schemaVersion"] >= 36
          else "schemaVersion is %r" % dash.get("schemaVersion"))
    tv = {v.get("name"): v for v in (dash.get("templating") or {}).get("list") or []}
    ds = tv.get("DS_PROMETHEUS") or {}
    check("dashboard has the datasource variable DS_PROMETHEUS (prometheus)",
          None if ds.get("type") == "datasource" and ds.get("query") == "prometheus"
          else "DS_PROMETHEUS is %r" % (ds or None))
    svc = tv.get("service") or {}
    q = svc.get("query")
    q = q.get("query") if isinstance(q, dict) else q
    check("dashboard variable service = label_values(canary_bpf_connections_total, service)",
          None if re.sub(r"\s", "", q or "") == "label_values(canary_bpf_connections_total,service)"
          else "service variable query is %r" % q)
    ids = [p.get("id") for p in panels_of(dash)]
    check("dashboard panel ids are unique",
          None if len(ids) == len(set(ids)) else "ids %r" % ids)

    rules, n = [], 0
    for p in panels_of(dash):
        if p.get("type") == "row":
            continue
        pid, title, targets, bad = p.get("id"), p.get("title", "?"), p.get("targets") or [], []
        if not targets:
            bad.append("no queries")
        wrong_ds = [x.get("datasource") for x in [p] + targets
                    if (x.get("datasource") or {}).get("uid") != "${DS_PROMETHEUS}"]
        if wrong_ds:
            bad.append("datasource not ${DS_PROMETHEUS}: %r" % wrong_ds)
        for t in targets:
            ref = t.get("refId", "?")
            try:
                expr = substitute(t.get("expr") or "", variables_of(dash))
                metrics = analyse(expr)[0]
            except ValueError as e:
                bad.append("%s: %s" % (ref, e))
                continue
            if not expr.strip():
                bad.append("%s: empty expr" % ref)
                continue
            unknown = [m for m in metrics if m not in METRICS]
            if unknown or not metrics:
                bad.append("%s queries %s" % (ref, ", ".join(unknown) or "no agent metric"))
            n += 1
            slug = re.sub(r"[^a-zA-Z0-9]+", "_", title).strip("_").lower()
            rules.append({"record": "dashboard:%s_%s:%s" % (slug, pid, ref), "expr": expr})
        check("dashboard panel %r queries agent metrics on ${DS_PROMETHEUS}" % title,
              "; ".join(bad) if bad else None)
    with open(out, "w") as f:
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f, sort_keys=False)
    check("dashboard queries written as %d recording rules" % n, None if n else "no query found")


def cmd_names(d):
    try:
        groups = load_rules(d)
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as e:
        check("alert rules readable", str(e).replace("\n", " "))
        groups = []
    for g in groups:
        for r in g.get("rules") or []:
            what = "alert %s" % r.get("alert") if "alert" in r else "record %s" % r.get("record")
            bad = name_problems(str(r.get("expr", "")))
            check("%s uses only exported metrics, labels and values" % what,
                  "; ".join(bad) if bad else None)
    try:
        dash = load_dashboard(d)
    except (OSError, ValueError) as e:
        check("dashboard readable", str(e))
        return
    by_panel = {}
    for title, pid, ref, expr in dashboard_queries(dash):
        bad = by_panel.setdefault((pid, title), [])
        if not isinstance(expr, Exception):     # else reported by the dashboard check
            bad += ["%s: %s" % (ref, b) for b in name_problems(expr)]
    for (pid, title), bad in by_panel.items():
        check("dashboard panel %r uses only exported metrics, labels and values" % title,
              "; ".join(bad) if bad else None)
    for v in (dash.get("templating") or {}).get("list") or []:
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.fullmatch(r"\s*label_values\(\s*(\w+)\s*,\s*(\w+)\s*\)\s*", str(q or ""))
        if v.get("type") == "query":
            check("dashboard variable %s uses an exported metric and label" % v.get("name"),
                  None if m and m.group(1) in METRICS and m.group(2) in METRICS[m.group(1)]
                  else "query %r" % q)


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) == 4 and args[0] == "rules":
        cmd_rules(args[1], args[2], args[3])
    elif len(args) == 3 and args[0] == "dashboard":
        cmd_dashboard(args[1], args[2])
    elif len(args) == 2 and args[0] == "names":
        cmd_names(args[1])
    else:
        sys.exit(__doc__)
    sys.exit(1 if any(w for _, w in results) else 0)
