/* cmd.c -- the command table and its argument rules; see include/cmd.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

const struct cmd_entry *const cmd_table[] = {
	&cmd_drain_entry,
	&cmd_status_entry,
	&cmd_recover_entry,
	&cmd_undrain_entry,
	&cmd_hold_entry,
	&cmd_release_entry,
	&cmd_complete_entry,
	NULL,
};

static const struct {
	unsigned	 bit;
	const char	*flag;
} cmd_options[] = {
	{ CMD_O_SELECTOR, "-l/--selector" },
	{ CMD_O_QUEUES, "--queues" },
	{ CMD_O_REASON, "--reason" },
	{ CMD_O_UNTIL, "--until" },
	{ CMD_O_IGNORE_HOLD, "--ignore-hold" },
	{ CMD_O_WATCH, "-w/--watch" },
};

const struct cmd_entry *
cmd_find(const char *name)
{
	const struct cmd_entry *const	*e;

	for (e = cmd_table; *e != NULL; e++)
		if (strcmp((*e)->name, name) == 0 ||
		    (strncmp((*e)->name, "--", 2) == 0 &&
		    strcmp((*e)->name + 2, name) == 0))
			return *e;
	return NULL;
}

enum cmd_verdict
cmd_check(const struct cmd_entry *cmd, struct cmd_args *a, char *err,
    size_t errlen)
{
	size_t	i;

	/* deployments named on the command line win over DRAIN_SELECTOR */
	if (a->argc > 0 && !(a->given & CMD_O_SELECTOR))
		a->selector = NULL;
	if (a->selector != NULL && *a->selector == '\0') {
		snprintf(err, errlen, "an empty selector would select every "
		    "deployment of the namespace; give -l KEY=VALUE");
		return CMD_ERROR;
	}
	for (i = 0; i < sizeof cmd_options / sizeof cmd_options[0]; i++)
		if ((a->given & cmd_options[i].bit) &&
		    !(cmd->options & cmd_options[i].bit)) {
			snprintf(err, errlen, "%s does not apply to %s",
			    cmd_options[i].flag, cmd->name);
			return CMD_ERROR_USAGE;
		}
	if (!(cmd->options & CMD_O_SELECTOR))
		a->selector = NULL;
	if (a->argc < cmd->args.lower && a->selector == NULL) {
		if (cmd->flags & CMD_DEFAULT)
			return CMD_USAGE;
		snprintf(err, errlen, "%s: name at least %s", cmd->name,
		    cmd->args.lower == 1 ? "one deployment" : "the deployments");
		return CMD_ERROR_USAGE;
	}
	if (cmd->args.upper >= 0 && a->argc > cmd->args.upper) {
		snprintf(err, errlen, "%s: name at most %d deployment%s",
		    cmd->name, cmd->args.upper, cmd->args.upper == 1 ? "" : "s");
		return CMD_ERROR_USAGE;
	}
	if (a->selector != NULL && a->argc > 0) {
		snprintf(err, errlen, "give deployments or -l SELECTOR, not both");
		return CMD_ERROR;
	}
	return CMD_OK;
}

int
cmd_targets(const struct cmd_args *a, struct strv *out, char *err,
    size_t errlen)
{
	char	*t;
	int	 i;

	for (i = 0; i < a->argc; i++) {
		if ((t = kube_target_parse(a->argv[i], err, errlen)) == NULL)
			return -1;
		strv_add(out, t);
		free(t);
	}
	return 0;
}
