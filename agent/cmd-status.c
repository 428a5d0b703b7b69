/*
 * cmd-status.c -- --status [DEPLOYMENT...]: runs in flight or left behind
 * (journal, lease holder), recent history, and for named deployments each
 * worker's queues, running and prefetched tasks and the backlog; and the
 * held Deployments and StatefulSets (hold.h) of the namespace, or of those
 * named.
 */
#include <ev.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "hold.h"
#include "report.h"
#include "journal.h"
#include "lease.h"
#include "run.h"
#include "watch.h"

static int	cmd_status_exec(struct ev_loop *, struct opts *, int, char **);

const struct cmd_entry cmd_status_entry = {
	"--status",
	"--status [-w] [DEPLOYMENT...]",
	{ 0, -1 },
	CMD_O_WATCH,
	0,
	cmd_status_exec,
};

/* What --status prints, on stdout: nothing with -o json (its document). */
static void	say(struct ctx *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
say(struct ctx *c, const char *fmt, ...)
{
	va_list	ap;

	if (c->o->json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

/* An RFC 3339 time of a journal's or history's epoch seconds; NULL: none. */
static json_t *
jtime(const char *epoch)
{
	char	ts[32];

	return epoch != NULL ? json_string(rfc3339(atof(epoch), ts,
	    sizeof ts)) : json_null();
}

static const char *
field(redisReply *h, const char *k)
{
	size_t	i;

	for (i = 0; h != NULL && i + 1 < h->elements; i += 2)
		if (strcmp(h->element[i]->str, k) == 0)
			return h->element[i + 1]->str;
	return NULL;
}

/*
 * Print one deployment's journal and lease (-o json: add it to runs);
 * returns 1 if there is one, 0 if none, -1 if Redis cannot be read (said,
 * with what to do).
 */
static int
st_is(const char *st, const char *want)
{
	return st != NULL && strcmp(st, want) == 0;
}

static int
show_journal(struct ctx *c, const char *dep, json_t *runs)
{
	char		*jk = journal_key(c, dep), *lk = lease_key(c, dep);
	char		 err[300], ts[32], up[32];
	redisReply	*h, *ttl = NULL;
	const char	*st, *since, *upd;
	int		 found = 0;

	h = ctx_redis(c, err, sizeof err, "HGETALL %s", jk);
	if (h != NULL)
		ttl = ctx_redis(c, err, sizeof err, "PTTL %s", lk);
	if (h == NULL) {
		found = -1;
		if (c->o->json)
			log_err("%s: unknown whether a run is in flight: cannot "
			    "read the broker's Redis (%s); see it with --status "
			    "once Redis answers", dep, err);
		say(c, "%s: unknown whether a run is in flight: cannot read the "
		    "broker's Redis (%s); see it with --status once Redis "
		    "answers\n", dep, err);
	} else if (h->elements > 0) {
		int lease = ttl != NULL && ttl->integer > 0;
		int drained = !lease && st_is(field(h, "state"), "drained");
		found = 1;
		st = field(h, "state");
		since = field(h, "started");
		upd = field(h, "updated");
		say(c, "%s: state %s, holder %s, started %s, updated %s, %s\n",
		    dep, st ? st : "?", field(h, "holder") ?
		    field(h, "holder") : "?",
		    since ? rfc3339(atof(since), ts, sizeof ts) : "?",
		    upd ? rfc3339(atof(upd), up, sizeof up) : "?",
		    lease ? "in flight (lease held)" : drained ?
		    "left drained by --drain-only; undo with --undrain" :
		    "INTERRUPTED: no lease; run drain-and-rollout --recover");
		say(c, "%s:   workers and the queues cancelled: %s\n", dep,
		    field(h, "workers") ? field(h, "workers") : "[]");
		if (st_is(field(h, "held"), "1"))
			say(c, "%s:   rollout held: the run paused deployment %s "
			    "while it drains workers of the old template, and "
			    "resumes it after%s\n", dep, dep, lease ? "" :
			    " (interrupted: --recover drains them and resumes "
			    "it)");
		if (runs != NULL) {
			json_t *wk = field(h, "workers") ? json_loads(field(h,
			    "workers"), 0, NULL) : NULL;
			json_array_append_new(runs, json_pack("{s:s,s:s?,s:s?,"
			    "s:o,s:o,s:s,s:o,s:b}", "deployment", dep, "state",
			    st, "holder", field(h, "holder"), "started",
			    jtime(since), "updated", jtime(upd), "condition",
			    lease ? "in-flight" : drained ? "drained" :
			    "interrupted", "workers", wk != NULL ? wk :
			    json_array(), "rollout_held",
			    st_is(field(h, "held"), "1")));
		}
	}
	ctx_redis_free(h);
	ctx_redis_free(ttl);
	free(jk);
	free(lk);
	return found;
}

/* The kinds of workload a hold is set on, listed by --status. */
static const struct held_kind {
	const char	*plural;	/* "deployments": kube_list()'s resource */
	const char	*singular;
	const char	*prefix;	/* of its canonical targets (kube.h) */
} held_kinds[] = {
	{ "deployments", "deployment", "" },
	{ "statefulsets", "statefulset", "statefulset/" },
};

/*
 * Print the held workloads of one kind (all of them, or those named:
 * canonical targets); returns 0, or the exit code of a failure to list
 * them (logged). A kind none of the names is of is not listed.
 */
static int
show_holds_of(struct ctx *c, const struct held_kind *kd, int argc,
    char **argv, json_t *held)
{
	struct cmd_kube	 k = { 0 };
	struct hold	 h;
	json_t		*d;
	size_t		 i;
	int		 j, n = 0, st, sts = *kd->prefix != '\0';
	const char	*name;
	char		*desc, *target;

	for (j = 0; j < argc; j++)
		if (kube_target_split(argv[j], NULL) == sts)
			break;
	if (argc > 0 && j == argc)
		return 0;
	/* last, and bounded by one request: --status is for incidents */
	kube_list(&c->kube, kd->plural, NULL, ev_now(c->loop) +
	    c->o->request_timeout, cmd_kube_cb, &k);
	if (cmd_kube_wait(c, &k) == -1) {
		log_err("cannot list the %s to show their holds: %s",
		    kd->plural, k.err);
		return fsm_exit_code(OUT_PREFLIGHT);
	}
	json_array_foreach(json_object_get(k.obj, "items"), i, d) {
		name = json_string_value(json_object_get(json_object_get(d,
		    "metadata"), "name"));
		if (name == NULL)
			continue;
		target = xasprintf("%s%s", kd->prefix, name);
		for (j = 0; j < argc; j++)
			if (strcmp(argv[j], target) == 0)
				break;
		if ((argc > 0 && j == argc) ||
		    (st = hold_of(d, now_wall(), &h)) == HOLD_NONE) {
			free(target);
			continue;
		}
		if (n++ == 0)
			say(c, "held %s:\n", kd->plural);
		desc = hold_describe(&h);
		say(c, "  %-24s %s%s\n", target, st == HOLD_EXPIRED ?
		    "EXPIRED, no hold: " : "", desc);
		json_array_append_new(held, json_pack("{s:s,s:s,s:o}",
		    "target", target, "kind", kd->singular, "hold",
		    hold_json(&h, st)));
		free(desc);
		free(target);
		hold_free(&h);
	}
	if (n == 0 && argc > 0)
		say(c, "none of the %s named is held\n", kd->plural);
	else if (n == 0)
		say(c, "no %s held in namespace %s\n", kd->singular,
		    c->kube.ns);
	json_decref(k.obj);
	return 0;
}

/*
 * Print the held Deployments and StatefulSets (all, or those named);
 * returns 0, or the exit code of the first failure to list them (logged).
 */
static int
show_holds(struct ctx *c, int argc, char **argv)
{
	size_t	 i;
	int	 rc = 0;
	json_t	*held = json_array();

	for (i = 0; i < sizeof held_kinds / sizeof held_kinds[0] && rc == 0;
	    i++)
		rc = show_holds_of(c, &held_kinds[i], argc, argv, held);
	report_json_set("held", rc == 0 ? held : json_null());
	if (rc != 0)
		json_decref(held);
	return rc;
}

/* The last runs (the history stream), printed, or as "history". */
static void
show_history(struct ctx *c)
{
	char		 err[1024], ts[32];
	redisReply	*hist;
	json_t		*list = json_array();
	size_t		 i, j;

	hist = ctx_redis(c, err, sizeof err,
	    "XREVRANGE drain-and-rollout:history + - COUNT 10");
	if (hist != NULL && hist->elements > 0)
		say(c, "recent runs:\n");
	for (i = 0; hist != NULL && i < hist->elements; i++) {
		redisReply *f = hist->element[i]->element[1];
		const char *dep = "?", *out = "?", *st = NULL;
		const char *sec = "?", *e = "-";
		for (j = 0; j + 1 < f->elements; j += 2) {
			const char *k = f->element[j]->str;
			const char *v = f->element[j + 1]->str;
			if (strcmp(k, "deployment") == 0)
				dep = v;
			else if (strcmp(k, "outcome") == 0)
				out = v;
			else if (strcmp(k, "started") == 0)
				st = v;
			else if (strcmp(k, "seconds") == 0)
				sec = v;
			else if (strcmp(k, "error") == 0)
				e = v;
		}
		say(c, "  %s %-24s %-16s %6.0fs %s\n",
		    st ? rfc3339(atof(st), ts, sizeof ts) : "?", dep, out,
		    atof(sec), strcmp(e, "-") ? e : "");
		json_array_append_new(list, json_pack("{s:s,s:s,s:o,s:f,s:s?}",
		    "deployment", dep, "outcome", out, "started", jtime(st),
		    "seconds", seconds_ms(atof(sec)), "error", strcmp(e, "-") ?
		    e : NULL));
	}
	ctx_redis_free(hist);
	report_json_set("history", list);
}

static int
cmd_status_exec(struct ev_loop *loop, struct opts *o, int argc, char **argv)
{
	struct ctx	 c;
	char		 err[1024];
	struct strv	 deps = { 0 };
	json_t		*runs = o->json ? json_array() : NULL;
	size_t		 i;
	int		 n = 0, held, rc;

	if (o->watch && o->json) {
		log_err("--watch prints lines as the runs change; for JSON, run "
		    "--status -o json (without --watch)");
		json_decref(runs);
		return EXIT_USAGE;
	}
	if (cmd_ctx(&c, loop, o) == -1) {
		json_decref(runs);
		return EXIT_USAGE;
	}
	if (o->watch)
		return watch_status(&c, argc, argv);
	if (argc == 0) {
		if (ctx_journals(&c, &deps, err, sizeof err) == -1) {
			log_err("cannot list the journals: %s", err);
			ctx_free(&c);
			json_decref(runs);
			return fsm_exit_code(OUT_PREFLIGHT);
		}
		for (i = 0; i < deps.n && (held = show_journal(&c,
		    deps.v[i], runs)) >= 0; i++)
			n += held;
		held = i < deps.n;	/* Redis stopped answering */
		strv_free(&deps);
		report_json_set("runs", runs);
		if (held) {
			ctx_free(&c);
			return fsm_exit_code(OUT_PREFLIGHT);
		}
		if (n == 0)
			say(&c, "no run in flight or interrupted in namespace "
			    "%s\n", c.kube.ns);
		show_history(&c);
		held = show_holds(&c, argc, argv);
		ctx_free(&c);
		return held;
	}
	for (i = 0; i < (size_t)argc && n >= 0; i++)
		if ((n = show_journal(&c, argv[i], runs)) == 0)
			say(&c, "%s: no run in flight\n", argv[i]);
	report_json_set("runs", runs);
	held = show_holds(&c, argc, argv);
	if (n < 0) {
		/* Redis down: each look at a worker would wait for it again */
		ctx_free(&c);
		return fsm_exit_code(OUT_PREFLIGHT);
	}
	for (i = 0; i < (size_t)argc; i++)
		ctx_add(&c, argv[i], 0, RUN_STATUS);
	fflush(stdout);
	rc = cmd_run(&c);
	return rc != EXIT_OK ? rc : held;
}
