/*
 * cmd-recover.c -- --recover [DEPLOYMENT...]: every run that died (journal
 * present, lease expired) is finished or undone; see recover.c. Without
 * names, every journal in the namespace.
 */
#include <ev.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "journal.h"
#include "run.h"

static int	cmd_recover_exec(struct ev_loop *, struct opts *, int, char **);

const struct cmd_entry cmd_recover_entry = {
	"--recover",
	"--recover [DEPLOYMENT...]",
	{ 0, -1 },
	0,
	0,
	cmd_recover_exec,
	NULL,
};

static struct ctx	ctx;
static struct strv	deps;		/* the journals found, without names */

static void
journals_listed(const char *err, void *arg)
{
	struct ctx	*c = arg;
	size_t		 i;

	if (err != NULL) {
		log_err("cannot list the journals: %s", err);
		strv_free(&deps);
		cmd_done(c, fsm_exit_code(OUT_PREFLIGHT));
		return;
	}
	for (i = 0; i < deps.n; i++)
		ctx_add(c, deps.v[i], 0, RUN_RECOVER);
	strv_free(&deps);
	if (c->nruns == 0)
		log_info("no interrupted run in namespace %s", c->kube.ns);
	cmd_runs(c, cmd_done);
}

static void
start(struct ctx *c, int argc, char **argv)
{
	int	i;

	for (i = 0; i < argc; i++)
		ctx_add(c, argv[i], 0, RUN_RECOVER);
	if (argc == 0)
		ctx_journals(c, &deps, journals_listed, c);
	else
		cmd_runs(c, cmd_done);
}

static int
cmd_recover_exec(struct ev_loop *loop, struct opts *o, int argc, char **argv)
{
	return cmd_ctx(&ctx, loop, o, argc, argv, start);
}
