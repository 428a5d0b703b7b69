/*
 * cmd.h -- the commands, table-driven as tmux's cmd-*.c: one file per
 * command, each described by a struct cmd_entry. main.c parses the common
 * options into struct opts and runs the chosen entry.
 *
 *   drain (default)  cmd-drain.c    drain and roll out DEPLOYMENT... or -l
 *   --status         cmd-status.c   what is in flight, each worker's state
 *   --recover        cmd-recover.c  finish or undo runs that died
 *   --undrain        cmd-undrain.c  give a deployment's workers their queues
 */
#ifndef CMD_H
#define CMD_H

struct opts;
struct ev_loop;

struct cmd_entry {
	const char	*name;
	const char	*usage;
	int		 min_args;	/* deployments required */
	int		(*exec)(struct ev_loop *, struct opts *, int argc,
			    char **argv);
};

extern const struct cmd_entry cmd_drain_entry;
extern const struct cmd_entry cmd_status_entry;
extern const struct cmd_entry cmd_recover_entry;
extern const struct cmd_entry cmd_undrain_entry;

/* Exit codes shared by every command (see drain-and-rollout(1)). */
#define EXIT_OK		0
#define EXIT_INTERNAL	1
#define EXIT_USAGE	2

/*
 * What the commands share (main.c): set up a context (logging why not and
 * returning -1), and run its deployments to their end with SIGINT/SIGTERM
 * handled, freeing the context; returns the exit code.
 */
struct ctx;
int	cmd_ctx(struct ctx *, struct ev_loop *, struct opts *);
int	cmd_run(struct ctx *);

#endif
