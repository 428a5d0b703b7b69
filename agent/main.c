/*
 * main.c -- drain-and-rollout: options, configuration, signals, and the
 * command table (cmd.h).
 */
#include <curl/curl.h>
#include <ctype.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cmd.h"
#include "execcred.h"
#include "http.h"
#include "keys.h"
#include "options.h"
#include "report.h"
#include "run.h"
#include "sentinel.h"

extern char **environ;

static char *
read_secret(const char *path, const char *what)
{
	char	 err[512], *s;

	if ((s = read_secret_file(path, 64 * 1024, err, sizeof err)) == NULL) {
		log_err("cannot read the %s: %s", what, err);
		return NULL;
	}
	chomp(s);
	return s;
}

/* ---- signals --------------------------------------------------------- */

/* SIGHUP (a closing SSH session) and SIGQUIT are handled like SIGTERM. */
static const int	handled[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define NHANDLED	(sizeof handled / sizeof handled[0])
static ev_signal	sig_w[NHANDLED];
static int		signals_seen;

static void
on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct ctx	*c = w->data;
	enum fsm_outcome o;
	int		 rc;

	(void)loop;
	(void)revents;
	switch (fsm_signal(++signals_seen, c->ending)) {
	case FSM_SIG_EXIT:
		o = ctx_abandoned(c);
		rc = ctx_exit_now(c);
		if (c->ending)
			fprintf(stderr, "drain-and-rollout: second signal: "
			    "exiting now; every run had ended (the outcomes "
			    "above stand, nothing to recover); the "
			    "notification webhook may not have been sent\n");
		else
			fprintf(stderr, "drain-and-rollout: second signal: "
			    "exiting now; %sthe journal is left for "
			    "'drain-and-rollout --recover'%s\n",
			    o == OUT_RESTORE_FAILED ? "a worker may be left "
			    "without consumers: " : "",
			    o == OUT_RESTORE_FAILED ? " (see --status first)" :
			    "");
		_exit(report_json_end(rc));
	case FSM_SIG_WAIT:
		log_warn("signal %d: every run has ended; finishing the "
		    "notification webhook and the reply queue's removal "
		    "(send it again to exit at once)", w->signum);
		return;
	case FSM_SIG_INTERRUPT:
		break;
	}
	log_warn("signal %d: restoring the consumers of every run not yet "
	    "restarted; a run already restarted keeps its journal for "
	    "--recover (send it again to exit at once)", w->signum);
	ctx_interrupt(c);
}

static void
signals_start(struct ctx *c)
{
	size_t	i;

	for (i = 0; i < NHANDLED; i++) {
		ev_signal_init(&sig_w[i], on_signal, handled[i]);
		if (signal_ignored_at_start(handled[i]))
			continue;
		sig_w[i].data = c;
		ev_signal_start(c->loop, &sig_w[i]);
	}
}

static void
signals_stop(struct ctx *c)
{
	size_t	i;

	for (i = 0; i < NHANDLED; i++)
		ev_signal_stop(c->loop, &sig_w[i]);
}

/* ---- the command on the loop (cmd.h) ---------------------------------- */

static struct {
	struct ctx	*c;		/* cmd_ctx()'s, freed after the loop */
	cmd_step	*then;		/* cmd_ctx()'s, and its arguments */
	int		 argc;
	char		**argv;
	cmd_end		*ran;		/* cmd_runs()'s */
	int		 rc;		/* cmd_done()'s; -1: not yet */
} cmd = { .rc = -1 };

static void
logged_in(const struct kube_exec_cred *cred, unsigned long gen,
    const char *err, void *arg)
{
	(void)cred;
	(void)gen;
	(void)err;
	cmd.then(arg, cmd.argc, cmd.argv);
}

/*
 * A credential plugin given the terminal (a login in a browser, a prompt)
 * runs first, before any run and its state deadlines start: a login may
 * take minutes. Its credential is cached for the runs; its error too, which
 * then fails their first request (exit 3, nothing changed).
 */
int
cmd_ctx(struct ctx *c, struct ev_loop *loop, struct opts *o, int argc,
    char **argv, cmd_step *then)
{
	char	err[1024];

	if (ctx_init(c, loop, o, err, sizeof err) == -1) {
		log_err("%s", err);
		ctx_free(c);
		return EXIT_USAGE;
	}
	cmd.c = c;
	cmd.then = then;
	cmd.argc = argc;
	cmd.argv = argv;
	if (c->kube.exec == NULL ||
	    !execcred_interactive(c->creds.exec, isatty(STDIN_FILENO))) {
		then(c, argc, argv);
		return CMD_STARTED;
	}
	log_info("logging in first: the credential plugin %s has the "
	    "terminal", c->creds.exec->command);
	execcred_get(c->kube.exec, 0, logged_in, c);
	return CMD_STARTED;
}

static void
runs_ended(struct ctx *c, int rc)
{
	signals_stop(c);
	cmd.ran(c, rc);
}

void
cmd_runs(struct ctx *c, cmd_end *then)
{
	cmd.ran = then;
	signals_start(c);
	ctx_start(c, runs_ended);
}

void
cmd_done(struct ctx *c, int rc)
{
	if (cmd.rc == -1)
		cmd.rc = rc;
	ev_break(c->loop, EVBREAK_ALL);
}

/*
 * Run the command: its exec(), then, if it started, the program's one
 * loop until cmd_done(); the exit code.
 */
static int
cmd_exec(const struct cmd_entry *e, struct ev_loop *loop, struct opts *o,
    struct strv *targets)
{
	int	rc;

	rc = e->exec(loop, o, (int)targets->n, targets->v);
	if (rc == CMD_STARTED) {
		if (cmd.rc == -1)	/* not ended by its first step */
			ev_run(loop, 0);
		if ((rc = cmd.rc) == -1) {
			log_err("internal error: %s stopped with nothing left "
			    "to wait for and no exit status", e->name);
			rc = EXIT_INTERNAL;
		}
	}
	if (cmd.c != NULL)
		ctx_free(cmd.c);
	if (e->free != NULL)
		e->free();
	return rc;
}

/* ---- main ------------------------------------------------------------ */

static int
url_has_password(const char *url)
{
	CURLU			*u;
	char			*pw = NULL, err[256];
	int			 has;
	struct sentinel_list	 l;

	switch (sentinel_parse(url, &l, err, sizeof err)) {
	case 1:
		has = l.password[0] != '\0';
		explicit_bzero(&l, sizeof l);
		return has;
	case -1:
		return 0;	/* refused later, with err */
	}
	u = curl_url();
	curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
	has = curl_url_get(u, CURLUPART_PASSWORD, &pw, 0) == CURLUE_OK &&
	    pw != NULL && *pw != '\0';
	curl_free(pw);
	curl_url_cleanup(u);
	return has;
}

/*
 * The Flower URL as requests use it and as every message shows it: scheme,
 * host, port and path (http_url_shown()). User information in it is taken
 * out into the credentials: a password only from DRAIN_FLOWER_URL (the
 * environment or the configuration file), never from the command line,
 * which every user can see in ps; and neither when the same credential is
 * also given on its own. A query or a fragment is refused (requests append
 * their path to the URL). The results are malloc'd.
 */
static int
flower_url(const char *url, int flag, const char *user, const char *pwfile,
    char **base, char **uuser, char **upass)
{
	CURLU	*u = curl_url();
	char	*q = NULL, *fr = NULL, *un = NULL, *pw = NULL;
	size_t	 n;
	int	 rc = -1;

	*base = *uuser = *upass = NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &q, 0) != CURLUE_OK ||
	    (strcmp(q, "http") != 0 && strcmp(q, "https") != 0)) {
		log_err("the Flower URL is not an http(s) URL (expected "
		    "http://host:port)");
		goto out;
	}
	curl_free(q);
	q = NULL;
	curl_url_get(u, CURLUPART_QUERY, &q, 0);
	curl_url_get(u, CURLUPART_FRAGMENT, &fr, 0);
	curl_url_get(u, CURLUPART_USER, &un, CURLU_URLDECODE);
	curl_url_get(u, CURLUPART_PASSWORD, &pw, CURLU_URLDECODE);
	if (q != NULL || fr != NULL) {
		log_err("the Flower URL has a query or a fragment; give "
		    "scheme://host:port[/path] only");
		goto out;
	}
	if (pw != NULL && *pw != '\0' && flag) {
		log_err("--flower-url carries a password, which every user can "
		    "see in ps; use --flower-user and --flower-password-file");
		goto out;
	}
	if (un != NULL && *un != '\0' && user != NULL) {
		log_err("the Flower URL carries a user, and --flower-user is "
		    "given too: give the credentials once");
		goto out;
	}
	if (pw != NULL && *pw != '\0' && pwfile != NULL) {
		log_err("the Flower URL carries a password, and "
		    "--flower-password-file is given too: give the credentials "
		    "once");
		goto out;
	}
	if (un != NULL && *un != '\0')
		*uuser = xstrdup(un);
	if (pw != NULL && *pw != '\0')
		*upass = xstrdup(pw);
	*base = http_url_shown(url);
	n = strlen(*base);
	while (n > 0 && (*base)[n - 1] == '/')
		(*base)[--n] = '\0';
	rc = 0;
out:
	curl_free(q);
	curl_free(fr);
	curl_free(un);
	if (pw != NULL)
		explicit_bzero(pw, strlen(pw));
	curl_free(pw);
	curl_url_cleanup(u);
	return rc;
}

/* What the command line says beside struct optvals. */
struct cmdline {
	const struct cmd_entry	*cmd;
	struct cmd_args		 args;
	char			*fbase, *fuser, *fpass;	/* flower_url() */
	struct strv		 targets;	/* cmd_targets() */
};

/* --config FILE (the last), else DRAIN_CONFIG: read before the rest. */
static const char *
config_path(int argc, char **argv)
{
	const char	*cfg = getenv("DRAIN_CONFIG");
	int		 i;

	if (cfg != NULL && *cfg == '\0')
		cfg = NULL;
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			cfg = argv[++i];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			cfg = argv[i] + 9;
	}
	return cfg;
}

/* The configuration file's options (options.h); its KUBECONFIG and
 * DRAIN_SERVICEACCOUNT_DIR are exported unless the environment has them. */
static int
load_config(struct optvals *v, const char *path)
{
	char	 err[1024], *text;
	size_t	 len, i;
	int	 rc;

	if ((text = read_file(path, 1024 * 1024, &len, err, sizeof err)) ==
	    NULL) {
		log_err("cannot read the configuration: %s", err);
		return -1;
	}
	rc = opt_config_text(v, path, text, err, sizeof err);
	explicit_bzero(text, len);
	free(text);
	if (rc == -1) {
		log_err("%s", err);
		return -1;
	}
	for (i = 0; i < opt_count; i++)
		if (opt_table[i].kind == OPT_EXPORT && v->file_vals[i] != NULL)
			setenv(opt_table[i].var, v->file_vals[i], 0);
	return 0;
}

/* The checks of options together, and the Flower URL's credentials. */
static int
opts_check(struct optvals *v, struct cmdline *cl)
{
	struct opts	*o = &v->o;

	if (o->dry_run && o->drain_only) {
		log_err("--dry-run and --drain-only exclude each other");
		return -1;
	}
	if (o->handover && o->drain_only) {
		log_err("--handover and --drain-only exclude each other (a "
		    "handover restarts first, then drains)");
		return -1;
	}
	/* anyone can read a command line (ps): no secrets there */
	if (opt_src_of(v, "redis-url") == OPT_SRC_FLAG &&
	    url_has_password(o->redis_url)) {
		log_err("--redis-url carries a password, which every user can see "
		    "in ps; use --redis-password-file (or DRAIN_REDIS_URL in "
		    "the configuration file)");
		return -1;
	}
	if (o->namespace != NULL && !dns1123_label(o->namespace)) {
		log_err("namespace \"%s\" is not a valid name (a DNS-1123 "
		    "label: 1 to 63 lowercase letters, digits and '-', starting "
		    "and ending with a letter or digit)", o->namespace);
		return -1;
	}
	if (flower_url(o->flower_url, opt_src_of(v, "flower-url") ==
	    OPT_SRC_FLAG, o->flower_user, v->flower_pwfile, &cl->fbase,
	    &cl->fuser, &cl->fpass) == -1)
		return -1;
	o->flower_url = cl->fbase;
	if (cl->fuser != NULL)
		o->flower_user = cl->fuser;
	return 0;
}

/* --help, --version, --completion: print and exit 0 */
static int
action(const struct optvals *v)
{
	if (v->action == 'h')
		opt_usage(stdout);
	else if (v->action == 'c')
		opt_completion(stdout, v->action_arg);
	else
		printf("drain-and-rollout %s\n", VERSION);
	return EXIT_OK;
}

/*
 * -o json: one document on stdout whatever happens next, also when an
 * option before -o json was refused (rc -1).
 */
static void
json_first(struct optvals *v, int argc, char **argv, int rc)
{
	if (rc == -1 && v->action == 0)
		v->o.json = opt_argv_json(argc, argv, v->o.json);
	if (v->o.json && v->action == 0)
		report_json_begin(v->command != NULL ? v->command + 2 :
		    cmd_table[0]->name, v->o.dry_run);
}

/*
 * The configuration file, the environment and the flags, in that order of
 * precedence (the flag wins; options.h), and the checks that need no
 * command. Returns -1 to go on, else the exit code (--help, --version,
 * errors).
 */
static int
parse(int argc, char **argv, struct optvals *v, struct cmdline *cl)
{
	const char	*cfg = config_path(argc, argv);
	char		 err[1024];
	int		 first, rc;

	opt_defaults(v);
	memset(cl, 0, sizeof *cl);
	if (cfg != NULL && load_config(v, cfg) == -1)
		return EXIT_USAGE;
	rc = opt_environ(v, environ, err, sizeof err);
	if (rc == 0)
		rc = opt_argv(v, argc, argv, &first, err, sizeof err);
	json_first(v, argc, argv, rc);
	if (rc == -1) {
		log_err("%s", err);
		return EXIT_USAGE;
	}
	if (v->action != 0)
		return action(v);
	log_init(v->quiet ? LOG_ERR : v->verbose ? LOG_DEBUG : LOG_INFO,
	    !isatty(STDERR_FILENO));
	if (opts_check(v, cl) == -1)
		return EXIT_USAGE;
	cl->cmd = v->command != NULL ? cmd_find(v->command) : cmd_table[0];
	cl->args.argc = argc - first;
	cl->args.argv = argv + first;
	cl->args.selector = v->o.selector;
	/* the command-specific options have no DRAIN_* variable */
	cl->args.given = opt_cmd_given(v);
	return -1;
}

/* The command line against the command's rules (cmd.h). */
static int
check(struct cmdline *cl, struct opts *o)
{
	char	err[512];

	switch (cmd_check(cl->cmd, &cl->args, err, sizeof err)) {
	case CMD_OK:
		o->selector = cl->args.selector;
		if (cmd_targets(&cl->args, &cl->targets, err, sizeof err) ==
		    -1) {
			log_err("%s", err);
			fprintf(stderr, "usage: drain-and-rollout %s\n",
			    cl->cmd->usage);
			break;
		}
		return 0;
	case CMD_USAGE:
		opt_usage(stderr);
		break;
	case CMD_ERROR:
		log_err("%s", err);
		break;
	case CMD_ERROR_USAGE:
		log_err("%s", err);
		fprintf(stderr, "usage: drain-and-rollout %s\n", cl->cmd->usage);
		break;
	}
	return -1;
}

/* The secrets, from their files; an empty file means: none. */
static int
secrets_read(struct cmdline *cl, struct optvals *v)
{
	struct opts	*o = &v->o;

	if (v->flower_pwfile != NULL && (o->flower_password =
	    read_secret(v->flower_pwfile, "Flower password")) == NULL)
		return -1;
	if (v->redis_pwfile != NULL && (o->redis_password =
	    read_secret(v->redis_pwfile, "Redis password")) == NULL)
		return -1;
	if (v->notify_file != NULL && (o->notify_url =
	    read_secret(v->notify_file, "notification URL")) == NULL)
		return -1;
	if (cl->fpass != NULL) {	/* from DRAIN_FLOWER_URL */
		o->flower_password = cl->fpass;
		cl->fpass = NULL;
	}
	if (o->flower_password != NULL && *o->flower_password == '\0') {
		free(o->flower_password);
		o->flower_password = NULL;
	}
	if (o->redis_password != NULL && *o->redis_password == '\0') {
		free(o->redis_password);
		o->redis_password = NULL;
	}
	if (o->flower_password != NULL && o->flower_user == NULL) {
		log_err("a Flower password file was given without "
		    "--flower-user (DRAIN_FLOWER_USER)");
		return -1;
	}
	return 0;
}

static void
secrets_free(struct cmdline *cl, struct opts *o)
{
	if (o->flower_password != NULL)
		explicit_bzero(o->flower_password, strlen(o->flower_password));
	free(o->flower_password);
	if (o->redis_password != NULL)
		explicit_bzero(o->redis_password, strlen(o->redis_password));
	free(o->redis_password);
	if (o->notify_url != NULL)
		explicit_bzero(o->notify_url, strlen(o->notify_url));
	free(o->notify_url);
	if (cl->fpass != NULL)
		explicit_bzero(cl->fpass, strlen(cl->fpass));
	free(cl->fpass);
	free(cl->fbase);
	free(cl->fuser);
	strv_free(&cl->targets);
}

/*
 * A standard descriptor closed at the start (">&-", "2>&-") would be the
 * next one opened: libev's epoll or eventfd, libcurl's wakeup socket, a
 * connection to Redis, which would then receive the log lines or the JSON
 * document. Each closed one is opened on /dev/null first.
 */
static void
std_fds_open(void)
{
	int	fd, n;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		if ((n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY)) ==
		    -1)
			_exit(EXIT_INTERNAL);
		if (n != fd) {		/* a lower one was taken meanwhile */
			(void)dup2(n, fd);
			(void)close(n);
		}
	}
}

int
main(int argc, char **argv)
{
	struct optvals	 v;
	struct cmdline	 cl;
	struct ev_loop	*loop;
	struct rlimit	 nocore = { 0, 0 };
	int		 rc;

	std_fds_open();
	signal(SIGPIPE, SIG_IGN);
	/* the process holds tokens and passwords: no core dump, no ptrace */
	setrlimit(RLIMIT_CORE, &nocore);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	log_init(LOG_INFO, !isatty(STDERR_FILENO));
	if ((rc = parse(argc, argv, &v, &cl)) != -1) {
		secrets_free(&cl, &v.o);
		opt_free(&v);
		return report_json_end(rc);
	}
	if (check(&cl, &v.o) == -1 || secrets_read(&cl, &v) == -1) {
		secrets_free(&cl, &v.o);
		opt_free(&v);
		return report_json_end(EXIT_USAGE);
	}
	loop = ev_default_loop(EVFLAG_AUTO);
	rc = cmd_exec(cl.cmd, loop, &v.o, &cl.targets);
	secrets_free(&cl, &v.o);
	opt_free(&v);
	ev_loop_destroy(loop);
	return report_json_end(rc);
}
