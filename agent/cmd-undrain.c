/*
 * cmd-undrain.c -- --undrain DEPLOYMENT...: give every worker of the
 * deployment its queues back (those a journal recorded, else --queues).
 * For an incident: the reverse of --drain-only.
 */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	NULL,
};

static struct ctx	ctx;

static void
start(struct ctx *c, int argc, char **argv)
{
	int	i;

	for (i = 0; i < argc; i++)
		ctx_add(c, argv[i], 0, RUN_UNDRAIN);
	cmd_runs(c, cmd_done);
}

static int
cmd_undrain_exec(struct ev_loop *loop, struct opts *o, int argc, char **argv)
{
	return cmd_ctx(&ctx, loop, o, argc, argv, start);
}

/* A word a POSIX shell reads back as is: quoted unless plainly safe. */
static char *
shell_word(const char *word)
{
	const char	*p;
	char		*q, *o;

	if (word[0] != '\0' && strspn(word, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == strlen(word))
		return xstrdup(word);
	o = q = xcalloc(1, 4 * strlen(word) + 3);
	*q++ = '\'';
	for (p = word; *p != '\0'; p++)
		if (*p == '\'') {
			memcpy(q, "'\\''", 4);
			q += 4;
		} else
			*q++ = *p;
	*q = '\'';
	return o;
}

char *
undrain_command(const char *target, const char *context, const char *ns,
    const struct strv *queues)
{
	char	*t = shell_word(target), *n = shell_word(ns), *j, *q, *s;
	char	*x = context != NULL ? shell_word(context) : NULL;

	j = strv_join(queues, ",");
	q = shell_word(j);
	s = xasprintf("drain-and-rollout %s%s%s--namespace %s --undrain %s "
	    "--queues %s", x != NULL ? "--context " : "", x != NULL ? x : "",
	    x != NULL ? " " : "", n, t, q);
	free(t);
	free(n);
	free(x);
	free(j);
	free(q);
	return s;
}
