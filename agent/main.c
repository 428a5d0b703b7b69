/*
 * main.c -- drain-and-rollout: options, configuration, signals, and the
 * command table (cmd.h).
 */
#include <curl/curl.h>
#include <ctype.h>
#include <errno.h>
#include <ev.h>
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
#include "http.h"
#include "keys.h"
#include "run.h"

static void
usage(FILE *f)
{
	fprintf(f,
"usage: drain-and-rollout [options] DEPLOYMENT...\n"
"       drain-and-rollout [options] -l SELECTOR\n"
"       drain-and-rollout --status [DEPLOYMENT...]\n"
"       drain-and-rollout --recover [DEPLOYMENT...]\n"
"       drain-and-rollout --undrain DEPLOYMENT...\n"
"       drain-and-rollout --hold DEPLOYMENT --reason TEXT [--until D|TIME]\n"
"       drain-and-rollout --release DEPLOYMENT\n"
"\n"
"Safely restart Celery worker deployments: cancel the workers' consumers,\n"
"wait until their running and prefetched tasks are done, send the rollout\n"
"restart `oc rollout restart` sends, wait for it, and check that the new\n"
"worker consumes its queues. On any failure before the restart the\n"
"consumers are put back. See drain-and-rollout(1).\n"
"\n"
"Connections:\n"
"  --flower-url URL           Flower API (DRAIN_FLOWER_URL; http://127.0.0.1:5555)\n"
"  --flower-user USER         Flower basic-auth user (DRAIN_FLOWER_USER)\n"
"  --flower-password-file F   file holding its password (DRAIN_FLOWER_PASSWORD_FILE)\n"
"  --redis-url URL            Celery broker, redis://host:port/db (DRAIN_REDIS_URL;\n"
"                             redis://127.0.0.1:6379/0)\n"
"  --redis-password-file F    file holding the Redis password (DRAIN_REDIS_PASSWORD_FILE)\n"
"  --kubeconfig PATH          else $KUBECONFIG, ~/.kube/config, or in-cluster\n"
"  --context NAME             kubeconfig context (DRAIN_CONTEXT; else current-context)\n"
"  -n, --namespace NS         (DRAIN_NAMESPACE; else the context's namespace)\n"
"  --insecure-skip-tls-verify do not verify the API server's certificate\n"
"  --control auto|flower|broker  how to reach workers (DRAIN_CONTROL; auto:\n"
"                             Flower, or remote control on the broker if down)\n"
"  --broker-key-prefix P      Celery's broker_transport_options global_keyprefix\n"
"                             (DRAIN_BROKER_KEY_PREFIX; none)\n"
"  --priority-steps 0,3,6,9   its priority_steps (DRAIN_PRIORITY_STEPS; 0,3,6,9)\n"
"  --config FILE              KEY=VALUE file of DRAIN_* settings (DRAIN_CONFIG)\n"
"\n"
"Drain:\n"
"  -l, --selector K=V         drain every deployment with these labels (DRAIN_SELECTOR)\n"
"  --max-parallel N           deployments in flight at once (DRAIN_MAX_PARALLEL; 4)\n"
"  --drain-timeout D          give up draining after D, restoring consumers\n"
"                             (DRAIN_DRAIN_TIMEOUT; 30m)\n"
"  --on-timeout abort|force   at the drain timeout: restore, or restart anyway\n"
"                             (DRAIN_ON_TIMEOUT; abort)\n"
"  --rollout-timeout D        (DRAIN_ROLLOUT_TIMEOUT; progressDeadlineSeconds + grace + 30s)\n"
"  --verify-timeout D         wait for the new worker (DRAIN_VERIFY_TIMEOUT; 2m)\n"
"  --request-timeout D        each HTTP request and Redis command\n"
"                             (DRAIN_REQUEST_TIMEOUT; 10s)\n"
"  --poll-interval D          polling period without events (DRAIN_POLL_INTERVAL; 2s)\n"
"  --no-events                poll Flower instead of following Celery events\n"
"                             (DRAIN_NO_EVENTS=1)\n"
"  --lease-ttl D              lease time-to-live, renewed while running\n"
"                             (DRAIN_LEASE_TTL; 30s)\n"
"  --dry-run                  print the plan, change nothing\n"
"  --drain-only               drain and stop: no restart (undo with --undrain)\n"
"  --handover                 start the new workers before the old ones stop:\n"
"                             no queue downtime, up to 2x the pods meanwhile\n"
"                             (DRAIN_HANDOVER=1; Deployments only)\n"
"  --queues Q1,Q2             with --undrain: the queues, if no journal has them\n"
"  --ignore-hold              drain the deployments named even if held\n"
"\n"
"Holds (a held deployment is skipped by -l and refused when named):\n"
"  --reason TEXT              with --hold: why (required)\n"
"  --until D|TIME             with --hold: for a duration (8h) or until an\n"
"                             RFC 3339 time; else until --release\n"
"\n"
"Output:\n"
"  -o, --output text|json     final report format (DRAIN_OUTPUT; text)\n"
"  --metrics-file PATH        Prometheus textfile metrics, written atomically\n"
"                             (DRAIN_METRICS_FILE)\n"
"  --notify-url-file F        file holding a webhook URL ({\"text\": ...} is posted\n"
"                             on failure) (DRAIN_NOTIFY_URL_FILE)\n"
"  --notify-on-success        also notify on success (DRAIN_NOTIFY_ON_SUCCESS=1)\n"
"  -q, --quiet  -v, --verbose\n"
"  -h, --help   --version\n"
"\n"
"Durations: 90s, 30m, 1h, 1h30m. Exit status: 0 done, 2 usage or configuration,\n"
"3 failed before changing anything (or held), 4 locked by another run, 5 drain aborted\n"
"(consumers restored, no restart), 6 rollout failed, 7 new worker not\n"
"consuming, 8 interrupted, 9 a worker may be left drained: run --recover.\n");
}

/* ---- configuration file (systemd EnvironmentFile format) -------------- */

static int
load_config(const char *path)
{
	char	 line[4096], *k, *v, *e, err[512];
	FILE	*f = open_regular(path, 0, err, sizeof err);
	int	 n = 0;

	if (f == NULL) {
		log_err("cannot read the configuration: %s", err);
		return -1;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		n++;
		for (k = line; isspace((unsigned char)*k); k++)
			;
		if (*k == '#' || *k == ';' || *k == '\0')
			continue;
		chomp(k);
		if ((v = strchr(k, '=')) == NULL) {
			log_err("%s:%d: expected KEY=VALUE", path, n);
			fclose(f);
			return -1;
		}
		*v++ = '\0';
		chomp(k);
		while (isspace((unsigned char)*v))
			v++;
		e = v + strlen(v);
		if (e - v >= 2 && (*v == '"' || *v == '\'') && e[-1] == *v) {
			e[-1] = '\0';
			v++;
		}
		if (strncmp(k, "DRAIN_", 6) != 0 && strcmp(k, "KUBECONFIG") != 0) {
			log_err("%s:%d: unknown setting %s (settings start with "
			    "DRAIN_)", path, n, k);
			fclose(f);
			return -1;
		}
		setenv(k, v, 0);	/* the environment wins over the file */
	}
	fclose(f);
	return 0;
}

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

static int
set_duration(const char *opt, const char *v, double min, double *out)
{
	double	d;
	char	m[32];

	if (duration_parse(v, &d) == -1) {
		log_err("%s: invalid duration \"%s\" (use e.g. 90s, 30m, 1h)",
		    opt, v);
		return -1;
	}
	if (d < min) {
		log_err("%s: %s is too short: at least %s", opt, v,
		    duration_fmt(min, m, sizeof m));
		return -1;
	}
	*out = d;
	return 0;
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

	(void)loop;
	(void)revents;
	if (++signals_seen > 1) {
		fprintf(stderr, "drain-and-rollout: second signal: exiting now; "
		    "the journal is left for 'drain-and-rollout --recover'\n");
		_exit(fsm_exit_code(OUT_INTERRUPTED));
	}
	log_warn("signal %d: restoring the consumers of every run not yet "
	    "restarted; a run already restarted keeps its journal for "
	    "--recover (send it again to exit at once)", w->signum);
	ctx_interrupt(c);
}

/*
 * A signal other than SIGTERM that was ignored when the program started
 * stays ignored, as the shell's conventions want: nohup ignores SIGHUP, a
 * non-interactive shell's background job SIGINT and SIGQUIT.
 */
static int
ignored_at_start(int signum)
{
	struct sigaction	sa;

	if (signum == SIGTERM || sigaction(signum, NULL, &sa) == -1)
		return 0;
	return !(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_IGN;
}

static void
signals_start(struct ctx *c)
{
	size_t	i;

	for (i = 0; i < NHANDLED; i++) {
		ev_signal_init(&sig_w[i], on_signal, handled[i]);
		if (ignored_at_start(handled[i]))
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

int
cmd_ctx(struct ctx *c, struct ev_loop *loop, struct opts *o)
{
	char	err[1024];

	if (ctx_init(c, loop, o, err, sizeof err) == -1) {
		log_err("%s", err);
		ctx_free(c);
		return -1;
	}
	return 0;
}

int
cmd_run(struct ctx *c)
{
	int	rc;

	signals_start(c);
	rc = ctx_run(c);
	signals_stop(c);
	ctx_free(c);
	return rc;
}

/* ---- main ------------------------------------------------------------ */

enum {
	O_FLOWER_URL = 256, O_FLOWER_USER, O_FLOWER_PW, O_REDIS_URL, O_REDIS_PW,
	O_KUBECONFIG, O_CONTEXT, O_INSECURE, O_DRAIN_TIMEOUT, O_ROLLOUT_TIMEOUT,
	O_VERIFY_TIMEOUT, O_POLL, O_NO_EVENTS, O_MAX_PARALLEL, O_DRY_RUN,
	O_DRAIN_ONLY, O_HANDOVER, O_ON_TIMEOUT, O_STATUS, O_RECOVER, O_UNDRAIN, O_LEASE_TTL,
	O_METRICS, O_NOTIFY_OK, O_CONFIG, O_CONTROL, O_VERSION,
	O_REQ_TIMEOUT, O_QUEUES, O_NOTIFY_FILE,
	O_HOLD, O_RELEASE, O_IGNORE_HOLD, O_REASON, O_UNTIL, O_KEY_PREFIX,
	O_PRIO_STEPS,
};

static const struct option longopts[] = {
	{ "flower-url", required_argument, NULL, O_FLOWER_URL },
	{ "flower-user", required_argument, NULL, O_FLOWER_USER },
	{ "flower-password-file", required_argument, NULL, O_FLOWER_PW },
	{ "redis-url", required_argument, NULL, O_REDIS_URL },
	{ "redis-password-file", required_argument, NULL, O_REDIS_PW },
	{ "kubeconfig", required_argument, NULL, O_KUBECONFIG },
	{ "context", required_argument, NULL, O_CONTEXT },
	{ "namespace", required_argument, NULL, 'n' },
	{ "insecure-skip-tls-verify", no_argument, NULL, O_INSECURE },
	{ "drain-timeout", required_argument, NULL, O_DRAIN_TIMEOUT },
	{ "rollout-timeout", required_argument, NULL, O_ROLLOUT_TIMEOUT },
	{ "verify-timeout", required_argument, NULL, O_VERIFY_TIMEOUT },
	{ "request-timeout", required_argument, NULL, O_REQ_TIMEOUT },
	{ "poll-interval", required_argument, NULL, O_POLL },
	{ "no-events", no_argument, NULL, O_NO_EVENTS },
	{ "max-parallel", required_argument, NULL, O_MAX_PARALLEL },
	{ "selector", required_argument, NULL, 'l' },
	{ "dry-run", no_argument, NULL, O_DRY_RUN },
	{ "drain-only", no_argument, NULL, O_DRAIN_ONLY },
	{ "handover", no_argument, NULL, O_HANDOVER },
	{ "on-timeout", required_argument, NULL, O_ON_TIMEOUT },
	{ "status", no_argument, NULL, O_STATUS },
	{ "recover", no_argument, NULL, O_RECOVER },
	{ "undrain", no_argument, NULL, O_UNDRAIN },
	{ "hold", no_argument, NULL, O_HOLD },
	{ "release", no_argument, NULL, O_RELEASE },
	{ "ignore-hold", no_argument, NULL, O_IGNORE_HOLD },
	{ "reason", required_argument, NULL, O_REASON },
	{ "until", required_argument, NULL, O_UNTIL },
	{ "lease-ttl", required_argument, NULL, O_LEASE_TTL },
	{ "queues", required_argument, NULL, O_QUEUES },
	{ "control", required_argument, NULL, O_CONTROL },
	{ "broker-key-prefix", required_argument, NULL, O_KEY_PREFIX },
	{ "priority-steps", required_argument, NULL, O_PRIO_STEPS },
	{ "output", required_argument, NULL, 'o' },
	{ "metrics-file", required_argument, NULL, O_METRICS },
	{ "notify-url-file", required_argument, NULL, O_NOTIFY_FILE },
	{ "notify-on-success", no_argument, NULL, O_NOTIFY_OK },
	{ "config", required_argument, NULL, O_CONFIG },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

static const char *
env(const char *k, const char *dflt)
{
	const char	*v = getenv(k);

	return v != NULL && *v != '\0' ? v : dflt;
}

static int
parse_control(const char *what, const char *v, enum ctl_mode *m)
{
	if (strcmp(v, "auto") == 0)
		*m = CTL_AUTO;
	else if (strcmp(v, "flower") == 0)
		*m = CTL_FLOWER;
	else if (strcmp(v, "broker") == 0)
		*m = CTL_BROKER;
	else {
		log_err("%s: expected auto, flower or broker, not \"%s\"",
		    what, v);
		return -1;
	}
	return 0;
}

static int
env_bool(const char *k)
{
	const char	*v = env(k, "0");

	return strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 ||
	    strcasecmp(v, "yes") == 0;
}

static int
parse_parallel(const char *what, const char *v, int *out)
{
	char	*end;
	long	 n = strtol(v, &end, 10);

	if (*v == '\0' || *end != '\0' || n < 1 || n > 1000) {
		log_err("%s: expected a number from 1 to 1000, not \"%s\"", what,
		    v);
		return -1;
	}
	*out = (int)n;
	return 0;
}

static int
parse_on_timeout(const char *what, const char *v, int *force)
{
	if (strcmp(v, "abort") == 0)
		*force = 0;
	else if (strcmp(v, "force") == 0)
		*force = 1;
	else {
		log_err("%s: expected abort or force, not \"%s\"", what, v);
		return -1;
	}
	return 0;
}

static int
parse_output(const char *what, const char *v, int *json)
{
	if (strcmp(v, "json") == 0)
		*json = 1;
	else if (strcmp(v, "text") == 0)
		*json = 0;
	else {
		log_err("%s: expected text or json, not \"%s\"", what, v);
		return -1;
	}
	return 0;
}

static int
parse_steps(const char *what, const char *v, struct prio_steps *steps)
{
	char	err[200];

	if (keys_parse_steps(v, steps, err, sizeof err) == -1) {
		log_err("%s: \"%s\": %s (expected kombu's priority_steps, e.g. "
		    "0,3,6,9)", what, v, err);
		return -1;
	}
	return 0;
}

static int
url_has_password(const char *url)
{
	CURLU	*u = curl_url();
	char	*pw = NULL;
	int	 has;

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

/*
 * The settings that take a checked value: a flag and its DRAIN_* variable
 * (the flag wins), parsed into a field of struct opts.
 */
enum setting_kind { S_DURATION, S_PARALLEL, S_ON_TIMEOUT, S_OUTPUT, S_CONTROL,
	S_STRING, S_STEPS };

static const struct setting {
	int			 opt;		/* getopt_long's value */
	const char		*flag;
	const char		*env;
	enum setting_kind	 kind;
	size_t			 off;		/* in struct opts */
	double			 min;		/* S_DURATION: seconds */
} settings[] = {
	{ O_DRAIN_TIMEOUT, "--drain-timeout", "DRAIN_DRAIN_TIMEOUT", S_DURATION,
	  offsetof(struct opts, drain_timeout), 1 },
	{ O_ROLLOUT_TIMEOUT, "--rollout-timeout", "DRAIN_ROLLOUT_TIMEOUT",
	  S_DURATION, offsetof(struct opts, rollout_timeout), 1 },
	{ O_VERIFY_TIMEOUT, "--verify-timeout", "DRAIN_VERIFY_TIMEOUT",
	  S_DURATION, offsetof(struct opts, verify_timeout), 1 },
	{ O_REQ_TIMEOUT, "--request-timeout", "DRAIN_REQUEST_TIMEOUT",
	  S_DURATION, offsetof(struct opts, request_timeout), 1 },
	/* a refresh may take Flower's 1 s inspect timeout */
	{ O_POLL, "--poll-interval", "DRAIN_POLL_INTERVAL", S_DURATION,
	  offsetof(struct opts, poll_interval), 1 },
	/* renewed every third of it */
	{ O_LEASE_TTL, "--lease-ttl", "DRAIN_LEASE_TTL", S_DURATION,
	  offsetof(struct opts, lease_ttl), 1 },
	{ O_MAX_PARALLEL, "--max-parallel", "DRAIN_MAX_PARALLEL", S_PARALLEL,
	  offsetof(struct opts, max_parallel), 0 },
	{ O_ON_TIMEOUT, "--on-timeout", "DRAIN_ON_TIMEOUT", S_ON_TIMEOUT,
	  offsetof(struct opts, force), 0 },
	{ 'o', "--output", "DRAIN_OUTPUT", S_OUTPUT,
	  offsetof(struct opts, json), 0 },
	{ O_CONTROL, "--control", "DRAIN_CONTROL", S_CONTROL,
	  offsetof(struct opts, control), 0 },
	{ O_KEY_PREFIX, "--broker-key-prefix", "DRAIN_BROKER_KEY_PREFIX",
	  S_STRING, offsetof(struct opts, key_prefix), 0 },
	{ O_PRIO_STEPS, "--priority-steps", "DRAIN_PRIORITY_STEPS", S_STEPS,
	  offsetof(struct opts, priority_steps), 0 },
};
#define NSETTINGS	(sizeof settings / sizeof settings[0])

static const struct setting *
setting_of(int opt)
{
	size_t	i;

	for (i = 0; i < NSETTINGS; i++)
		if (settings[i].opt == opt)
			return &settings[i];
	return NULL;
}

/* what: the flag or the variable, for the error message. */
static int
setting_set(const struct setting *st, const char *what, const char *v,
    struct opts *o)
{
	void	*field = (char *)o + st->off;

	switch (st->kind) {
	case S_DURATION:
		return set_duration(what, v, st->min, field);
	case S_PARALLEL:
		return parse_parallel(what, v, field);
	case S_ON_TIMEOUT:
		return parse_on_timeout(what, v, field);
	case S_OUTPUT:
		return parse_output(what, v, field);
	case S_CONTROL:
		return parse_control(what, v, field);
	case S_STRING:
		*(const char **)field = v;
		return 0;
	case S_STEPS:
		return parse_steps(what, v, field);
	}
	return -1;
}

/* Defaults from the environment (and the --config file behind it). */
static int
defaults(struct opts *o)
{
	const struct setting	*st;
	const char		*v;

	o->flower_url = env("DRAIN_FLOWER_URL", "http://127.0.0.1:5555");
	o->flower_user = env("DRAIN_FLOWER_USER", NULL);
	o->redis_url = env("DRAIN_REDIS_URL", "redis://127.0.0.1:6379/0");
	o->namespace = env("DRAIN_NAMESPACE", NULL);
	o->selector = env("DRAIN_SELECTOR", NULL);
	o->context = env("DRAIN_CONTEXT", NULL);
	o->metrics_file = env("DRAIN_METRICS_FILE", NULL);
	o->no_events = env_bool("DRAIN_NO_EVENTS");
	o->handover = env_bool("DRAIN_HANDOVER");
	o->notify_on_success = env_bool("DRAIN_NOTIFY_ON_SUCCESS");
	o->drain_timeout = 1800;
	o->verify_timeout = 120;
	o->poll_interval = 2;
	o->progress_interval = 10;
	o->lease_ttl = 30;
	o->request_timeout = 10;
	o->max_parallel = 4;
	for (st = settings; st < settings + NSETTINGS; st++)
		if ((v = env(st->env, NULL)) != NULL &&
		    setting_set(st, st->env, v, o) == -1)
			return -1;
	return 0;
}

/* A second command option is an error, not a silent choice. */
static int
set_command(const struct cmd_entry **cmd, const char *name)
{
	const struct cmd_entry	*e = cmd_find(name);

	if (*cmd != cmd_table[0] && *cmd != e) {
		log_err("%s and %s exclude each other", (*cmd)->name, e->name);
		return -1;
	}
	*cmd = e;
	return 0;
}

/* What the command line says beside struct opts. */
struct cmdline {
	const struct cmd_entry	*cmd;
	struct cmd_args		 args;
	const char		*pwfile, *rpwfile, *notify_file;
	char			*fbase, *fuser, *fpass;	/* flower_url() */
	struct strv		 targets;	/* cmd_targets() */
};

/*
 * The configuration file, the environment and the flags, in that order of
 * precedence (the flag wins), and the checks that need no command. Returns
 * -1 to go on, else the exit code (--help, --version, errors).
 */
static int
parse(int argc, char **argv, struct opts *out, struct cmdline *cl)
{
	struct opts		 o;
	const struct cmd_entry	*cmd = cmd_table[0];
	const struct setting	*st;
	const char		*pwfile = NULL, *rpwfile = NULL, *cfg;
	const char		*notify_file;
	int			 ch, li = 0, verbose = 0, quiet = 0;
	int			 selector_flag = 0, redis_flag = 0;
	char			*fbase = NULL, *fuser = NULL, *fpass = NULL;
	int			 flower_flag = 0;

	memset(&o, 0, sizeof o);
	memset(cl, 0, sizeof *cl);
	/* --config must be known before the defaults: find it first */
	cfg = env("DRAIN_CONFIG", NULL);
	for (ch = 1; ch < argc; ch++) {
		if (strcmp(argv[ch], "--config") == 0 && ch + 1 < argc)
			cfg = argv[ch + 1];
		else if (strncmp(argv[ch], "--config=", 9) == 0)
			cfg = argv[ch] + 9;
	}
	if (cfg != NULL && load_config(cfg) == -1)
		return EXIT_USAGE;
	if (defaults(&o) == -1)
		return EXIT_USAGE;
	pwfile = env("DRAIN_FLOWER_PASSWORD_FILE", NULL);
	rpwfile = env("DRAIN_REDIS_PASSWORD_FILE", NULL);
	notify_file = env("DRAIN_NOTIFY_URL_FILE", NULL);

	while ((ch = getopt_long(argc, argv, "hl:n:o:qv", longopts, &li)) != -1) {
		switch (ch) {
		case O_FLOWER_URL:
			o.flower_url = optarg;
			flower_flag = 1;
			break;
		case O_FLOWER_USER:
			o.flower_user = optarg;
			break;
		case O_FLOWER_PW:
			pwfile = optarg;
			break;
		case O_REDIS_URL:
			o.redis_url = optarg;
			redis_flag = 1;
			break;
		case O_REDIS_PW:
			rpwfile = optarg;
			break;
		case O_KUBECONFIG:
			o.kubeconfig = optarg;
			break;
		case O_CONTEXT:
			o.context = optarg;
			break;
		case 'n':
			o.namespace = optarg;
			break;
		case O_INSECURE:
			o.insecure = 1;
			break;
		case O_NO_EVENTS:
			o.no_events = 1;
			break;
		case 'l':
			o.selector = optarg;
			selector_flag = 1;
			break;
		case O_DRY_RUN:
			o.dry_run = 1;
			break;
		case O_HANDOVER:
			o.handover = 1;
			break;
		case O_DRAIN_ONLY:
			o.drain_only = 1;
			break;
		case O_STATUS:
		case O_RECOVER:
		case O_UNDRAIN:
		case O_HOLD:
		case O_RELEASE:
			if (set_command(&cmd, longopts[li].name) == -1)
				return EXIT_USAGE;
			break;
		case O_QUEUES:
			o.queues = optarg;
			break;
		case O_IGNORE_HOLD:
			o.ignore_hold = 1;
			break;
		case O_REASON:
			o.hold_reason = optarg;
			break;
		case O_UNTIL:
			o.hold_until = optarg;
			break;
		case O_METRICS:
			o.metrics_file = optarg;
			break;
		case O_NOTIFY_FILE:
			notify_file = optarg;
			break;
		case O_NOTIFY_OK:
			o.notify_on_success = 1;
			break;
		case O_CONFIG:
			break;		/* read above */
		case 'q':
			quiet = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case O_VERSION:
			printf("drain-and-rollout %s\n", VERSION);
			return EXIT_OK;
		default:
			if ((st = setting_of(ch)) != NULL) {
				if (setting_set(st, st->flag, optarg, &o) == -1)
					return EXIT_USAGE;
				break;
			}
			fprintf(stderr, "Try 'drain-and-rollout --help'.\n");
			return EXIT_USAGE;
		}
	}
	log_init(quiet ? LOG_ERR : verbose ? LOG_DEBUG : LOG_INFO,
	    !isatty(STDERR_FILENO));
	if (o.dry_run && o.drain_only) {
		log_err("--dry-run and --drain-only exclude each other");
		return EXIT_USAGE;
	}
	if (o.handover && o.drain_only) {
		log_err("--handover and --drain-only exclude each other (a "
		    "handover restarts first, then drains)");
		return EXIT_USAGE;
	}
	/* anyone can read a command line (ps): no secrets there */
	if (redis_flag && url_has_password(o.redis_url)) {
		log_err("--redis-url carries a password, which every user can see "
		    "in ps; use --redis-password-file (or DRAIN_REDIS_URL in "
		    "the configuration file)");
		return EXIT_USAGE;
	}
	if (o.namespace != NULL && !dns1123_label(o.namespace)) {
		log_err("namespace \"%s\" is not a valid name (a DNS-1123 "
		    "label: 1 to 63 lowercase letters, digits and '-', starting "
		    "and ending with a letter or digit)", o.namespace);
		return EXIT_USAGE;
	}
	if (flower_url(o.flower_url, flower_flag, o.flower_user, pwfile,
	    &fbase, &fuser, &fpass) == -1)
		return EXIT_USAGE;
	o.flower_url = fbase;
	if (fuser != NULL)
		o.flower_user = fuser;
	cl->cmd = cmd;
	cl->args.argc = argc - optind;
	cl->args.argv = argv + optind;
	cl->args.selector = o.selector;
	/* the command-specific options have no DRAIN_* variable */
	cl->args.given = (selector_flag ? CMD_O_SELECTOR : 0) |
	    (o.queues != NULL ? CMD_O_QUEUES : 0) |
	    (o.hold_reason != NULL ? CMD_O_REASON : 0) |
	    (o.hold_until != NULL ? CMD_O_UNTIL : 0) |
	    (o.ignore_hold ? CMD_O_IGNORE_HOLD : 0);
	cl->pwfile = pwfile;
	cl->rpwfile = rpwfile;
	cl->notify_file = notify_file;
	cl->fbase = fbase;
	cl->fuser = fuser;
	cl->fpass = fpass;
	*out = o;
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
		usage(stderr);
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
secrets_read(struct cmdline *cl, struct opts *o)
{
	if (cl->pwfile != NULL && (o->flower_password =
	    read_secret(cl->pwfile, "Flower password")) == NULL)
		return -1;
	if (cl->rpwfile != NULL && (o->redis_password =
	    read_secret(cl->rpwfile, "Redis password")) == NULL)
		return -1;
	if (cl->notify_file != NULL && (o->notify_url =
	    read_secret(cl->notify_file, "notification URL")) == NULL)
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

int
main(int argc, char **argv)
{
	struct opts	 o;
	struct cmdline	 cl;
	struct ev_loop	*loop;
	struct rlimit	 nocore = { 0, 0 };
	int		 rc;

	signal(SIGPIPE, SIG_IGN);
	/* the process holds tokens and passwords: no core dump, no ptrace */
	setrlimit(RLIMIT_CORE, &nocore);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	log_init(LOG_INFO, !isatty(STDERR_FILENO));
	if ((rc = parse(argc, argv, &o, &cl)) != -1)
		return rc;
	if (check(&cl, &o) == -1 || secrets_read(&cl, &o) == -1) {
		secrets_free(&cl, &o);
		return EXIT_USAGE;
	}
	loop = ev_default_loop(EVFLAG_AUTO);
	rc = cl.cmd->exec(loop, &o, (int)cl.targets.n, cl.targets.v);
	secrets_free(&cl, &o);
	ev_loop_destroy(loop);
	return rc;
}
