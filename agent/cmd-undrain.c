/*
 * cmd-undrain.c -- --undrain DEPLOYMENT...: give every worker of the
 * deployment its queues back (those a journal recorded, else --queues).
 * For an incident: the reverse of --drain-only.
 */
#include <ev.h>
#include <stdio.h>

#include "cmd.h"
#include "run.h"

static int	cmd_undrain_exec(struct ev_loop *, struct opts *, int, char **);

const struct cmd_entry cmd_undrain_entry = {
	"--undrain",
	"--undrain [--queues Q1,Q2] DEPLOYMENT...",
	{ 1, -1 },
	CMD_O_QUEUES,
	0,
	cmd_undrain_exec,
};

static int
cmd_undrain_exec(struct ev_loop *loop, struct opts *o, int argc, char **argv)
{
	struct ctx	c;
	int		i;

	if (cmd_ctx(&c, loop, o) == -1)
		return EXIT_USAGE;
	for (i = 0; i < argc; i++)
		ctx_add(&c, argv[i], 0, RUN_UNDRAIN);
	return cmd_run(&c);
}
