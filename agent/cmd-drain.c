/* cmd-drain.c -- drain DEPLOYMENT... (or -l SELECTOR) and roll them out. */
#include <ev.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "run.h"

static int	cmd_drain_exec(struct ev_loop *, struct opts *, int, char **);

const struct cmd_entry cmd_drain_entry = {
	"drain",
	"[options] DEPLOYMENT... | -l SELECTOR",
	{ 1, -1 },
	CMD_O_SELECTOR | CMD_O_IGNORE_HOLD,
	CMD_DEFAULT,
	cmd_drain_exec,
	NULL,
};

static struct ctx	ctx;

/* The deployments -l selects: a run for each, then the runs. */
static void
selected(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct ctx	*c = arg;
	json_t		*d;
	size_t		 i;
	const char	*name;

	if (e != KUBE_OK) {
		log_err("%s", err);
		cmd_done(c, fsm_exit_code(OUT_PREFLIGHT));
		return;
	}
	json_array_foreach(json_object_get(obj, "items"), i, d) {
		name = json_string_value(json_object_get(json_object_get(d,
		    "metadata"), "name"));
		if (name != NULL)
			ctx_add(c, name, 1, RUN_DRAIN);
	}
	if (c->nruns == 0) {
		log_err("no deployment in namespace %s matches %s",
		    c->kube.ns, c->o->selector);
		cmd_done(c, fsm_exit_code(OUT_PREFLIGHT));
		return;
	}
	cmd_runs(c, cmd_done);
}

static void
start(struct ctx *c, int argc, char **argv)
{
	int	i;

	for (i = 0; i < argc; i++)
		ctx_add(c, argv[i], 0, RUN_DRAIN);
	if (c->o->selector != NULL)
		kube_list(&c->kube, "deployments", c->o->selector,
		    ev_now(c->loop) + 60, selected, c);
	else
		cmd_runs(c, cmd_done);
}

static int
cmd_drain_exec(struct ev_loop *loop, struct opts *o, int argc, char **argv)
{
	return cmd_ctx(&ctx, loop, o, argc, argv, start);
}
