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
static void	cmd_status_free(void);

const struct cmd_entry cmd_status_entry = {
	"--status",
	"--status [-w] [DEPLOYMENT...]",
	{ 0, -1 },
	CMD_O_WATCH,
	0,
	cmd_status_exec,
	cmd_status_free,
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

static int
st_is(const char *st, const char *want)
{
	return st != NULL && strcmp(st, want) == 0;
}

/*
 * The command, step by step: the journals (all of them, or of those
 * named), the history (without names), the holds, then (with names) each
 * worker, as runs that change nothing.
 */
static struct {
	struct ctx	  c;
	int		  argc;		/* the deployments named; 0: none */
	char		**argv;
	struct strv	  deps;		/* the journals to show */
	size_t		  next;		/* the next of them */
	int		  found;	/* journals found */
	int		  unread;	/* one could not be read: Redis is down */
	json_t		 *runs;		/* -o json: "runs"; NULL otherwise */
	redisReply	 *journal;	/* read, while its lease is */
	json_t		 *held;		/* "held" */
	size_t		  kind;		/* the next of held_kinds */
	int		  holds_rc;	/* 0, or the holds' failure's exit code */
} status;

static void	journals_next(struct ctx *);
static void	holds_next(struct ctx *);

/*
 * Print one deployment's journal (h; NULL: Redis cannot be read, err
 * says why) and lease (ttl; NULL: unknown), -o json: add it to runs;
 * returns 1 if there is one, 0 if none, -1 if Redis cannot be read (said,
 * with what to do).
 */
static int
print_journal(struct ctx *c, const char *dep, redisReply *h, redisReply *ttl,
    const char *err, json_t *runs)
{
	char		 ts[32], up[32];
	const char	*st, *since, *upd;
	int		 found = 0;

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
 * Print the held workloads of one kind in list (all of them, or those
 * named: canonical targets), and add them to held.
 */
static void
print_holds(struct ctx *c, const struct held_kind *kd, json_t *list,
    int argc, char **argv, json_t *held)
{
	struct hold	 h;
	json_t		*d;
	size_t		 i;
	int		 j, n = 0, hs;
	const char	*name;
	char		*desc, *target;

	json_array_foreach(json_object_get(list, "items"), i, d) {
		name = json_string_value(json_object_get(json_object_get(d,
		    "metadata"), "name"));
		if (name == NULL)
			continue;
		target = xasprintf("%s%s", kd->prefix, name);
		for (j = 0; j < argc; j++)
			if (strcmp(argv[j], target) == 0)
				break;
		if ((argc > 0 && j == argc) ||
		    (hs = hold_of(d, now_wall(), &h)) == HOLD_NONE) {
			free(target);
			continue;
		}
		if (n++ == 0)
			say(c, "held %s:\n", kd->plural);
		desc = hold_describe(&h);
		say(c, "  %-24s %s%s\n", target, hs == HOLD_EXPIRED ?
		    "EXPIRED, no hold: " : "", desc);
		json_array_append_new(held, json_pack("{s:s,s:s,s:o}",
		    "target", target, "kind", kd->singular, "hold",
		    hold_json(&h, hs)));
		free(desc);
		free(target);
		hold_free(&h);
	}
	if (n == 0 && argc > 0)
		say(c, "none of the %s named is held\n", kd->plural);
	else if (n == 0)
		say(c, "no %s held in namespace %s\n", kd->singular,
		    c->kube.ns);
}

/* ---- the steps -------------------------------------------------------- */

/* The runs (with names) ended: the exit code, theirs first. */
static void
workers_shown(struct ctx *c, int rc)
{
	cmd_done(c, rc != EXIT_OK ? rc : status.holds_rc);
}

/* The holds shown (rc 0), or not (rc: the exit code, logged). */
static void
holds_shown(struct ctx *c, int rc)
{
	int	i;

	status.holds_rc = rc;
	if (status.argc == 0) {
		cmd_done(c, rc);
		return;
	}
	if (status.unread) {
		/* Redis down: each look at a worker would wait for it again */
		cmd_done(c, fsm_exit_code(OUT_PREFLIGHT));
		return;
	}
	for (i = 0; i < status.argc; i++)
		ctx_add(c, status.argv[i], 0, RUN_STATUS);
	fflush(stdout);
	cmd_runs(c, workers_shown);
}

/* The held Deployments and StatefulSets (all, or those named), one kind
 * after the other; the first that cannot be listed ends them (exit 3). */
static void
holds_listed(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct ctx		*c = arg;
	const struct held_kind	*kd = &held_kinds[status.kind];

	if (e != KUBE_OK) {
		log_err("cannot list the %s to show their holds: %s",
		    kd->plural, err);
		json_decref(status.held);
		status.held = NULL;
		report_json_set("held", json_null());
		holds_shown(c, fsm_exit_code(OUT_PREFLIGHT));
		return;
	}
	print_holds(c, kd, obj, status.argc, status.argv, status.held);
	status.kind++;
	holds_next(c);
}

/* The next kind of held workload to list (one a name is of, if named),
 * or the end of them. */
static void
holds_next(struct ctx *c)
{
	const struct held_kind	*kd;
	int			 j;

	for (; status.kind < sizeof held_kinds / sizeof held_kinds[0];
	    status.kind++) {
		kd = &held_kinds[status.kind];
		for (j = 0; j < status.argc; j++)
			if (kube_target_split(status.argv[j], NULL) ==
			    (*kd->prefix != '\0'))
				break;
		if (status.argc > 0 && j == status.argc)
			continue;
		kube_list(&c->kube, kd->plural, NULL, ev_now(c->loop) +
		    c->o->request_timeout, holds_listed, c);
		return;
	}
	report_json_set("held", status.held);
	status.held = NULL;
	holds_shown(c, 0);
}

/* The holds: last, and bounded by one request a kind: --status is for
 * incidents. */
static void
show_holds(struct ctx *c)
{
	status.held = json_array();
	status.kind = 0;
	holds_next(c);
}

/* The last runs (the history stream), printed, or as "history". */
static void
history_got(redisReply *hist, const char *err, void *arg)
{
	struct ctx	*c = arg;
	char		 ts[32];
	json_t		*list = json_array();
	size_t		 i, j;

	(void)err;
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
	report_json_set("history", list);
	show_holds(c);
}

/* Every journal read (or Redis stopped answering): what follows. */
static void
journals_shown(struct ctx *c)
{
	strv_free(&status.deps);
	report_json_set("runs", status.runs);
	status.runs = NULL;
	if (status.argc > 0) {
		show_holds(c);
		return;
	}
	if (status.unread) {
		cmd_done(c, fsm_exit_code(OUT_PREFLIGHT));
		return;
	}
	if (status.found == 0)
		say(c, "no run in flight or interrupted in namespace %s\n",
		    c->kube.ns);
	ctx_redis(c, history_got, c, "XREVRANGE", "drain-and-rollout:history",
	    "+", "-", "COUNT", "10", (char *)NULL);
}

/* One journal shown (found: print_journal()'s): the next, unless Redis
 * stopped answering. */
static void
journal_shown(struct ctx *c, const char *dep, int found)
{
	if (found == 0 && status.argc > 0)
		say(c, "%s: no run in flight\n", dep);
	if (found < 0)
		status.unread = 1;
	else
		status.found += found;
	status.next++;
	if (status.unread)
		journals_shown(c);
	else
		journals_next(c);
}

static void
lease_got(redisReply *ttl, const char *err, void *arg)
{
	struct ctx	*c = arg;
	const char	*dep = status.deps.v[status.next];
	int		 found;

	found = print_journal(c, dep, status.journal, ttl, err, status.runs);
	ctx_redis_free(status.journal);
	status.journal = NULL;
	journal_shown(c, dep, found);
}

static void
journal_got(redisReply *h, const char *err, void *arg)
{
	struct ctx	*c = arg;
	const char	*dep = status.deps.v[status.next];
	char		*lk;

	if (h == NULL) {
		journal_shown(c, dep, print_journal(c, dep, NULL, NULL, err,
		    status.runs));
		return;
	}
	status.journal = ctx_redis_dup(h);
	lk = lease_key(c, dep);
	ctx_redis(c, lease_got, c, "PTTL", lk, (char *)NULL);
	free(lk);
}

/* The next journal and its lease, or the end of them. */
static void
journals_next(struct ctx *c)
{
	char	*jk;

	if (status.next == status.deps.n) {
		journals_shown(c);
		return;
	}
	jk = journal_key(c, status.deps.v[status.next]);
	ctx_redis(c, journal_got, c, "HGETALL", jk, (char *)NULL);
	free(jk);
}

static void
journals_listed(const char *err, void *arg)
{
	struct ctx	*c = arg;

	if (err != NULL) {
		log_err("cannot list the journals: %s", err);
		cmd_done(c, fsm_exit_code(OUT_PREFLIGHT));
		return;
	}
	journals_next(c);
}

static void
start(struct ctx *c, int argc, char **argv)
{
	int	i;

	if (c->o->watch) {
		watch_status(c, argc, argv);
		return;
	}
	status.argc = argc;
	status.argv = argv;
	status.runs = c->o->json ? json_array() : NULL;
	if (argc == 0) {
		ctx_journals(c, &status.deps, journals_listed, c);
		return;
	}
	for (i = 0; i < argc; i++)
		strv_add(&status.deps, argv[i]);
	journals_next(c);
}

static int
cmd_status_exec(struct ev_loop *loop, struct opts *o, int argc, char **argv)
{
	if (o->watch && o->json) {
		log_err("--watch prints lines as the runs change; for JSON, run "
		    "--status -o json (without --watch)");
		return EXIT_USAGE;
	}
	return cmd_ctx(&status.c, loop, o, argc, argv, start);
}

/* After the loop: what a step had not handed over yet. */
static void
cmd_status_free(void)
{
	watch_free();
	strv_free(&status.deps);
	json_decref(status.runs);
	json_decref(status.held);
	ctx_redis_free(status.journal);
}
