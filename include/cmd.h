/*
 * cmd.h -- the commands, table-driven as tmux's cmd-*.c: one file per
 * command, each described by a struct cmd_entry that carries its own
 * argument rules. main.c parses the common options into struct opts, finds
 * the command in cmd_table, checks the command line against the entry's
 * rules (cmd_check) and runs it.
 *
 *   drain (default)  cmd-drain.c    drain and roll out DEPLOYMENT... or -l
 *   --status         cmd-status.c   what is in flight, each worker's state,
 *                                   the held deployments; with --watch,
 *                                   follow the runs in flight (watch.h)
 *   --recover        cmd-recover.c  finish or undo runs that died
 *   --undrain        cmd-undrain.c  give a deployment's workers their queues
 *   --hold           cmd-hold.c     hold a deployment: drains leave it alone
 *   --release        cmd-hold.c     release the hold
 *   --complete-deployments  cmd-complete.c  the Deployments' names, for
 *                                   the shell's completion
 *
 * How a command waits: it does not. Its exec() checks what needs no I/O
 * and returns an exit code (nothing started), or sets up its context
 * (cmd_ctx()), starts its first request with a callback and returns
 * CMD_STARTED. From there the command is a chain of callbacks, as with
 * hiredis' or libcurl's: each continues the command (its next request, or
 * what it prints) and the last calls cmd_done() with the exit code. main.c
 * runs the program's one loop (its only ev_run()) until then: every event
 * (a signal, a reply, a timer) is delivered by that loop between two steps
 * of the command, never inside one. Once the loop has ended main.c frees
 * the context, then calls the entry's free.
 */
#ifndef CMD_H
#define CMD_H

#include <stddef.h>

#include "kube.h"

struct opts;
struct ev_loop;

/* Options that apply to some commands only (cmd_entry.options). */
#define CMD_O_SELECTOR		0x01	/* -l SELECTOR names the deployments */
#define CMD_O_QUEUES		0x02	/* --queues */
#define CMD_O_REASON		0x04	/* --reason */
#define CMD_O_UNTIL		0x08	/* --until */
#define CMD_O_IGNORE_HOLD	0x10	/* --ignore-hold */
#define CMD_O_WATCH		0x20	/* -w/--watch (--status) */

/* cmd_entry.flags */
#define CMD_DEFAULT		0x1	/* the command without a command option;
					   without names: the whole usage */

struct cmd_entry {
	const char	*name;		/* its option, "drain" for the default */
	const char	*usage;
	struct {
		int	 lower;		/* deployments named, at least */
		int	 upper;		/* at most; -1: any number */
	} args;
	unsigned	 options;	/* the CMD_O_* options it takes */
	int		 flags;
	/* an exit code, or CMD_STARTED: cmd_done() will say it */
	int		(*exec)(struct ev_loop *, struct opts *, int argc,
			    char **argv);
	/* frees what the command keeps until the loop has ended: the events
	 * already pending when cmd_done() breaks it are still delivered;
	 * NULL: nothing */
	void		(*free)(void);
};

#define CMD_STARTED	(-1)

extern const struct cmd_entry cmd_drain_entry;
extern const struct cmd_entry cmd_status_entry;
extern const struct cmd_entry cmd_recover_entry;
extern const struct cmd_entry cmd_undrain_entry;
extern const struct cmd_entry cmd_hold_entry;
extern const struct cmd_entry cmd_release_entry;
extern const struct cmd_entry cmd_complete_entry;

/* Every command, NULL-terminated; the first is the default. */
extern const struct cmd_entry *const cmd_table[];
/* The command named "--status" or "status"; NULL if none. */
const struct cmd_entry *cmd_find(const char *name);

/* The command line as cmd_check() sees it. */
struct cmd_args {
	int		  argc;		/* deployments named */
	char		**argv;
	const char	 *selector;	/* -l, or DRAIN_SELECTOR; NULL: none */
	unsigned	  given;	/* the CMD_O_* options given as flags */
};

enum cmd_verdict {
	CMD_OK,
	CMD_ERROR,		/* err says why */
	CMD_ERROR_USAGE,	/* err says why; show the command's usage */
	CMD_USAGE,		/* show the whole usage */
};

/*
 * Pure: check the command line against the entry's rules, and settle the
 * selector (deployments named on the command line win over DRAIN_SELECTOR;
 * commands without -l drop it). All errors exit with EXIT_USAGE.
 */
enum cmd_verdict cmd_check(const struct cmd_entry *, struct cmd_args *,
	    char *err, size_t errlen);
/*
 * Pure: the names as targets in their canonical form (kube_target_parse():
 * "NAME" for deployment/NAME, deploy/NAME, deployments/NAME and NAME;
 * "statefulset/NAME" for statefulset/NAME, statefulsets/NAME and sts/NAME),
 * appended to out (the caller frees it); -1 and err on the first name that
 * is not one (EXIT_USAGE).
 */
int	cmd_targets(const struct cmd_args *, struct strv *out, char *err,
	    size_t errlen);

/*
 * Pure: the command line that gives the workers of target (canonical, in
 * namespace ns of kubeconfig context, NULL in-cluster) the queues back
 * (--undrain with --queues, so that it works without a journal), each
 * word quoted for a POSIX shell if it needs it. The context is named:
 * the operator's current-context may be another cluster. The caller
 * frees it.
 */
char	*undrain_command(const char *target, const char *context,
	    const char *ns, const struct strv *queues);

/* Exit codes shared by every command (see drain-and-rollout(1)); the
 * outcomes' own are fsm_exit_code()'s. */
#define EXIT_OK		0
#define EXIT_INTERNAL	1
#define EXIT_USAGE	2

/*
 * What the commands share (main.c). cmd_ctx() sets up the context c (the
 * command's, kept until the loop has ended; main.c frees it) and calls
 * then(c, argc, argv) once a credential plugin that has the terminal
 * logged in (at once without one); returns CMD_STARTED, or EXIT_USAGE if it cannot be
 * set up (logged). cmd_runs() runs the deployments added (ctx_add()) to
 * their end with SIGINT/SIGTERM/SIGHUP/SIGQUIT handled, and calls then(c,
 * their exit code); outside the runs a signal has its default action
 * (nothing was changed), unless the command handles it (--watch). cmd_done() ends the command with its exit code
 * (the first given wins): the loop ends.
 */
struct ctx;
typedef void	cmd_step(struct ctx *, int argc, char **argv);
typedef void	cmd_end(struct ctx *, int rc);
int	cmd_ctx(struct ctx *, struct ev_loop *, struct opts *, int argc,
	    char **argv, cmd_step *then);
void	cmd_runs(struct ctx *, cmd_end *then);
cmd_end	cmd_done;

#endif
