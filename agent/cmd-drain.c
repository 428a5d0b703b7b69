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
};

/* Add a run for each deployment -l selects; returns -1 with err. */
static int
select_deployments(struct ctx *c, const char *selector, char *err,
    size_t errlen)
{
	struct cmd_kube	 k = { 0 };
	json_t		*d;
	size_t		 i;
	const char	*name;

	kube_list(&c->kube, "deployments", selector, ev_now(c->loop) + 60,
	    cmd_kube_cb, &k);
	if (cmd_kube_wait(c, &k) == -1) {
		snprintf(err, errlen, "%s", k.err);
		return -1;
	}
	json_array_foreach(json_object_get(k.obj, "items"), i, d) {
		name = json_string_value(json_object_get(json_object_get(d,
		    "metadata"), "name"));
		if (name != NULL)
			ctx_add(c, name, 1, RUN_DRAIN);
	}
	json_decref(k.obj);
	if (c->nruns == 0) {
		snprintf(err, errlen, "no deployment in namespace %s matches %s",
		    c->kube.ns, selector);
		return -1;
	}
	return 0;
}

static int
cmd_drain_exec(struct ev_loop *loop, struct opts *o, int argc, char **argv)
{
	struct ctx	c;
	char		err[1024];
	int		i;

	if (cmd_ctx(&c, loop, o) == -1)
		return EXIT_USAGE;
	for (i = 0; i < argc; i++)
		ctx_add(&c, argv[i], 0, RUN_DRAIN);
	if (o->selector != NULL &&
	    select_deployments(&c, o->selector, err, sizeof err) == -1) {
		log_err("%s", err);
		ctx_free(&c);
		return fsm_exit_code(OUT_PREFLIGHT);
	}
	return cmd_run(&c);
}
