/*
 * cmd-complete.c -- --complete-deployments: the names of the Deployments of
 * the namespace, one a line, for the shell's completion (opt_completion()).
 * Bounded by --request-timeout; nothing on standard output on error
 * (exit status 3).
 */
#include <ev.h>
#include <jansson.h>
#include <stdio.h>

#include "cmd.h"
#include "report.h"
#include "run.h"

static int	cmd_complete_exec(struct ev_loop *, struct opts *, int, char **);

const struct cmd_entry cmd_complete_entry = {
	"--complete-deployments",
	"--complete-deployments [options]",
	{ 0, 0 },
	0,
	0,
	cmd_complete_exec,
	NULL,
};

static struct ctx	ctx;

static void
listed(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct ctx	*c = arg;
	json_t		*d, *names;
	const char	*name;
	size_t		 i;

	if (e != KUBE_OK) {
		log_debug("%s", err);
		cmd_done(c, fsm_exit_code(OUT_PREFLIGHT));
		return;
	}
	names = json_array();
	json_array_foreach(json_object_get(obj, "items"), i, d) {
		name = json_string_value(json_object_get(json_object_get(d,
		    "metadata"), "name"));
		if (name != NULL && c->o->json)
			json_array_append_new(names, json_string(name));
		else if (name != NULL)
			printf("%s\n", name);
	}
	report_json_set("names", names);
	cmd_done(c, EXIT_OK);
}

static void
list(struct ctx *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	kube_list(&c->kube, "deployments", NULL, ev_now(c->loop) +
	    c->o->request_timeout, listed, c);
}

static int
cmd_complete_exec(struct ev_loop *loop, struct opts *o, int argc,
    char **argv)
{
	return cmd_ctx(&ctx, loop, o, argc, argv, list);
}
