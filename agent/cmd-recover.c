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
};

static int
cmd_recover_exec(struct ev_loop *loop, struct opts *o, int argc, char **argv)
{
	struct ctx	 c;
	char		 err[1024];
	struct strv	 deps = { 0 };
	size_t		 i;

	if (cmd_ctx(&c, loop, o) == -1)
		return EXIT_USAGE;
	for (i = 0; i < (size_t)argc; i++)
		ctx_add(&c, argv[i], 0, RUN_RECOVER);
	if (argc == 0) {
		if (ctx_journals(&c, &deps, err, sizeof err) == -1) {
			log_err("cannot list the journals: %s", err);
			ctx_free(&c);
			return fsm_exit_code(OUT_PREFLIGHT);
		}
		for (i = 0; i < deps.n; i++)
			ctx_add(&c, deps.v[i], 0, RUN_RECOVER);
		strv_free(&deps);
		if (c.nruns == 0)
			log_info("no interrupted run in namespace %s", c.kube.ns);
	}
	return cmd_run(&c);
}
