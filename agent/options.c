/* options.c -- the option table and what derives from it; see include/options.h. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"
#include "keys.h"
#include "options.h"
#include "util.h"
#include "window.h"

#define V(f)	offsetof(struct optvals, f)
#define O(f)	offsetof(struct optvals, o.f)

/* One row per option; the order is --help's. */
const struct opt_def opt_table[] = {
	{ "flower-url", 0, "DRAIN_FLOWER_URL", OPT_STRING, O(flower_url),
	  "http://127.0.0.1:5555", NULL, 0, "URL", "Flower API",
	  OPT_SEC_CONNECT },
	{ "flower-user", 0, "DRAIN_FLOWER_USER", OPT_STRING, O(flower_user),
	  NULL, NULL, 0, "USER", "Flower basic-auth user", OPT_SEC_CONNECT },
	{ "flower-password-file", 0, "DRAIN_FLOWER_PASSWORD_FILE", OPT_STRING,
	  V(flower_pwfile), NULL, NULL, 0, "F", "file holding its password",
	  OPT_SEC_CONNECT },
	{ "redis-url", 0, "DRAIN_REDIS_URL", OPT_STRING, O(redis_url),
	  "redis://127.0.0.1:6379/0", NULL, 0, "URL",
	  "Celery broker, redis://host:port/db, or sentinel://h1:26379;"
	  "sentinel://h2:26379", OPT_SEC_CONNECT },
	{ "sentinel-master", 0, "DRAIN_SENTINEL_MASTER", OPT_STRING,
	  O(sentinel_master), NULL, NULL, 0, "NAME", "the master's name "
	  "in Sentinel (Celery's master_name), with sentinel://",
	  OPT_SEC_CONNECT },
	{ "redis-password-file", 0, "DRAIN_REDIS_PASSWORD_FILE", OPT_STRING,
	  V(redis_pwfile), NULL, NULL, 0, "F",
	  "file holding the Redis password", OPT_SEC_CONNECT },
	{ "kubeconfig", 0, NULL, OPT_STRING, O(kubeconfig), NULL, NULL, 0,
	  "PATH", "else $KUBECONFIG, ~/.kube/config, or in-cluster",
	  OPT_SEC_CONNECT },
	{ "context", 0, "DRAIN_CONTEXT", OPT_STRING, O(context), NULL, NULL, 0,
	  "NAME", "kubeconfig context; else its current-context",
	  OPT_SEC_CONNECT },
	{ "namespace", 'n', "DRAIN_NAMESPACE", OPT_STRING, O(namespace), NULL,
	  NULL, 0, "NS", "namespace; else the context's", OPT_SEC_CONNECT },
	{ "insecure-skip-tls-verify", 0, NULL, OPT_BOOL, O(insecure), NULL,
	  NULL, 0, NULL, "do not verify the API server's certificate",
	  OPT_SEC_CONNECT },
	{ "control", 0, "DRAIN_CONTROL", OPT_CHOICE, O(control), "auto",
	  "auto|flower|broker", 0, "auto|flower|broker", "how to reach "
	  "workers (auto: Flower, or remote control on the broker if down)",
	  OPT_SEC_CONNECT },
	{ "broker-key-prefix", 0, "DRAIN_BROKER_KEY_PREFIX", OPT_STRING,
	  O(key_prefix), NULL, NULL, 0, "P", "Celery's "
	  "broker_transport_options global_keyprefix; none by default",
	  OPT_SEC_CONNECT },
	{ "priority-steps", 0, "DRAIN_PRIORITY_STEPS", OPT_STEPS,
	  O(priority_steps), NULL, NULL, 0, "0,3,6,9",
	  "its priority_steps; 0,3,6,9 by default", OPT_SEC_CONNECT },
	{ "config", 0, "DRAIN_CONFIG", OPT_STRING, V(config), NULL, NULL, 0,
	  "FILE", "KEY=VALUE file of DRAIN_* settings", OPT_SEC_CONNECT },
	{ NULL, 0, "KUBECONFIG", OPT_EXPORT, 0, NULL, NULL, 0, NULL, NULL,
	  OPT_SEC_NONE },
	{ NULL, 0, "DRAIN_SERVICEACCOUNT_DIR", OPT_EXPORT, 0, NULL, NULL, 0,
	  NULL, NULL, OPT_SEC_NONE },

	{ "selector", 'l', "DRAIN_SELECTOR", OPT_STRING, O(selector), NULL,
	  NULL, CMD_O_SELECTOR, "K=V",
	  "drain every deployment with these labels", OPT_SEC_DRAIN },
	{ "max-parallel", 0, "DRAIN_MAX_PARALLEL", OPT_COUNT, O(max_parallel),
	  "4", NULL, 0, "N", "deployments in flight at once", OPT_SEC_DRAIN },
	{ "window", 0, "DRAIN_WINDOW", OPT_WINDOW, O(window), NULL, NULL, 0,
	  "[DAYS ]HH:MM-HH:MM", "start deployments only inside this local "
	  "time window (Mon-Fri 01:00-05:00); a run started finishes",
	  OPT_SEC_DRAIN },
	{ "drain-timeout", 0, "DRAIN_DRAIN_TIMEOUT", OPT_DURATION,
	  O(drain_timeout), "30m", NULL, 0, "D",
	  "give up draining after D, restoring consumers", OPT_SEC_DRAIN },
	{ "on-timeout", 0, "DRAIN_ON_TIMEOUT", OPT_CHOICE, O(force), "abort",
	  "abort|force", 0, "abort|force",
	  "at the drain timeout: restore, or restart anyway", OPT_SEC_DRAIN },
	{ "rollout-timeout", 0, "DRAIN_ROLLOUT_TIMEOUT", OPT_DURATION,
	  O(rollout_timeout), NULL, NULL, 0, "D", "wait for the rollout; "
	  "progressDeadlineSeconds + grace + 30s by default", OPT_SEC_DRAIN },
	{ "verify-timeout", 0, "DRAIN_VERIFY_TIMEOUT", OPT_DURATION,
	  O(verify_timeout), "2m", NULL, 0, "D", "wait for the new worker",
	  OPT_SEC_DRAIN },
	{ "request-timeout", 0, "DRAIN_REQUEST_TIMEOUT", OPT_DURATION,
	  O(request_timeout), "10s", NULL, 0, "D",
	  "each HTTP request and Redis command", OPT_SEC_DRAIN },
	{ "poll-interval", 0, "DRAIN_POLL_INTERVAL", OPT_DURATION,
	  O(poll_interval), "2s", NULL, 0, "D",
	  "polling period without events", OPT_SEC_DRAIN },
	{ "no-events", 0, "DRAIN_NO_EVENTS", OPT_BOOL, O(no_events), NULL,
	  NULL, 0, NULL, "poll Flower instead of following Celery events",
	  OPT_SEC_DRAIN },
	{ "lease-ttl", 0, "DRAIN_LEASE_TTL", OPT_DURATION, O(lease_ttl), "30s",
	  NULL, 0, "D", "lease time-to-live, renewed while running",
	  OPT_SEC_DRAIN },
	{ "dry-run", 0, NULL, OPT_BOOL, O(dry_run), NULL, NULL, 0, NULL,
	  "print the plan, change nothing", OPT_SEC_DRAIN },
	{ "drain-only", 0, NULL, OPT_BOOL, O(drain_only), NULL, NULL, 0, NULL,
	  "drain and stop: no restart (undo with --undrain)", OPT_SEC_DRAIN },
	{ "handover", 0, "DRAIN_HANDOVER", OPT_BOOL, O(handover), NULL, NULL,
	  0, NULL, "start the new workers before the old ones stop: no "
	  "queue downtime, up to 2x the pods meanwhile; Deployments only",
	  OPT_SEC_DRAIN },
	{ "only-stale", 0, "DRAIN_ONLY_STALE", OPT_BOOL, O(only_stale), NULL,
	  NULL, 0, NULL, "drain and restart only what runs another image than "
	  "its reference now names (an ImageStreamTag, a digest); the rest "
	  "is reported up to date", OPT_SEC_DRAIN },
	{ "stale-unknown", 0, "DRAIN_STALE_UNKNOWN", OPT_CHOICE,
	  O(stale_unknown_roll), "skip", "skip|roll", 0, "skip|roll",
	  "with --only-stale: what to do when the current image cannot be "
	  "told", OPT_SEC_DRAIN },
	{ "pause-triggers", 0, "DRAIN_PAUSE_TRIGGERS", OPT_BOOL,
	  O(pause_triggers), NULL, NULL, 0, NULL, "pause the OpenShift image "
	  "triggers that would roll a Deployment without a drain",
	  OPT_SEC_DRAIN },
	{ "queues", 0, NULL, OPT_STRING, O(queues), NULL, NULL, CMD_O_QUEUES,
	  "Q1,Q2", "with --undrain: the queues, if no journal has them",
	  OPT_SEC_DRAIN },
	{ "ignore-hold", 0, NULL, OPT_BOOL, O(ignore_hold), NULL, NULL,
	  CMD_O_IGNORE_HOLD, NULL, "drain the deployments named even if held",
	  OPT_SEC_DRAIN },

	{ "reason", 0, NULL, OPT_STRING, O(hold_reason), NULL, NULL,
	  CMD_O_REASON, "TEXT", "with --hold: why (required)", OPT_SEC_HOLD },
	{ "until", 0, NULL, OPT_STRING, O(hold_until), NULL, NULL, CMD_O_UNTIL,
	  "D|TIME", "with --hold: for a duration (8h) or until an RFC 3339 "
	  "time; else until --release", OPT_SEC_HOLD },

	{ "output", 'o', "DRAIN_OUTPUT", OPT_CHOICE, O(json), "text",
	  "text|json", 0, "text|json", "final report format", OPT_SEC_OUTPUT },
	{ "watch", 'w', NULL, OPT_BOOL, O(watch), NULL, NULL, CMD_O_WATCH,
	  NULL, "with --status: follow the runs in flight (state, time, what "
	  "each waits for), refreshed every 2s, until none is", OPT_SEC_OUTPUT },
	{ "metrics-file", 0, "DRAIN_METRICS_FILE", OPT_STRING, O(metrics_file),
	  NULL, NULL, 0, "PATH",
	  "Prometheus textfile metrics, written atomically", OPT_SEC_OUTPUT },
	{ "notify-url-file", 0, "DRAIN_NOTIFY_URL_FILE", OPT_STRING,
	  V(notify_file), NULL, NULL, 0, "F", "file holding a webhook URL "
	  "({\"text\": ...} is posted on failure)", OPT_SEC_OUTPUT },
	{ "notify-on-success", 0, "DRAIN_NOTIFY_ON_SUCCESS", OPT_BOOL,
	  O(notify_on_success), NULL, NULL, 0, NULL, "also notify on success",
	  OPT_SEC_OUTPUT },
	{ "quiet", 'q', NULL, OPT_BOOL, V(quiet), NULL, NULL, 0, NULL,
	  "errors only", OPT_SEC_OUTPUT },
	{ "verbose", 'v', NULL, OPT_BOOL, V(verbose), NULL, NULL, 0, NULL,
	  "debug messages too", OPT_SEC_OUTPUT },
	{ "help", 'h', NULL, OPT_ACTION, V(action), NULL, NULL, 0, NULL,
	  "this help", OPT_SEC_OUTPUT },
	{ "version", 0, NULL, OPT_ACTION, V(action), NULL, NULL, 0, NULL,
	  "the version", OPT_SEC_OUTPUT },
	{ "completion", 0, NULL, OPT_ACTION, V(action), NULL, "bash|zsh", 0,
	  "bash|zsh", "print a completion script: source <(drain-and-rollout "
	  "--completion bash)", OPT_SEC_OUTPUT },

	/* the commands: in the usage lines (cmd_table), not in the options */
	{ "status", 0, NULL, OPT_COMMAND, V(command), NULL, NULL, 0, NULL,
	  NULL, OPT_SEC_NONE },
	{ "recover", 0, NULL, OPT_COMMAND, V(command), NULL, NULL, 0, NULL,
	  NULL, OPT_SEC_NONE },
	{ "undrain", 0, NULL, OPT_COMMAND, V(command), NULL, NULL, 0, NULL,
	  NULL, OPT_SEC_NONE },
	{ "hold", 0, NULL, OPT_COMMAND, V(command), NULL, NULL, 0, NULL,
	  NULL, OPT_SEC_NONE },
	{ "release", 0, NULL, OPT_COMMAND, V(command), NULL, NULL, 0, NULL,
	  NULL, OPT_SEC_NONE },
	{ "complete-deployments", 0, NULL, OPT_COMMAND, V(command), NULL, NULL,
	  0, NULL, NULL, OPT_SEC_NONE },
};
const size_t opt_count = sizeof opt_table / sizeof opt_table[0];

_Static_assert(sizeof opt_table / sizeof opt_table[0] <= OPT_MAX,
    "OPT_MAX is too small for opt_table");

static const char *const sections[] = {
	"Connections:",
	"Drain:",
	"Holds (a held deployment is skipped by -l and refused when named):",
	"Output:",
};

/* The row whose name (var 0) or variable (var 1) is k; NULL: none. */
static const struct opt_def *
find(const char *k, int var)
{
	const char	*n;
	size_t		 i;

	for (i = 0; i < opt_count; i++)
		if ((n = var ? opt_table[i].var : opt_table[i].name) != NULL &&
		    strcmp(n, k) == 0)
			return &opt_table[i];
	return NULL;
}

const struct opt_def *
opt_by_name(const char *name)
{
	return find(name, 0);
}

const struct opt_def *
opt_by_var(const char *var)
{
	return find(var, 1);
}

const char *
opt_closest(const char *word, int vars)
{
	const char	*best = NULL, *k;
	size_t		 i, d, bestd = (size_t)-1, len, max;

	if (!vars && strncmp(word, "--", 2) == 0)
		word += 2;
	len = strlen(word);
	max = len <= 4 ? 1 : len <= 10 ? 2 : 3;
	for (i = 0; i < opt_count; i++) {
		k = vars ? opt_table[i].var : opt_table[i].name;
		if (k == NULL)
			continue;
		d = edit_distance(word, k);
		if (d < bestd) {
			bestd = d;
			best = k;
		}
	}
	return bestd <= max ? best : NULL;
}

void
opt_defaults(struct optvals *v)
{
	size_t	i;
	char	err[256];

	memset(v, 0, sizeof *v);
	for (i = 0; i < opt_count; i++)
		if (opt_table[i].dflt != NULL)
			opt_set(v, &opt_table[i], opt_table[i].dflt,
			    OPT_SRC_DEFAULT, "default", err, sizeof err);
	v->o.progress_interval = 10;
}

/* "abort|force" -> "abort or force"; "a|b|c" -> "a, b or c". */
static void
choices_text(const char *choices, char *buf, size_t len)
{
	const char	*p = choices, *bar;
	size_t		 o = 0;

	buf[0] = '\0';
	while (*p != '\0' && o < len) {
		bar = strchr(p, '|');
		o += snprintf(buf + o, len - o, "%s%.*s", p == choices ? "" :
		    strchr(p, '|') == NULL ? " or " : ", ",
		    (int)(bar ? (size_t)(bar - p) : strlen(p)), p);
		p = bar ? bar + 1 : p + strlen(p);
	}
}

static int
choice_index(const char *choices, const char *value)
{
	size_t	n = strlen(value), k;
	int	i = 0;

	for (;;) {
		k = strcspn(choices, "|");
		if (k == n && strncmp(choices, value, n) == 0)
			return i;
		if (choices[k] == '\0')
			return -1;
		choices += k + 1;
		i++;
	}
}

/* Every duration option: at least 1s (a lease renewed every third of it,
 * a refresh that may take Flower's 1s inspect timeout). */
#define DURATION_MIN	1.0

static int
set_duration(double *field, const char *value, const char *what, char *err,
    size_t errlen)
{
	double	d;
	char	m[32];

	if (duration_parse(value, &d) == 0) {
		if (d < DURATION_MIN)
			return errf(err, errlen, "%s: %s is too short: at least "
			    "%s", what, value, duration_fmt(DURATION_MIN, m,
			    sizeof m));
		*field = d;
		return 0;
	}
	if (*value != '\0' && strspn(value, "0123456789.") == strlen(value))
		return errf(err, errlen, "%s: \"%s\" has no unit: say %ss or "
		    "%sm (durations: 90s, 30m, 1h, 1h30m)", what, value, value,
		    value);
	return errf(err, errlen, "%s: invalid duration \"%s\" (use e.g. 90s, "
	    "30m, 1h, 1h30m; at most 30 days)", what, value);
}

static int
set_bool(int *field, const char *value, enum opt_src src, const char *what,
    char *err, size_t errlen)
{
	if (src == OPT_SRC_FLAG || strcmp(value, "1") == 0 ||
	    strcasecmp(value, "true") == 0 || strcasecmp(value, "yes") == 0)
		*field = 1;
	else if (strcmp(value, "0") == 0 || strcasecmp(value, "false") == 0 ||
	    strcasecmp(value, "no") == 0)
		*field = 0;
	else
		return errf(err, errlen, "%s: expected 1 or 0 (true or false, "
		    "yes or no), not \"%s\"", what, value);
	return 0;
}

int
opt_set(struct optvals *v, const struct opt_def *d, const char *value,
    enum opt_src src, const char *what, char *err, size_t errlen)
{
	void	*f = (char *)v + d->off;
	char	 buf[400], *end;
	long	 n;
	int	 i;

	v->src[d - opt_table] = src;
	switch (d->kind) {
	case OPT_BOOL:
		return set_bool(f, value, src, what, err, errlen);
	case OPT_STRING:
		*(const char **)f = value;
		return 0;
	case OPT_DURATION:
		return set_duration(f, value, what, err, errlen);
	case OPT_COUNT:
		n = strtol(value, &end, 10);
		if (*value == '\0' || *end != '\0' || n < 1 || n > 1000)
			return errf(err, errlen, "%s: expected a number from 1 "
			    "to 1000, not \"%s\"", what, value);
		*(int *)f = (int)n;
		return 0;
	case OPT_CHOICE:
		if ((i = choice_index(d->choices, value)) == -1) {
			choices_text(d->choices, buf, sizeof buf);
			return errf(err, errlen, "%s: expected %s, not \"%s\"",
			    what, buf, value);
		}
		*(int *)f = i;
		return 0;
	case OPT_STEPS:
		if (keys_parse_steps(value, f, buf, sizeof buf) == -1)
			return errf(err, errlen, "%s: \"%s\": %s (expected "
			    "kombu's priority_steps, e.g. 0,3,6,9)", what, value,
			    buf);
		return 0;
	case OPT_COMMAND:
		if (v->command != NULL && strcmp(v->command + 2, d->name) != 0)
			return errf(err, errlen, "%s and --%s exclude each other",
			    v->command, d->name);
		v->command = cmd_find(d->name) != NULL ?
		    cmd_find(d->name)->name : NULL;
		return 0;
	case OPT_WINDOW:
		if (window_parse(value, f, buf, sizeof buf) == -1)
			return errf(err, errlen, "%s: %s", what, buf);
		return 0;
	case OPT_ACTION:
		if (d->choices != NULL) {
			if (choice_index(d->choices, value) == -1) {
				choices_text(d->choices, buf, sizeof buf);
				return errf(err, errlen, "%s: expected %s, not "
				    "\"%s\"", what, buf, value);
			}
			v->action = 'c';
			v->action_arg = value;
			return 0;
		}
		v->action = d->short_name ? d->short_name : 'V';
		return 0;
	case OPT_EXPORT:
		return 0;
	}
	return errf(err, errlen, "%s: unknown kind of option", what);
}

int
opt_config_line(char *line, char **key, char **value, char *err,
    size_t errlen)
{
	char	*k, *v, *e;

	for (k = line; isspace((unsigned char)*k); k++)
		;
	if (*k == '#' || *k == ';' || *k == '\0')
		return 1;
	chomp(k);
	if ((v = strchr(k, '=')) == NULL)
		return errf(err, errlen, "expected KEY=VALUE");
	*v++ = '\0';
	chomp(k);
	while (isspace((unsigned char)*v))
		v++;
	e = v + strlen(v);
	if (e - v >= 2 && (*v == '"' || *v == '\'') && e[-1] == *v) {
		e[-1] = '\0';
		v++;
	}
	if (*k == '\0')
		return errf(err, errlen, "expected KEY=VALUE: the key is "
		    "missing");	/* the value may be a secret: not shown */
	*key = k;
	*value = v;
	return 0;
}

/* Set the file's value of row d (a copy, kept in v->file_vals). */
static int
file_value(struct optvals *v, const struct opt_def *d, const char *value,
    const char *what, char *err, size_t errlen)
{
	size_t	r = (size_t)(d - opt_table);

	if (v->file_vals[r] != NULL) {		/* a later line wins */
		explicit_bzero(v->file_vals[r], strlen(v->file_vals[r]));
		free(v->file_vals[r]);
		v->file_vals[r] = NULL;
	}
	if (*value == '\0')			/* empty: not set */
		return 0;
	v->file_vals[r] = xstrdup(value);
	return opt_set(v, d, v->file_vals[r], OPT_SRC_FILE, what, err, errlen);
}

int
opt_config_text(struct optvals *v, const char *path, char *text, char *err,
    size_t errlen)
{
	const struct opt_def	*d;
	const char		*near;
	char			*line, *next, *k, *val, e[256], what[512];
	int			 n = 0, rc;

	for (line = text; line != NULL; line = next) {
		n++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((rc = opt_config_line(line, &k, &val, e, sizeof e)) == 1)
			continue;
		if (rc == -1)
			return errf(err, errlen, "%s:%d: %s", path, n, e);
		if ((d = opt_by_var(k)) == NULL) {
			near = opt_closest(k, 1);
			return errf(err, errlen, "%s:%d: unknown key %.100s "
			    "(%s%s%s)", path, n, k, near ? "did you mean " :
			    "the keys are the variables in drain-and-rollout(1), "
			    "ENVIRONMENT", near ? near : "", near ? "?" : "");
		}
		snprintf(what, sizeof what, "%s:%d: %s", path, n, k);
		if (file_value(v, d, val, what, err, errlen) == -1)
			return -1;
	}
	return 0;
}

int
opt_environ(struct optvals *v, char *const *environ, char *err, size_t errlen)
{
	const struct opt_def	*d;
	size_t			 i, k;

	for (i = 0; environ[i] != NULL; i++) {
		k = strcspn(environ[i], "=");
		if (strncmp(environ[i], "DRAIN_", 6) != 0 ||
		    environ[i][k] != '=' || environ[i][k + 1] == '\0')
			continue;
		for (d = opt_table; d < opt_table + opt_count; d++)
			if (d->var != NULL && d->kind != OPT_EXPORT &&
			    strncmp(d->var, environ[i], k) == 0 &&
			    d->var[k] == '\0')
				break;
		if (d == opt_table + opt_count)
			continue;	/* not ours: DRAIN_ is a common word */
		if (opt_set(v, d, environ[i] + k + 1, OPT_SRC_ENV, d->var, err,
		    errlen) == -1)
			return -1;
	}
	return 0;
}

/* The name of row d as written on the command line. */
static void
flag_name(const struct opt_def *d, char *buf, size_t len)
{
	snprintf(buf, len, "--%s", d->name);
}

/* An option getopt refused: unknown (with the closest), or its value missing. */
static int
argv_error(int ch, const char *arg, char *err, size_t errlen)
{
	char		 word[128];
	const char	*near;

	if (ch == ':')
		return errf(err, errlen, "option %s needs a value; see --help",
		    arg);
	if (strncmp(arg, "--", 2) != 0)
		return errf(err, errlen, "unknown option %.100s; see --help",
		    arg);
	snprintf(word, sizeof word, "%.*s", (int)strcspn(arg, "="), arg);
	near = opt_closest(word, 0);
	if (opt_by_name(word + 2) == NULL && near != NULL)
		return errf(err, errlen, "unknown option %s (did you mean "
		    "--%s?)", word, near);
	return errf(err, errlen, "unknown or ambiguous option %s; see --help",
	    word);
}

int
opt_argv(struct optvals *v, int argc, char **argv, int *optind_out,
    char *err, size_t errlen)
{
	struct option		 lo[OPT_MAX + 1];
	char			 so[2 * OPT_MAX + 2] = ":", name[64], bad[64];
	const struct opt_def	*d;
	size_t			 i, n = 0, s = 1;
	int			 ch;

	for (i = 0; i < opt_count; i++) {
		d = &opt_table[i];
		if (d->name == NULL)
			continue;
		lo[n++] = (struct option){ d->name, d->arg ? required_argument :
		    no_argument, NULL, 256 + (int)i };
		if (d->short_name) {
			so[s++] = (char)d->short_name;
			if (d->arg)
				so[s++] = ':';
		}
	}
	so[s] = '\0';
	memset(&lo[n], 0, sizeof lo[n]);
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		if (ch == '?' && optopt >= 256) {
			flag_name(&opt_table[optopt - 256], bad, sizeof bad);
			return errf(err, errlen, "option %s takes no value",
			    bad);
		}
		if (ch == '?' || ch == ':') {
			if (optopt >= 256)
				flag_name(&opt_table[optopt - 256], bad,
				    sizeof bad);
			else if (optopt != 0)
				snprintf(bad, sizeof bad, "-%c", optopt);
			else
				snprintf(bad, sizeof bad, "%.60s",
				    argv[optind - 1]);
			return argv_error(ch, bad, err, errlen);
		}
		for (i = 0; ch < 256 && i < opt_count; i++)
			if (opt_table[i].short_name == ch)
				break;
		d = &opt_table[ch < 256 ? i : (size_t)ch - 256];
		if (ch < 256 && optarg != NULL && *optarg == '=')
			return errf(err, errlen, "-%c%s: a short option's value "
			    "follows it without '=': -%c %s", ch, optarg, ch,
			    optarg + 1);
		flag_name(d, name, sizeof name);
		if (opt_set(v, d, optarg, OPT_SRC_FLAG, name, err, errlen) ==
		    -1)
			return -1;
	}
	if (v->quiet && v->verbose)
		return errf(err, errlen, "-q (--quiet) and -v (--verbose) "
		    "exclude each other");
	*optind_out = optind;
	return 0;
}

int
opt_argv_json(int argc, char **argv, int dflt)
{
	const char	*val;
	int		 i, json = dflt;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		val = NULL;
		if ((strcmp(argv[i], "-o") == 0 ||
		    strcmp(argv[i], "--output") == 0) && i + 1 < argc)
			val = argv[++i];
		else if (strncmp(argv[i], "--output=", 9) == 0)
			val = argv[i] + 9;
		else if (strncmp(argv[i], "-o", 2) == 0 && argv[i][2] != '\0' &&
		    argv[i][2] != '-')
			val = argv[i] + 2;
		if (val != NULL)
			json = strcmp(val, "json") == 0;
	}
	return json;
}

unsigned
opt_cmd_given(const struct optvals *v)
{
	unsigned	given = 0;
	size_t		i;

	for (i = 0; i < opt_count; i++)
		if (v->src[i] == OPT_SRC_FLAG)
			given |= opt_table[i].cmd_opt;
	return given;
}

enum opt_src
opt_src_of(const struct optvals *v, const char *name)
{
	const struct opt_def	*d = opt_by_name(name);

	return d != NULL ? (enum opt_src)v->src[d - opt_table] :
	    OPT_SRC_DEFAULT;
}

void
opt_free(struct optvals *v)
{
	size_t	i;

	for (i = 0; i < OPT_MAX; i++)
		if (v->file_vals[i] != NULL) {
			explicit_bzero(v->file_vals[i], strlen(v->file_vals[i]));
			free(v->file_vals[i]);
			v->file_vals[i] = NULL;
		}
}

/* text from column col, wrapped at 79 columns, continued at column 29. */
static void
wrapped(FILE *f, int col, const char *text)
{
	const char	*p = text;
	int		 k;

	while (*p != '\0') {
		k = (int)strcspn(p, " ");
		if (p != text && col + 1 + k > 79) {
			fprintf(f, "\n%29s", "");
			col = 29;
		} else if (p != text) {
			fputc(' ', f);
			col++;
		}
		col += fprintf(f, "%.*s", k, p);
		p += k;
		p += strspn(p, " ");
	}
	fputc('\n', f);
}

static void
usage_line(FILE *f, const struct opt_def *d)
{
	char	left[80], text[400];
	int	col;

	snprintf(left, sizeof left, "  %s%s%s--%s%s%s", d->short_name ? "-" :
	    "", d->short_name ? (char[]){ (char)d->short_name, '\0' } : "",
	    d->short_name ? ", " : "", d->name, d->arg ? " " : "",
	    d->arg ? d->arg : "");
	if (d->var != NULL && d->kind == OPT_BOOL)
		snprintf(text, sizeof text, "%s (%s=1)", d->help, d->var);
	else if (d->var != NULL && d->dflt != NULL)
		snprintf(text, sizeof text, "%s (%s; %s)", d->help, d->var,
		    d->dflt);
	else if (d->var != NULL)
		snprintf(text, sizeof text, "%s (%s)", d->help, d->var);
	else
		snprintf(text, sizeof text, "%s", d->help);
	col = fprintf(f, "%s", left);
	col += fprintf(f, "%*s", col < 29 ? 29 - col : 1, "");
	wrapped(f, col, text);
}

void
opt_usage(FILE *f)
{
	const struct cmd_entry *const	*e;
	size_t				 s, i;

	for (e = cmd_table; *e != NULL; e++)
		fprintf(f, "%s drain-and-rollout %s\n", e == cmd_table ?
		    "usage:" : "      ", (*e)->usage);
	fputs("\n"
"Safely restart Celery worker deployments: cancel the workers' consumers,\n"
"wait until their running and prefetched tasks are done, send the rollout\n"
"restart `oc rollout restart` sends, wait for it, and check that the new\n"
"worker consumes its queues. On any failure before the restart the\n"
"consumers are put back. See drain-and-rollout(1).\n", f);
	for (s = 0; s < sizeof sections / sizeof sections[0]; s++) {
		fprintf(f, "\n%s\n", sections[s]);
		for (i = 0; i < opt_count; i++)
			if (opt_table[i].section == (int)s &&
			    opt_table[i].help != NULL)
				usage_line(f, &opt_table[i]);
	}
	fputs("\n"
"Durations need a unit: 90s, 30m, 1h, 1h30m. The flag wins over the\n"
"environment, which wins over the --config file. Exit status: 0 done, 1\n"
"internal error, 2 usage or configuration, 3 failed before changing anything\n"
"(or held), 4 locked by another run, 5 drain aborted (consumers restored, no\n"
"restart), 6 rollout failed, 7 new worker not consuming, 8 interrupted, 9 a\n"
"worker may be left drained: run --recover.\n", f);
}
