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
	1,
	cmd_undrain_exec,
};

static int
cmd_undrain_exec(struct ev_loop *loop, struct opts *o, int argc, char **argv)
{
	struct ctx	c;
	char		err[1024];
	int		i, rc;

	if (ctx_init(&c, loop, o, err, sizeof err) == -1) {
		log_err("%s", err);
		ctx_free(&c);
		return EXIT_USAGE;
	}
	for (i = 0; i < argc; i++)
		ctx_add(&c, argv[i], 0, RUN_UNDRAIN);
	signals_start(&c);
	rc = ctx_run(&c);
	signals_stop(&c);
	ctx_free(&c);
	return rc;
}
