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
};

static int
cmd_complete_exec(struct ev_loop *loop, struct opts *o, int argc,
    char **argv)
{
	struct ctx	 c;
	struct cmd_kube	 k = { 0 };
	json_t		*d, *names;
	const char	*name;
	size_t		 i;
	int		 rc = EXIT_OK;

	(void)argc;
	(void)argv;
	if (cmd_ctx(&c, loop, o) == -1)
		return EXIT_USAGE;
	kube_list(&c.kube, "deployments", NULL, ev_now(loop) +
	    o->request_timeout, cmd_kube_cb, &k);
	if (cmd_kube_wait(&c, &k) == -1) {
		log_debug("%s", k.err);
		rc = fsm_exit_code(OUT_PREFLIGHT);
	} else {
		names = json_array();
		json_array_foreach(json_object_get(k.obj, "items"), i, d) {
			name = json_string_value(json_object_get(
			    json_object_get(d, "metadata"), "name"));
			if (name != NULL && o->json)
				json_array_append_new(names, json_string(name));
			else if (name != NULL)
				printf("%s\n", name);
		}
		report_json_set("names", names);
	}
	json_decref(k.obj);
	ctx_free(&c);
	return rc;
}
