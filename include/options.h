/*
 * options.h -- every option of drain-and-rollout, described once.
 *
 * Each row of opt_table says an option's long and short name, its DRAIN_*
 * variable, its kind, the field its value goes to, its default and its
 * help line. getopt_long's table, the environment, the configuration file
 * (--config, systemd EnvironmentFile format), the defaults and --help are
 * all derived from it. A value is taken, in this order of precedence, from
 * the flag, the environment, the configuration file, the default; a value
 * from any of them goes through the same setter (opt_set()), so a bad one
 * is refused with the same message, naming where it came from. The
 * configuration file sets options, never the process environment; an
 * empty value in the environment or the file means: not set.
 *
 * Exceptions: KUBECONFIG and DRAIN_SERVICEACCOUNT_DIR in the configuration
 * file are exported (the kubeconfig loader reads them from the
 * environment, as kubectl does; neither is a secret) unless already set.
 */
#ifndef OPTIONS_H
#define OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "run.h"

enum opt_kind {
	OPT_BOOL,	/* a flag; a variable: 1, true, yes or 0, false, no */
	OPT_STRING,
	OPT_DURATION,	/* duration_parse(): a unit is required; >= 1s */
	OPT_COUNT,	/* 1 to 1000 */
	OPT_CHOICE,	/* one of choices ("abort|force"), stored as its index */
	OPT_STEPS,	/* kombu's priority_steps (keys_parse_steps()) */
	OPT_COMMAND,	/* --status...: names the command */
	OPT_EXPORT,	/* a variable only, exported from the file (above) */
	OPT_WINDOW,	/* window_parse(): [DAYS ]HH:MM-HH:MM; "": none */
	OPT_ACTION,	/* --help, --version, --completion SHELL (one of
			   choices): print and exit */
};

enum opt_src { OPT_SRC_DEFAULT, OPT_SRC_FILE, OPT_SRC_ENV, OPT_SRC_FLAG };

struct opt_def {
	const char	*name;		/* long name without "--"; NULL: variable only */
	int		 short_name;	/* 0: none */
	const char	*var;		/* DRAIN_* variable; NULL: flag only */
	enum opt_kind	 kind;
	size_t		 off;		/* in struct optvals */
	const char	*dflt;		/* the default, as a value; NULL: none */
	const char	*choices;	/* OPT_CHOICE */
	unsigned	 cmd_opt;	/* CMD_O_* bit of a command's own option */
	const char	*arg;		/* its argument in --help; NULL: none */
	const char	*help;		/* NULL: not in the options of --help */
	int		 section;	/* OPT_SEC_* */
};

enum { OPT_SEC_CONNECT, OPT_SEC_DRAIN, OPT_SEC_HOLD, OPT_SEC_OUTPUT,
	OPT_SEC_NONE };

#define OPT_MAX	64

/* What the options say: struct opts, and the rest. */
struct optvals {
	struct opts	 o;
	const char	*config;	/* --config, DRAIN_CONFIG */
	const char	*flower_pwfile;
	const char	*redis_pwfile;
	const char	*notify_file;
	int		 quiet, verbose;
	const char	*command;	/* "--status"..., NULL: the default */
	int		 action;	/* 'h' --help, 'V' --version, 'c'
					   --completion, 0 */
	const char	*action_arg;	/* --completion's shell */
	unsigned char	 src[OPT_MAX];	/* enum opt_src, by table row */
	char		*file_vals[OPT_MAX]; /* the file's values (owned) */
};

extern const struct opt_def	opt_table[];
extern const size_t		opt_count;

/* The row of a long name ("drain-timeout"), of a variable; NULL: none. */
const struct opt_def	*opt_by_name(const char *);
const struct opt_def	*opt_by_var(const char *);
/*
 * The known long name (vars 0, "--drain-timeout") or variable (vars 1,
 * "DRAIN_DRAIN_TIMEOUT") closest to word by edit distance (a swap of two
 * letters is one edit), if it is close enough to be a typo: at most 1 edit
 * for a word of up to 4 letters, 2 up to 10, 3 beyond. NULL: none.
 * word may carry its "--"; KUBECONFIG is a known variable.
 */
const char		*opt_closest(const char *word, int vars);

/* The defaults (opt_table's dflt and the fixed ones); v is cleared. */
void	opt_defaults(struct optvals *v);
/*
 * Set the option of row d from value, found at src; what names it for
 * the error ("--drain-timeout", "DRAIN_DRAIN_TIMEOUT", "FILE:3:
 * DRAIN_DRAIN_TIMEOUT"). value must live as long as v (strings are
 * borrowed). Returns 0, or -1 and err. Pure.
 */
int	opt_set(struct optvals *v, const struct opt_def *d, const char *value,
	    enum opt_src src, const char *what, char *err, size_t errlen);
/*
 * One line of a configuration file: 0 and *key, *value (pointers into
 * line, which is modified) for KEY=VALUE (spaces around both, the value
 * optionally in matching quotes); 1 for a blank line or a comment (#, ;);
 * -1 and err otherwise. Pure.
 */
int	opt_config_line(char *line, char **key, char **value, char *err,
	    size_t errlen);
/*
 * Apply a configuration file's text (its lines: opt_config_line(); text is
 * modified) as the file's values; path names it in errors. An unknown key
 * is an error suggesting the closest known one. The values are copied
 * (v->file_vals, also the OPT_EXPORT ones, for the caller to export); a
 * later line wins over an earlier one. 0, or -1 and err. Pure.
 */
int	opt_config_text(struct optvals *v, const char *path, char *text,
	    char *err, size_t errlen);
/*
 * Whether the command line asks for -o json: the last -o X, -oX, --output
 * X or --output=X before "--" says (X "json": 1, anything else 0); dflt if
 * none does. For a command line opt_argv() refused part of (the option
 * refused may come before -o json). Pure.
 */
int	opt_argv_json(int argc, char **argv, int dflt);
/* The environment's DRAIN_* values over the file's; environ is borrowed. Pure. */
int	opt_environ(struct optvals *v, char *const *environ, char *err,
	    size_t errlen);
/*
 * The command line over the rest (getopt_long, built from opt_table);
 * *optind_out: the first operand. An unknown option is an error with the
 * closest one suggested; so are -v with -q and a short option's value
 * glued with '=' (-n=foo). 0, or -1 and err.
 */
int	opt_argv(struct optvals *v, int argc, char **argv, int *optind_out,
	    char *err, size_t errlen);
/* The CMD_O_* bits of the command options given as flags. */
unsigned opt_cmd_given(const struct optvals *v);
/* Where the option named name (long name) came from. */
enum opt_src opt_src_of(const struct optvals *v, const char *name);
/* Free the file's values (zeroed first: they may hold passwords). */
void	opt_free(struct optvals *v);
/* --help, from opt_table and cmd_table. */
void	opt_usage(FILE *);
/*
 * --completion SHELL: a bash or zsh script completing the options (from
 * opt_table; a choice's values too) and, where a deployment is named,
 * the Deployments that --complete-deployments lists with the kubeconfig,
 * context, namespace and request timeout of the words typed so far.
 * Completes the kubectl/oc plugin (kubectl-drain_and_rollout) as well.
 */
void	opt_completion(FILE *, const char *shell);

#endif
