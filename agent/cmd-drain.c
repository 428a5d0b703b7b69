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

struct sel {
	struct ctx	*c;
	int		 done;
	int		 rc;
	char		*err;
};

static void
listed(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct sel	*s = arg;
	json_t		*items = json_object_get(obj, "items"), *d;
	size_t		 i;
	const char	*name;

	s->done = 1;
	if (e != KUBE_OK) {
		s->rc = -1;
		s->err = xstrdup(err);
		return;
	}
	json_array_foreach(items, i, d) {
		name = json_string_value(json_object_get(json_object_get(d,
		    "metadata"), "name"));
		if (name != NULL)
			ctx_add(s->c, name, 1, RUN_DRAIN);
	}
}

int
ctx_select(struct ctx *c, const char *selector, char *err, size_t errlen)
{
	struct sel	s = { c, 0, 0, NULL };

	kube_list_deployments(&c->kube, selector, ev_now(c->loop) + 60, listed,
	    &s);
	while (!s.done)
		ev_run(c->loop, EVRUN_ONCE);
	if (s.rc == -1) {
		snprintf(err, errlen, "%s", s.err);
		free(s.err);
		return -1;
	}
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
	    ctx_select(&c, o->selector, err, sizeof err) == -1) {
		log_err("%s", err);
		ctx_free(&c);
		return fsm_exit_code(OUT_PREFLIGHT);
	}
	return cmd_run(&c);
}
