// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Manual-page style help, one page per verb. */
#include <string.h>

#include "agent.h"
#include "cli.h"

static const char overview[] =
"NAME\n"
"    canary-bpf - kernel-level traffic splitter for canary deployments\n"
"\n"
"SYNOPSIS\n"
"    canary-bpf [-j|--json] [-p|--pin-path DIR] [--ct-entries N] COMMAND [ARGS]\n"
"    canary-bpf -h|--help [COMMAND]    canary-bpf -V|--version\n"
"\n"
"COMMANDS\n"
"    attach IFNAME [--mode xdp|xdp-generic|tc]   forward path on ingress, reverse NAT on egress\n"
"    detach IFNAME\n"
"    service add NAME --vip IP --port N [--proto tcp|udp] [--affinity connection|client]\n"
"    service del NAME [--force]\n"
"    service list\n"
"    backend add|del NAME stable|canary IP[:PORT] [--force]\n"
"    weight set NAME PERCENT [--force]\n"
"    weight get NAME\n"
"    override add NAME CIDR stable|canary [--force]\n"
"    override del NAME CIDR [--force]\n"
"    stats [NAME]\n"
"    top [NAME] [--count N]\n"
"    rollout status [-w] [NAME]\n"
"    rollout pause|resume|abort|promote NAME\n"
"    agent --config FILE [--metrics-addr ADDR:PORT|off] [--textfile-dir DIR]\n"
"          [--textfile-interval DURATION] [--log-format text|json] [--log-level LEVEL]\n"
"\n"
"GLOBAL OPTIONS\n"
"    -j, --json       machine-readable output (JSON)\n"
"    -p, --pin-path   where the state is pinned (default /sys/fs/bpf/canary-bpf,\n"
"                     or $CANARY_BPF_PIN_PATH)\n"
"    --ct-entries N   conntrack size of the state this command creates: N established\n"
"                     flows and N/2 half-open ones (default: 0.25 %% of memory, at least\n"
"                     262144); fixed from then on\n"
"\n"
"EXIT STATUS\n"
"    0 success, 1 runtime failure, 2 invalid usage or input. Errors are one line on\n"
"    stderr, 'canary-bpf: WHAT: WHY', and change nothing.\n"
"\n"
"    'canary-bpf COMMAND --help' shows the page of one command.\n";

/*
 * A page: its text before OPTIONS, the option tables of its commands (the
 * same tables they parse with), and its text from EXIT STATUS on.
 */
static const struct {
	const char *verb;
	const char *head;
	const struct cb_opt *opts[3];
	const char *tail;
} pages[] = {
	{ "attach",
"NAME\n"
"    canary-bpf attach - run the splitter on an interface\n"
"\n"
"SYNOPSIS\n"
"    canary-bpf attach IFNAME [--mode xdp|xdp-generic|tc]\n"
"\n"
"DESCRIPTION\n"
"    Loads the datapath once (maps and programs are pinned under the pin path) and\n"
"    attaches it to IFNAME: on ingress, new connections to a service are split and\n"
"    DNATed; on egress (tc), replies are reverse-NATed to VIP:port. Attaching more\n"
"    interfaces shares the same maps. Attaching again in the same mode does nothing.\n"
"    Forwarding continues after the command exits.\n"
"\n",
	  { cli_attach_opts, NULL },
"EXIT STATUS\n"
"    0 attached (or already), 1 the kernel refused (the message suggests a mode),\n"
"    2 no such interface, attached in another mode, or a bad option.\n"
"\n"
"EXAMPLE\n"
"    canary-bpf attach eth0 --mode xdp\n" },
	{ "detach",
"NAME\n"
"    canary-bpf detach - stop the splitter on an interface\n"
"\n"
"SYNOPSIS\n"
"    canary-bpf detach IFNAME\n"
"\n"
"DESCRIPTION\n"
"    Removes the ingress program and the egress filter from IFNAME only. The maps stay:\n"
"    services, weights and connection tracking survive the last detach.\n"
"\n",
	  { NULL },
"EXIT STATUS\n"
"    0 detached, 1 the kernel refused, 2 IFNAME was not attached.\n"
"\n"
"EXAMPLE\n"
"    canary-bpf detach eth0\n" },
	{ "service",
"NAME\n"
"    canary-bpf service - define, remove and list services\n"
"\n"
"SYNOPSIS\n"
"    canary-bpf service add NAME --vip IP --port N [--proto tcp|udp]\n"
"                               [--affinity connection|client]\n"
"    canary-bpf service del NAME [--force]\n"
"    canary-bpf service list\n"
"\n"
"DESCRIPTION\n"
"    A service is a virtual IP (IPv4 or IPv6), a port and a protocol that clients dial.\n"
"    NAME: 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit.\n"
"    A new service has no backends and a canary weight of 0 %.\n"
"    A service a running agent manages (from its file) is refused (exit 2) unless\n"
"    --force is given: the agent logs the change and leaves the service alone until\n"
"    its file changes. Use `canary-bpf rollout ...` to steer the agent's rollout.\n"
"\n",
	  { cli_service_add_opts, cli_force_opts, NULL },
"EXIT STATUS\n"
"    0 done, 1 runtime failure, 2 bad input, duplicate name or VIP, unknown service.\n"
"\n"
"EXAMPLE\n"
"    canary-bpf service add checkout --vip 10.96.0.10 --port 80 --proto tcp\n" },
	{ "backend",
"NAME\n"
"    canary-bpf backend - add or remove a backend of a track\n"
"\n"
"SYNOPSIS\n"
"    canary-bpf backend add NAME stable|canary IP[:PORT] [--force]\n"
"    canary-bpf backend del NAME stable|canary IP[:PORT] [--force]\n"
"\n"
"DESCRIPTION\n"
"    PORT defaults to the service port; write IPv6 with a port as [ADDR]:PORT. The\n"
"    track's Maglev table is rebuilt and swapped in one update: established\n"
"    connections keep their backend, and removing a backend moves only its own\n"
"    connections. To promote a canary backend, add it to stable before removing it\n"
"    from canary: it keeps its identity, and its connections stay.\n"
"    A service a running agent manages (from its file) is refused (exit 2) unless\n"
"    --force is given: the agent logs the change and leaves the service alone until\n"
"    its file changes. Use `canary-bpf rollout ...` to steer the agent's rollout.\n"
"\n",
	  { cli_force_opts, NULL },
"EXIT STATUS\n"
"    0 done, 1 runtime failure, 2 bad input, unknown service, duplicate or absent backend.\n"
"\n"
"EXAMPLE\n"
"    canary-bpf backend add checkout canary 10.0.2.1:8080\n" },
	{ "weight",
"NAME\n"
"    canary-bpf weight - the canary's share of new connections\n"
"\n"
"SYNOPSIS\n"
"    canary-bpf weight set NAME PERCENT [--force]\n"
"    canary-bpf weight get NAME\n"
"\n"
"DESCRIPTION\n"
"    PERCENT is 0..100 with at most two decimals (steps of 0.01 %). Only new\n"
"    connections follow the weight; established ones stay where they are.\n"
"    A service a running agent manages (from its file) is refused (exit 2) unless\n"
"    --force is given: the agent logs the change and leaves the service alone until\n"
"    its file changes. Use `canary-bpf rollout ...` to steer the agent's rollout.\n"
"\n",
	  { cli_force_opts, NULL },
"EXIT STATUS\n"
"    0 done, 1 runtime failure, 2 bad percent or unknown service.\n"
"\n"
"EXAMPLE\n"
"    canary-bpf weight set checkout 5\n"
"    canary-bpf -j weight get checkout\n" },
	{ "override",
"NAME\n"
"    canary-bpf override - pin a client network to a track\n"
"\n"
"SYNOPSIS\n"
"    canary-bpf override add NAME CIDR stable|canary [--force]\n"
"    canary-bpf override del NAME CIDR [--force]\n"
"\n"
"DESCRIPTION\n"
"    New connections from CIDR go to the given track whatever the weight (beta users,\n"
"    an office network). The longest matching prefix wins. CIDR must have no host bits.\n"
"    A service a running agent manages (from its file) is refused (exit 2) unless\n"
"    --force is given: the agent logs the change and leaves the service alone until\n"
"    its file changes. Use `canary-bpf rollout ...` to steer the agent's rollout.\n"
"\n",
	  { cli_force_opts, NULL },
"EXIT STATUS\n"
"    0 done, 1 runtime failure, 2 bad CIDR or track, unknown service or override.\n"
"\n"
"EXAMPLE\n"
"    canary-bpf override add checkout 10.1.0.0/16 canary\n" },
	{ "stats",
"NAME\n"
"    canary-bpf stats - counters per service and track\n"
"\n"
"SYNOPSIS\n"
"    canary-bpf [-j] stats [NAME]\n"
"\n"
"DESCRIPTION\n"
"    Connections (new flows), packets and bytes (both directions), TCP resets sent by\n"
"    backends and by clients, and drops, per track, with rates per second measured over\n"
"    half a second. With -j: a JSON array of services, each with name, vip, port, proto,\n"
"    affinity, weight_percent and tracks.stable/canary counters and backends.\n"
"\n",
	  { NULL },
"EXIT STATUS\n"
"    0 done, 1 runtime failure, 2 unknown service.\n" },
	{ "top",
"NAME\n"
"    canary-bpf top - live per-track view\n"
"\n"
"SYNOPSIS\n"
"    canary-bpf top [NAME] [--count N]\n"
"\n"
"DESCRIPTION\n"
"    Refreshes every second: the weight bar and, per track, totals with rates. On a\n"
"    terminal it redraws the screen and quits on q or Ctrl-C; otherwise it prints plain\n"
"    blocks, one per second, until interrupted or N refreshes.\n"
"\n",
	  { cli_top_opts, NULL },
"EXIT STATUS\n"
"    0 done, 1 runtime failure, 2 unknown service.\n" },
	{ "rollout",
"NAME\n"
"    canary-bpf rollout - follow and steer the agent's rollouts\n"
"\n"
"SYNOPSIS\n"
"    canary-bpf rollout status [-w|--watch] [NAME]\n"
"    canary-bpf rollout pause|resume|abort|promote NAME\n"
"\n"
"DESCRIPTION\n"
"    status reads the rollout state the agent keeps in the pinned maps: phase (idle,\n"
"    progressing, paused, promoted, rolled_back), step, canary weight and the reason of the\n"
"    last decision. -w redraws progress bars (steps, time in step, split) and the live\n"
"    per-track signals every half second until the rollout ends. With -j: name, phase,\n"
"    step, steps, weight_percent, reason, failures, step_elapsed_seconds,\n"
"    step_duration_seconds, rollbacks, promotions and decision_seconds once decided.\n"
"\n"
"    pause stops a progressing rollout at its weight; resume continues it (after a pause\n"
"    step: the next step; after a rollback: from the first step again); abort rolls back\n"
"    (canary weight 0 at once); promote makes the canary the stable set now. The request\n"
"    goes to the running agent, which answers within a tick (100 ms).\n"
"\n",
	  { cli_rollout_status_opts, NULL },
"EXIT STATUS\n"
"    0 done (status -w: the rollout was promoted), 1 runtime failure, no agent answer\n"
"    within 5 s, or status -w saw a rollback, 2 unknown service or a command the rollout's\n"
"    phase does not allow.\n" },
	{ "agent",
"NAME\n"
"    canary-bpf agent - run rollouts from a YAML file (the node daemon)\n"
"\n"
"SYNOPSIS\n"
"    canary-bpf agent --config FILE [--metrics-addr ADDR:PORT|off]\n"
"                     [--textfile-dir DIR] [--textfile-interval DURATION]\n"
"                     [--log-format text|json] [--log-level debug|info|warn|error]\n"
"\n"
"DESCRIPTION\n"
"    Attaches the interfaces and creates the services of FILE, health-checks every\n"
"    backend, and runs each service's rollout: a canary set it has not rolled out yet\n"
"    starts at the first step; every analysis interval the canary is compared with stable\n"
"    over the step's window (reset, failed-connect and HTTP 5xx ratios; connect and TTFB\n"
"    p99) with absolute limits and a test at alpha 0.01; failure_limit failing checks in a\n"
"    row roll back (weight 0 at once) or pause; after the last step the canary is promoted.\n"
"    An invalid FILE is refused with FILE:LINE:COL; the file is read again on SIGHUP and\n"
"    when it or its directory's ..data symlink changes; an invalid new file is logged and\n"
"    ignored. Rollout state lives in the pinned maps: killed and started again, the agent\n"
"    resumes the same step. SIGTERM exits and leaves forwarding as it is. One line per\n"
"    event on stderr (JSON objects with --log-format json).\n"
"\n"
"METRICS\n"
"    Prometheus text on http://ADDR:PORT/metrics (default 127.0.0.1:9435; off: none),\n"
"    with /healthz (200 while the event loop runs) and /readyz (200 once every service\n"
"    is applied, else 503 and why). --textfile-dir writes the same text to\n"
"    DIR/canary_bpf.prom for node_exporter's textfile collector, atomically, every\n"
"    --textfile-interval (default 10s). Series are per service and track; only\n"
"    canary_bpf_backend_up is per backend.\n"
"\n",
	  { agent_opts, NULL },
"EXIT STATUS\n"
"    0 stopped by SIGTERM/SIGINT, 1 runtime failure (the metrics port is taken, ...),\n"
"    2 invalid options or FILE.\n" },
};

int cli_help(FILE *f, const char *verb)
{
	if (!verb) {
		fputs(overview, f);
		return 0;
	}
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		if (strcmp(pages[i].verb, verb))
			continue;
		fputs(pages[i].head, f);
		if (pages[i].opts[0])
			fputs("OPTIONS\n", f);
		for (size_t k = 0; pages[i].opts[k]; k++)
			cb_opts_help(f, pages[i].opts[k]);
		if (pages[i].opts[0])
			fputs("\n", f);
		fputs(pages[i].tail, f);
		return 0;
	}
	return -1;
}
