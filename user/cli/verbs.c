// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The verbs of canary-bpf, each with its file (cmd_VERB.c); help pages are in help.c. */
#include "agent.h"
#include "cli.h"

/* The agent takes the pin path and nothing else of the CLI's globals. */
static int agent_verb(const struct cli *c, int argc, char **argv)
{
	return cmd_agent(argc, argv, c->pin);
}

const struct cli_verb cli_verbs[] = {
	{ "attach", cmd_attach },
	{ "detach", cmd_detach },
	{ "service", cmd_service },
	{ "backend", cmd_backend },
	{ "weight", cmd_weight },
	{ "override", cmd_override },
	{ "stats", cmd_stats },
	{ "top", cmd_top },
	{ "rollout", cmd_rollout },
	{ "agent", agent_verb },
	{ NULL, NULL },
};
