/*
 * follow.c -- what the driver follows in the broker besides its own
 * commands: the Celery event subscription, shared by all runs, which hands
 * each event to every run (run_event(): its state's event hook); the
 * backlog of a run's queues; and the Deployments' watch, shared by the
 * runs in ROLLOUT, which hands each object to its run (run_object(): its
 * state's object hook). See follow.h.
 */
#include <ev.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "events.h"
#include "follow.h"
#include "runpriv.h"
#include "kwatch.h"

/* ---- events subscription (shared by all runs) ------------------------ */

static void
on_event(const char *channel, const char *msg, size_t len, void *arg)
{
	struct ctx		*c = arg;
	struct cev_batch	 b;
	char			 err[200];
	size_t			 i, j;

	(void)channel;
	if (cev_decode(msg, len, &b, err, sizeof err) == -1) {
		log_debug("ignoring a malformed Celery event: %s", err);
		return;
	}
	for (i = 0; i < b.n; i++)
		for (j = 0; j < c->nruns; j++)
			run_event(c->runs[j], &b.v[i]);
	cev_batch_free(&b);
}

static void
on_sub_state(int up, void *arg)
{
	struct ctx	*c = arg;
	size_t		 i;

	c->events_up = up;
	if (up)
		return;
	for (i = 0; i < c->nruns; i++)
		run_events_lost(c->runs[i]);
}

void
events_start(struct ctx *c)
{
	char	*pats[2];
	size_t	 i, n;

	if (c->o->no_events || c->o->dry_run)
		return;
	n = keys_fanout_patterns(&c->keys, "celeryev", pats);
	broker_psubscribe(c->broker, (const char **)pats, n, on_event,
	    on_sub_state, c);
	for (i = 0; i < n; i++)
		free(pats[i]);
}

/* ---- backlog --------------------------------------------------------- */

static const char *unacked_lua =
    "local n = 0\n"
    "for _, v in ipairs(redis.call('HVALS', KEYS[1])) do\n"
    "  local ok, m = pcall(cjson.decode, v)\n"
    "  if ok and type(m) == 'table' then\n"
    "    for _, q in ipairs(ARGV) do\n"
    "      if m[3] == q then n = n + 1 end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return n\n";

struct blop {
	struct op	*op;
	void		(*then)(struct run *);
};

static void
backlog_exec(redisReply *rep, const char *err, void *arg)
{
	struct blop	*b = arg;
	struct run	*r = b->op->r;
	size_t		 i;
	int		 current = b->op->gen == r->gen;
	void		(*then)(struct run *) = b->then;

	op_done(b->op, NULL, NULL);
	free(b);
	if (rep != NULL && rep->type == REDIS_REPLY_ARRAY && rep->elements > 1) {
		r->backlog = 0;
		for (i = 0; i + 2 < rep->elements; i++)
			if (rep->element[i]->type == REDIS_REPLY_INTEGER)
				r->backlog += rep->element[i]->integer;
		i = rep->elements - 2;
		r->unacked = rep->element[i]->type == REDIS_REPLY_INTEGER ?
		    rep->element[i]->integer : -1;
		i = rep->elements - 1;
		r->pidbox_bound = rep->element[i]->type == REDIS_REPLY_INTEGER ?
		    rep->element[i]->integer > 0 : -1;
	} else {
		r->backlog = r->unacked = r->pidbox_bound = -1;
		log_debug("%s: cannot read the backlog: %s", r->name,
		    err ? err : "bad reply");
	}
	if (current && then != NULL)
		then(r);
}

/*
 * One round trip: MULTI; LLEN of each queue's lists (keys.h); EVAL
 * counting unacked entries; EXISTS of the workers' remote-control binding
 * (kombu's _kombu.binding.celery.pidbox: every worker of this broker
 * database and key prefix adds itself there); EXEC. Plain pipelining would do too, but the
 * transaction gives one reply to wait for.
 */
void
backlog_read(struct run *r, void (*then)(struct run *))
{
	struct broker	*b = r->ctx->broker;
	struct blop	*bl;
	size_t		 i, n = 0, k, nl;
	const char	**argv;
	size_t		*lens;
	char		**keys, *unacked;

	if (!broker_up(b)) {
		r->backlog = r->unacked = r->pidbox_bound = -1;
		if (then != NULL)
			then(r);
		return;
	}
	broker_command(b, NULL, NULL, "MULTI");
	keys = xcalloc(r->queues.n * KEYS_MAX_STEPS, sizeof *keys);
	for (i = 0; i < r->queues.n; i++) {
		nl = keys_queue_lists(&r->ctx->keys, r->queues.v[i], keys + n);
		for (k = 0; k < nl; k++)
			broker_command(b, NULL, NULL, "LLEN %s", keys[n + k]);
		n += nl;
	}
	unacked = keys_name(&r->ctx->keys, "unacked");
	argv = xcalloc(r->queues.n + 4, sizeof *argv);
	lens = xcalloc(r->queues.n + 4, sizeof *lens);
	argv[0] = "EVAL";
	argv[1] = unacked_lua;
	argv[2] = "1";
	argv[3] = unacked;
	for (i = 0; i < r->queues.n; i++)
		argv[4 + i] = r->queues.v[i];
	for (i = 0; i < r->queues.n + 4; i++)
		lens[i] = strlen(argv[i]);
	broker_command_argv(b, NULL, NULL, (int)r->queues.n + 4, argv, lens);
	free(unacked);
	unacked = keys_name(&r->ctx->keys, "_kombu.binding.celery.pidbox");
	broker_command(b, NULL, NULL, "EXISTS %s", unacked);
	free(unacked);
	bl = xcalloc(1, sizeof *bl);
	bl->op = op_new_bg(r);
	bl->then = then;
	broker_command(b, backlog_exec, bl, "EXEC");
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	free(argv);
	free(lens);
}


/* ---- the Deployments' watch (shared by the runs in ROLLOUT) ---------- */

/* seconds the server is asked to keep a watch open (timeoutSeconds) */
#define ROLLOUT_WATCH_SECS	120

enum rw_state {
	RW_IDLE,	/* no run follows a rollout */
	RW_WATCHING,	/* a watch is out */
	RW_WAITING,	/* the next watch is due (timer): nothing missed */
	RW_POLLING,	/* the runs poll; the timer (if armed) relists */
};

struct rwatch {
	struct ctx	*c;
	enum rw_state	 st;
	struct kcall	*call;
	char		*rv;		/* to resume from; NULL: relist */
	unsigned	 failures;
	int		 progress;	/* this watch delivered an event */
	int		 expired;	/* an ERROR event of code 410 */
	int		 stopping;	/* no run follows: stop at the next
					   event */
	char		 errev[300];	/* another ERROR event's message */
	double		 started;
	ev_timer	 timer;
};

static void	rw_start(struct rwatch *);

/* Whether some run follows a Deployment's rollout. */
static int
rw_wanted(const struct ctx *c)
{
	size_t	i;

	for (i = 0; i < c->nruns; i++)
		if (c->runs[i]->fsm.state == ST_ROLLOUT &&
		    !kube_target_split(c->runs[i]->name, NULL))
			return 1;
	return 0;
}

static int
rw_event(const char *type, json_t *obj, void *arg)
{
	struct rwatch	*w = arg;
	struct ctx	*c = w->c;
	json_t		*meta = json_object_get(obj, "metadata");
	const char	*rv, *name, *msg, *cause;
	json_int_t	 code;
	size_t		 i;

	if (strcmp(type, "ERROR") == 0) {
		msg = json_string_value(json_object_get(obj, "message"));
		cause = json_string_value(json_object_get(json_array_get(
		    json_object_get(json_object_get(obj, "details"), "causes"),
		    0), "reason"));
		code = json_integer_value(json_object_get(obj, "code"));
		if (kwatch_error(code, cause) == KWATCH_END_EXPIRED)
			w->expired = 1;
		if (code != 410)
			snprintf(w->errev, sizeof w->errev, "%s", msg ? msg :
			    "an ERROR event");
		return 1;
	}
	w->progress = 1;
	if ((rv = json_string_value(json_object_get(meta,
	    "resourceVersion"))) != NULL) {
		free(w->rv);
		w->rv = xstrdup(rv);
	}
	if (strcmp(type, "BOOKMARK") == 0)
		return 0;
	name = json_string_value(json_object_get(meta, "name"));
	for (i = 0; name != NULL && i < c->nruns; i++)
		if (strcmp(c->runs[i]->name, name) == 0)
			run_object(c->runs[i], type, obj);
	if (!rw_wanted(c))
		w->stopping = 1;
	return w->stopping;
}

static void
rw_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct rwatch	*w = t->data;

	(void)loop;
	(void)revents;
	rw_start(w);
}

static void
rw_end(enum kube_err e, long status, const char *err, void *arg)
{
	struct rwatch		*w = arg;
	struct kwatch_facts	 f;
	struct kwatch_next	 n;
	char			 why[800];

	w->call = NULL;
	if (w->stopping || !rw_wanted(w->c)) {
		/* the next run to want it relists: this version ages */
		w->st = RW_IDLE;
		free(w->rv);
		w->rv = NULL;
		return;
	}
	memset(&f, 0, sizeof f);
	f.progress = w->progress;
	f.lasted = ev_now(w->c->loop) - w->started >= ROLLOUT_WATCH_SECS - 1;
	f.failures = w->failures;
	if (w->expired || status == 410)
		f.end = KWATCH_END_EXPIRED;
	else if (e == KUBE_EAUTH || e == KUBE_EFORBIDDEN ||
	    e == KUBE_ENOTFOUND || status == 405)
		f.end = KWATCH_END_REFUSED;
	else if (e == KUBE_OK && w->errev[0] == '\0')
		f.end = KWATCH_END_CLOSED;
	else
		f.end = KWATCH_END_BROKEN;
	if (f.end == KWATCH_END_EXPIRED) {
		free(w->rv);
		w->rv = NULL;
	}
	f.have_rv = w->rv != NULL;
	n = kwatch_decide(&f);
	w->failures = n.failures;
	snprintf(why, sizeof why, "%s", w->errev[0] ? w->errev : w->expired ?
	    "410 Gone: the resourceVersion is too old" : err[0] ? err :
	    "closed by the server");
	if (n.act == KWATCH_RELIST) {
		free(w->rv);
		w->rv = NULL;
	}
	if (n.act == KWATCH_POLL) {
		log_warn("the watch of the Deployments ended (%s): following "
		    "the rollouts by polling%s", why, n.wait < 0 ? " (to "
		    "watch, the account needs the verb watch on "
		    "deployments.apps)" : "; watching again in 30 s");
		w->st = RW_POLLING;
		free(w->rv);
		w->rv = NULL;
	} else {
		log_debug("the watch of the Deployments ended (%s): %s in "
		    "%.1f s", why, kwatch_do_name(n.act), n.wait);
		w->st = RW_WAITING;
	}
	if (n.wait < 0)
		return;
	ev_timer_set(&w->timer, n.wait, 0.);
	ev_timer_start(w->c->loop, &w->timer);
}

static void
rw_start(struct rwatch *w)
{
	if (!rw_wanted(w->c)) {
		w->st = RW_IDLE;
		free(w->rv);
		w->rv = NULL;
		return;
	}
	w->st = RW_WATCHING;
	w->progress = w->expired = w->stopping = 0;
	w->errev[0] = '\0';
	w->started = ev_now(w->c->loop);
	w->call = kube_watch(&w->c->kube, "deployments", NULL, w->rv,
	    ROLLOUT_WATCH_SECS, rw_event, rw_end, w);
}

void
rollout_watch(struct ctx *c)
{
	struct rwatch	*w = c->rwatch;

	if (w == NULL) {
		w = c->rwatch = xcalloc(1, sizeof *w);
		w->c = c;
		c->rwatch_free = rollout_watch_free;
		ev_timer_init(&w->timer, rw_timer, 0., 0.);
		w->timer.data = w;
	}
	if (w->st == RW_IDLE)
		rw_start(w);
}

int
rollout_watched(const struct ctx *c)
{
	return c->rwatch != NULL && (c->rwatch->st == RW_WATCHING ||
	    c->rwatch->st == RW_WAITING);
}

void
rollout_watch_free(struct ctx *c)
{
	struct rwatch	*w = c->rwatch;

	if (w == NULL)
		return;
	ev_timer_stop(c->loop, &w->timer);
	kube_watch_cancel(w->call);
	free(w->rv);
	free(w);
	c->rwatch = NULL;
}
