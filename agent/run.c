/*
 * run.c -- the drain driver's engine (runpriv.h, run.h): the runs, their
 * operations in flight, each state's time limit, entry, settling and the
 * run's end; it reaches the states, the lease, the journal and the events
 * only through the table's hooks (struct driver, states.c).
 *
 * Every asynchronous call carries a struct op naming its run and the run's
 * state generation; a reply that arrives after the run moved on (timeout,
 * interrupt) is counted and dropped. The program's one loop (main.c's
 * ev_run(), cmd.h) drives the runs from start to end: ctx_start() starts
 * them once the broker answered; when every run has ended and no
 * operation is in flight, the summary's webhook and the removal of the
 * remote-control reply queue are the last operations, and once they are
 * done too the command's callback is told the exit code (ctx_settle()).
 * Nothing here runs the loop: the commands' reads outside runs
 * (ctx_redis()) answer through a callback too.
 */
#include <ev.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "broker.h"
#include "events.h"
#include "execcred.h"
#include "http.h"
#include "imgcheck.h"
#include "report.h"
#include "run.h"
#include "runpriv.h"

static void	enter(struct run *);
static void	feed(struct run *, enum fsm_input);

double
deadline_request(struct run *r)
{
	/* retries of an unreachable server stop here: nothing changed */
	double	len = 3 * r->ctx->o->request_timeout;

	return len < 10 ? 10 : len;
}

double
deadline_minute(struct run *r)
{
	(void)r;
	return 60;
}

double
run_time_left(struct run *r)
{
	double	left;

	if (r->state_deadline <= 0)
		return -1;
	left = r->state_deadline - ev_now(r->ctx->loop);
	return left > 0 ? left : 0;
}

void
run_patch_ahead(struct run *r, int pause)
{
	r->patch_pause = pause;
	r->patch_last = now_wall() + (r->state_deadline > 0 ?
	    r->state_deadline - ev_now(r->ctx->loop) : 0);
}

/* The state's last operation completed: settle it on the loop. */
static void
settle_soon(struct run *r)
{
	r->settle_gen = r->gen;
	ev_timer_stop(r->ctx->loop, &r->settle);
	ev_timer_set(&r->settle, 0., 0.);
	ev_timer_start(r->ctx->loop, &r->settle);
}

static void
settle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run	*r = w->data;

	(void)loop;
	(void)revents;
	if (r->gen != r->settle_gen || r->pending > 0 ||
	    r->fsm.state == ST_END ||
	    driver.states[r->fsm.state]->settled == NULL)
		return;
	driver.states[r->fsm.state]->settled(r);
}

/* ---- operations ------------------------------------------------------ */

struct op *
op_new(struct run *r, size_t wi, size_t qi)
{
	struct op	*o = xcalloc(1, sizeof *o);

	o->r = r;
	o->gen = r->gen;
	o->wi = wi;
	o->qi = qi;
	o->counted = 1;
	r->ctx->ops++;
	r->pending++;
	return o;
}

struct op *
op_new_bg(struct run *r)
{
	struct op	*o = xcalloc(1, sizeof *o);

	o->r = r;
	o->gen = r->gen;
	r->ctx->ops++;
	return o;
}

/* Returns the run if the op is still current, else NULL; frees op. */
struct run *
op_done(struct op *o, size_t *wi, size_t *qi)
{
	struct run	*r = o->r;
	int		 current = o->gen == r->gen;

	r->ctx->ops--;
	if (current && o->counted && --r->pending == 0)
		settle_soon(r);
	if (wi != NULL)
		*wi = o->wi;
	if (qi != NULL)
		*qi = o->qi;
	free(o);
	return current ? r : NULL;
}

/* Keep the first cause of failure. */
static void
run_vfail(struct run *r, const char *fmt, va_list ap)
{
	if (r->err[0] != '\0')
		return;
	/* a long cause is cut between characters, not inside one */
	if (vsnprintf(r->err, sizeof r->err, fmt, ap) >= (int)sizeof r->err)
		r->err[utf8_prefix(r->err, sizeof r->err - 1)] = '\0';
}

void
run_fail(struct run *r, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	run_vfail(r, fmt, ap);
	va_end(ap);
}

void
run_abort(struct run *r, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	run_vfail(r, fmt, ap);
	va_end(ap);
	run_next(r, IN_FAIL);
}

/* The Deployment answer of RESOLVE (and of a recovery): 0, or -1 if failed. */
int
run_deployment(struct run *r, enum kube_err e, json_t *obj, const char *err)
{
	char	sub[256];

	if (e != KUBE_OK) {
		run_abort(r, "%s", err);
		return -1;
	}
	if (deploy_parse(obj, &r->dep, sub, sizeof sub) == -1) {
		run_abort(r, "deployment %s: %s", r->name, sub);
		return -1;
	}
	return 0;
}

/* ---- timers ---------------------------------------------------------- */

static void
timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run	*r = w->data;

	(void)loop;
	(void)revents;
	if (r->fsm.state == ST_END)
		return;
	if (r->err[0] == '\0' && driver.states[r->fsm.state]->timed_out)
		driver.states[r->fsm.state]->timed_out(r);
	if (r->err[0] == '\0')
		run_fail(r, "%s timed out after %s%s%s",
		    fsm_state_name(r->fsm.state),
		    duration_fmt(r->state_len, r->tmp, sizeof r->tmp),
		    r->last_line[0] ? ": " : "", r->last_line);
	feed(r, IN_TIMEOUT);
}

static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run	*r = w->data;

	(void)loop;
	(void)revents;
	if (r->fsm.state == ST_END)
		return;
	if (driver.states[r->fsm.state]->tick != NULL)
		driver.states[r->fsm.state]->tick(r);
	report_live_redraw();
}

void
run_event(struct run *r, const struct cev *ev)
{
	if (r->fsm.state != ST_END && driver.states[r->fsm.state]->event)
		driver.states[r->fsm.state]->event(r, ev);
}

void
run_events_lost(struct run *r)
{
	if (r->fsm.state != ST_END &&
	    driver.states[r->fsm.state]->events_lost != NULL)
		driver.states[r->fsm.state]->events_lost(r);
}

void
run_object(struct run *r, const char *type, json_t *obj)
{
	if (r->fsm.state != ST_END && driver.states[r->fsm.state]->object)
		driver.states[r->fsm.state]->object(r, type, obj);
}

void
run_tick_every(struct run *r, double first, double every)
{
	ev_timer_stop(r->ctx->loop, &r->tick);
	ev_timer_set(&r->tick, first, every);
	ev_timer_start(r->ctx->loop, &r->tick);
}

/* ---- the state machine's driver ------------------------------------- */

static void
feed(struct run *r, enum fsm_input in)
{
	enum fsm_state	from = r->fsm.state;
	struct ctx	*c = r->ctx;
	double		now = ev_now(c->loop);

	r->t_state[from] += now - r->t_enter;
	fsm_feed(&r->fsm, in);
	log_debug("%s: %s -> %s (%s)", r->name, fsm_state_name(from),
	    fsm_state_name(r->fsm.state), in == IN_OK ? "ok" : in == IN_FAIL ?
	    "fail" : in == IN_TIMEOUT ? "timeout" : in == IN_INTERRUPT ?
	    "interrupt" : in == IN_LOCKED ? "locked" : in == IN_LOST ?
	    "lease lost" : in == IN_NOTHING ? "nothing to do" :
	    in == IN_MORE ? "workers to drain appeared" : in == IN_VANISHED ?
	    "a worker vanished holding tasks" : "skip");
	/* a worker of the old template went with its tasks (fsm.lost) */
	if (r->fsm.state == ST_END && r->fsm.lost && r->lost_why[0])
		run_fail(r, "%s", r->lost_why);
	if (from != r->fsm.state && (r->fsm.state == ST_RESTORE ||
	    r->fsm.state == ST_GIVEBACK || r->fsm.state == ST_INFLIGHT) &&
	    r->err[0])
		log_err("%s: %s", r->name, r->err);
	/* the same state (the rollout held, resumed; an interrupt that
	 * lets the state finish): its work goes on, not entered again */
	if (from != r->fsm.state)
		enter(r);
}

void
run_jump(struct run *r, enum fsm_state st, enum fsm_outcome pending)
{
	struct ctx	*c = r->ctx;

	r->t_state[r->fsm.state] += ev_now(c->loop) - r->t_enter;
	fsm_jump(&r->fsm, st, pending);
	enter(r);
}

void
run_next(struct run *r, enum fsm_input in)
{
	if (r->fsm.state == ST_END)
		return;
	feed(r, in);
}

static void
enter(struct run *r)
{
	struct ctx		*c = r->ctx;
	const struct state	*st;
	unsigned		 gen;
	double			 len;

	r->gen++;
	r->pending = 0;
	r->step = 0;
	r->t_enter = ev_now(c->loop);
	ev_timer_stop(c->loop, &r->timeout);
	ev_timer_stop(c->loop, &r->tick);
	ev_timer_stop(c->loop, &r->settle);
	if (r->wait_op != NULL) {
		ev_timer_stop(c->loop, &r->wait);
		(void)op_done(r->wait_op, NULL, NULL);	/* no longer current */
		r->wait_op = NULL;
	}
	if (r->fsm.state == ST_END) {
		r->state_len = r->state_deadline = 0;
		run_end(r);
		return;
	}
	if (fsm_changes(r->fsm.state)) {	/* patient from now on */
		http_set_changed(c->http, 1);
		broker_set_changed(c->broker, 1);
	}
	st = driver.states[r->fsm.state];
	len = st->deadline != NULL ? st->deadline(r) : 0;
	r->state_len = len;
	r->state_deadline = len > 0 ? r->t_enter + len : 0;
	if (len > 0) {
		ev_timer_set(&r->timeout, len, 0.);
		ev_timer_start(c->loop, &r->timeout);
	}
	driver.entered(r);
	report_state(r);
	gen = r->gen;
	st->enter(r);
	if (r->gen == gen && r->pending == 0 && st->settled != NULL)
		settle_soon(r);
}

/*
 * Outside the window (--window): the runs not started end skipped, with
 * when it opens; those in flight go on to their end.
 */
static void
window_closed(struct ctx *c, time_t now)
{
	char	why[300];
	size_t	i;

	window_describe(&c->o->window, now, getenv("TZ"), why, sizeof why);
	log_info("%s: %zu deployment%s not started; nothing changed for %s; "
	    "the next run inside the window starts %s (by hand now: --window "
	    "\"\")", why, c->nruns - c->next, c->nruns - c->next == 1 ? "" :
	    "s", c->nruns - c->next == 1 ? "it" : "them",
	    c->nruns - c->next == 1 ? "it" : "them");
	for (i = c->next; i < c->nruns; i++) {
		struct run *r = c->runs[i];
		r->outside_window = 1;
		snprintf(r->err, sizeof r->err, "%s", why);
		r->started = r->finished = ev_now(c->loop);
		fsm_feed(&r->fsm, IN_SKIP);
		report_outcome(r);
	}
	c->next = c->nruns;
}

static void
start_more(struct ctx *c)
{
	while (c->next < c->nruns && (c->o->max_parallel <= 0 ||
	    c->active < c->o->max_parallel) && !c->interrupted) {
		struct run *r = c->runs[c->next];
		time_t now = (time_t)now_wall();
		if (r->mode == RUN_DRAIN && !window_inside(&c->o->window,
		    now)) {
			window_closed(c, now);
			break;
		}
		c->next++;
		c->active++;
		r->started = ev_now(c->loop);
		r->wall_started = now_wall();
		enter(r);
	}
}

void
run_end(struct run *r)
{
	struct ctx	*c = r->ctx;

	ev_timer_stop(c->loop, &r->timeout);
	ev_timer_stop(c->loop, &r->tick);
	ev_timer_stop(c->loop, &r->settle);
	r->finished = ev_now(c->loop);
	driver.ended(r);
	report_outcome(r);
	c->active--;
	start_more(c);
}

/* ---- context --------------------------------------------------------- */

void
ctx_add(struct ctx *c, const char *name, int from_selector,
    enum run_mode mode)
{
	struct run	*r = xcalloc(1, sizeof *r);
	size_t		 i;

	for (i = 0; i < c->nruns; i++)
		if (strcmp(c->runs[i]->name, name) == 0) {
			free(r);
			return;		/* named twice */
		}
	r->ctx = c;
	r->name = xstrdup(name);
	r->from_selector = from_selector;
	r->mode = mode;
	r->pidbox_bound = -1;
	fsm_init(&r->fsm, c->o->dry_run || mode == RUN_STATUS,
	    c->o->drain_only, c->o->force);
	r->fsm.handover = c->o->handover && mode == RUN_DRAIN;
	ev_timer_init(&r->timeout, timeout_cb, 1., 0.);
	r->timeout.data = r;
	ev_timer_init(&r->tick, tick_cb, 1., 0.);
	r->tick.data = r;
	ev_timer_init(&r->settle, settle_cb, 0., 0.);
	r->settle.data = r;
	c->runs = xrealloc(c->runs, (c->nruns + 1) * sizeof *c->runs);
	c->runs[c->nruns++] = r;
}

static void
run_free(struct run *r)
{
	struct ev_loop	*loop = r->ctx->loop;
	size_t		 i;

	/* an ended run has none active; a freed one must never fire */
	ev_timer_stop(loop, &r->timeout);
	ev_timer_stop(loop, &r->tick);
	ev_timer_stop(loop, &r->settle);
	ev_timer_stop(loop, &r->wait);
	ev_timer_stop(loop, &r->lease_timer);
	ev_timer_stop(loop, &r->lease_expiry);
	for (i = 0; i < r->nw; i++)
		wk_free(&r->w[i]);
	free(r->w);
	deploy_info_free(&r->dep);
	strv_free(&r->old_pods);
	pod_list_free(&r->pods0);
	strv_free(&r->new_pods);
	pod_list_free(&r->census_pods);
	worker_status_free(r->census_ws, r->census_nws);
	json_decref(r->census_rs);
	json_decref(r->census_dep);
	free(r->census_tmpl);
	free(r->census_rv);
	strv_free(&r->census_marks);
	strv_free(&r->census_known);
	strv_free(&r->queues);
	free(r->new_worker);
	json_decref(r->rolled);
	json_decref(r->rollout_early);
	free(r->rollout_uid);
	free(r->new_tmpl);
	strv_free(&r->new_workers);
	for (i = 0; i < r->nverify_snaps; i++)
		worker_snap_free(&r->verify_snaps[i]);
	free(r->verify_snaps);
	free(r->lease_token);
	free(r->refusal);
	free(r->restarted_at);
	json_decref(r->journal);
	json_decref(r->ho);
	json_decref(r->ho_seen);
	imgcheck_free(r->img);
	free(r->name);
	free(r);
}

struct wk *
run_worker(struct run *r, const char *name)
{
	size_t	i;

	for (i = 0; i < r->nw; i++)
		if (strcmp(r->w[i].name, name) == 0)
			return &r->w[i];
	return NULL;
}

struct wk *
run_add_worker(struct run *r, const char *name)
{
	struct wk	*w;

	r->w = xrealloc(r->w, (r->nw + 1) * sizeof *r->w);
	w = &r->w[r->nw++];
	memset(w, 0, sizeof *w);
	w->name = xstrdup(name);
	return w;
}

json_t *
run_workers_json(struct run *r, int cancelled)
{
	json_t		*ws = json_array(), *q;
	struct strv	*v;
	size_t		 i, j;

	for (i = 0; i < r->nw; i++) {
		v = cancelled ? &r->w[i].cancelled : &r->w[i].queues;
		q = json_array();
		for (j = 0; j < v->n; j++)
			json_array_append_new(q, json_string(v->v[j]));
		json_array_append_new(ws, json_pack("{s:s,s:o}", "name",
		    r->w[i].name, "queues", q));
	}
	return ws;
}

void
run_workers_load(struct run *r, json_t *ws, int cancelled)
{
	json_t		*w, *q;
	struct wk	*k;
	const char	*n, *qn;
	size_t		 i, j;

	json_array_foreach(ws, i, w) {
		if ((n = json_string_value(json_object_get(w, "name"))) == NULL)
			continue;
		if ((k = run_worker(r, n)) == NULL)
			k = run_add_worker(r, n);
		json_array_foreach(json_object_get(w, "queues"), j, q) {
			if ((qn = json_string_value(q)) == NULL)
				continue;
			if (cancelled && !strv_has(&k->cancelled, qn))
				strv_add(&k->cancelled, qn);
			if (!strv_has(&k->queues, qn))
				strv_add(&k->queues, qn);
			if (!strv_has(&r->queues, qn))
				strv_add(&r->queues, qn);
		}
	}
}

int
run_take_queues(struct run *r, size_t wi, enum flower_err e,
    struct worker_snap *s, const char *err)
{
	struct wk	*w = &r->w[wi];
	size_t		 i;

	if (e != FLOWER_OK) {
		run_fail(r, "%s", err);
		return -1;
	}
	if (!s->have_queues) {
		run_fail(r, "worker %s did not report its queues", w->name);
		return -1;
	}
	worker_snap_move(&w->snap, s);
	for (i = 0; i < w->snap.queues.n; i++) {
		if (!strv_has(&w->queues, w->snap.queues.v[i]))
			strv_add(&w->queues, w->snap.queues.v[i]);
		if (!strv_has(&r->queues, w->snap.queues.v[i]))
			strv_add(&r->queues, w->snap.queues.v[i]);
	}
	return 0;
}

void
wk_free(struct wk *w)
{
	free(w->name);
	strv_free(&w->queues);
	strv_free(&w->cancelled);
	drainset_free(&w->tasks);
	worker_snap_free(&w->snap);
	free(w->lost);
	free(w->undrain);
	free(w->pod_uid);
	json_decref(w->waited);
}

void
run_bg_reply(redisReply *rep, const char *err, void *arg)
{
	struct ctx	*c = arg;

	c->ops--;
	if (rep == NULL)
		log_warn("%s", err);
}

static void
closed(void *arg)
{
	struct ctx	*c = arg;

	c->ops--;
}

/* The exit code of the runs' outcomes: the worst one's. */
static int
ctx_exit_code(const struct ctx *c)
{
	enum fsm_outcome worst = OUT_NONE;
	size_t		 i;

	for (i = 0; i < c->nruns; i++)
		if (c->runs[i]->fsm.outcome > worst)
			worst = c->runs[i]->fsm.outcome;
	return c->nruns == 0 ? 0 : fsm_exit_code(worst);
}

/*
 * The barrier at the end of the runs: once every run has ended and no
 * operation is in flight, the summary (its webhook, an operation) and the
 * remote-control reply queue's removal; once those are done too, the
 * command is told (ctx_start()'s ended), once.
 */
static void
ctx_settle(struct ctx *c)
{
	if (!c->begun || c->active > 0 || c->next < c->nruns || c->ops > 0)
		return;
	if (!c->ending) {
		c->ending = 1;
		report_summary(c);
		c->ops += pidbox_close(c->pidbox, closed, c);
		if (c->ops > 0)
			return;
	}
	ev_prepare_stop(c->loop, c->settler);
	c->ended(c, ctx_exit_code(c));
}

static void
idle_check(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop;
	(void)revents;
	ctx_settle(w->data);
}

/*
 * The broker answered (or did not, err set): the journal and lease live in
 * Redis, so the runs start only now. If it does not answer, every run
 * stops in RESOLVE (journal_read), before anything changed.
 */
static void
broker_up_cb(redisReply *rep, const char *err, void *arg)
{
	struct ctx	*c = arg;

	(void)rep;
	if (err != NULL)
		snprintf(c->redis_err, sizeof c->redis_err, "%s", err);
	c->begun = 1;
	driver.start(c);
	report_live_start(c);
	start_more(c);
}

void
ctx_start(struct ctx *c, void (*ended)(struct ctx *, int rc))
{
	c->ended = ended;
	c->settler = xcalloc(1, sizeof *c->settler);
	ev_prepare_init(c->settler, idle_check);
	c->settler->data = c;
	ev_prepare_start(c->loop, c->settler);
	broker_ready(c->broker, c->o->request_timeout, broker_up_cb, c);
}

void
ctx_interrupt(struct ctx *c)
{
	size_t	i;

	c->interrupted = 1;
	for (i = 0; i < c->nruns; i++) {
		struct run *r = c->runs[i];
		if (i >= c->next) {	/* never started */
			fsm_unstarted(&r->fsm);
			continue;
		}
		if (fsm_restoring(r->fsm.state))
			continue;
		if (fsm_finishing(&r->fsm)) {
			log_warn("%s: interrupted: the rollout is held while "
			    "workers of the old template drain; finishing their "
			    "drain, then resuming the rollout before exiting (a "
			    "second signal exits at once, the Deployment left "
			    "paused: then run --recover)", r->name);
			feed(r, IN_INTERRUPT);
			continue;
		}
		run_fail(r, "interrupted by a signal");
		feed(r, IN_INTERRUPT);
	}
	c->next = c->nruns;
}

enum fsm_outcome
ctx_abandoned(const struct ctx *c)
{
	enum fsm_outcome	 worst = OUT_NONE, o;
	size_t			 i;

	for (i = 0; i < c->nruns && i < c->next; i++)
		if ((o = fsm_abandoned(&c->runs[i]->fsm)) > worst)
			worst = o;
	return fsm_exit_outcome(worst, c->ending);
}

int
ctx_exit_now(struct ctx *c)
{
	enum fsm_outcome	 o = ctx_abandoned(c);
	size_t			 i;

	if (!c->ending) {	/* the runs' outcomes where they are */
		for (i = 0; i < c->nruns; i++) {
			struct run *r = c->runs[i];
			if (r->fsm.state == ST_END)
				continue;
			run_fail(r, "abandoned by a second signal in %s",
			    fsm_state_name(r->fsm.state));
			fsm_abandon(&r->fsm);
			r->finished = ev_now(c->loop);
		}
		report_outcomes(c);
	}
	return fsm_exit_code(o);
}

void
ctx_free(struct ctx *c)
{
	size_t	i;

	/* the loop ended (main.c) or never ran: no callback reaches a run
	 * from here on; broker_free() delivers nothing */
	if (c->settler != NULL)
		ev_prepare_stop(c->loop, c->settler);
	free(c->settler);
	pidbox_free(c->pidbox);
	for (i = 0; i < c->nruns; i++)
		run_free(c->runs[i]);
	free(c->runs);
	keys_free(&c->keys);
	broker_free(c->broker);
	if (c->rwatch_free != NULL)
		c->rwatch_free(c);
	http_free(c->http);
	execcred_free(c->kube.exec);
	kubeconfig_free(&c->creds);
	free(c->kube.ns);
}

int
ctx_init(struct ctx *c, struct ev_loop *loop, struct opts *o, char *err,
    size_t errlen)
{
	char	host[200];

	memset(c, 0, sizeof *c);
	c->loop = loop;
	c->o = o;
	if (gethostname(host, sizeof host) == -1)
		snprintf(host, sizeof host, "unknown");
	snprintf(c->holder, sizeof c->holder, "%s:%ld", host, (long)getpid());
	if (kubeconfig_load(o->kubeconfig, o->context, &c->creds, err,
	    errlen) == -1)
		return -1;
	if (o->insecure)
		c->creds.insecure = 1;
	if (c->creds.insecure) {
		char *shown = http_url_shown(c->creds.server);
		log_warn("TLS verification of the Kubernetes API %s is OFF "
		    "(insecure-skip-tls-verify): anyone on the path can "
		    "impersonate it", shown);
		free(shown);
	}
	c->http = http_new(loop);
	c->kube.http = c->http;
	c->kube.creds = &c->creds;
	if (c->creds.exec != NULL)	/* run on the first request */
		c->kube.exec = execcred_new(loop, &c->creds,
		    o->request_timeout);
	c->kube.timeout = o->request_timeout;
	if (o->namespace != NULL)
		c->kube.ns = xstrdup(o->namespace);
	else if (c->creds.namespace != NULL)
		c->kube.ns = xstrdup(c->creds.namespace);
	else
		c->kube.ns = xstrdup("default");
	if (!dns1123_label(c->kube.ns)) {
		snprintf(err, errlen, "the kubeconfig's namespace \"%s\" is not "
		    "a valid name (a DNS-1123 label); give -n NAMESPACE",
		    c->kube.ns);
		return -1;
	}
	c->flower.http = c->http;
	c->flower.url = (char *)o->flower_url;
	c->flower.user = (char *)o->flower_user;
	c->flower.password = o->flower_password;
	c->flower.timeout = o->request_timeout;
	if (o->control == CTL_AUTO)	/* the broker is the way round */
		c->flower.patience = CTL_FLOWER_PATIENCE;
	c->broker = broker_new(loop, o->redis_url, o->redis_password,
	    o->sentinel_master, err, errlen);
	if (c->broker == NULL)
		return -1;
	keys_init(&c->keys, o->key_prefix, &o->priority_steps,
	    broker_db(c->broker));
	c->keys.sentinel_fanout = broker_sentinel(c->broker);
	c->target.context = c->creds.context;
	c->target.cluster = c->creds.cluster;
	c->target.source = c->creds.source;
	c->target.server = c->creds.server;
	c->target.namespace = c->kube.ns;
	c->target.redis = broker_where(c->broker);
	c->target.flower_url = o->control == CTL_BROKER ? NULL : o->flower_url;
	report_target(c);
	broker_set_timeout(c->broker, o->request_timeout);
	c->pidbox = pidbox_new(loop, c->broker, &c->keys);
	c->ctl.mode = o->control;
	c->ctl.via = o->control == CTL_BROKER ? VIA_BROKER : VIA_FLOWER;
	c->ctl.flower = &c->flower;
	c->ctl.pidbox = c->pidbox;
	return 0;
}

/* ---- the commands' broker reads ------------------------------------- */

/* A read waiting for the broker to be up: its words, its callback. */
struct pending_read {
	struct ctx	*c;
	struct strv	 words;
	ctx_redis_cb	*cb;
	void		*arg;
};

redisReply *
ctx_redis_dup(const redisReply *r)
{
	redisReply	*d = xcalloc(1, sizeof *d);
	size_t		 i;

	d->type = r->type;
	d->integer = r->integer;
	if (r->str != NULL) {
		d->str = xmalloc(r->len + 1);
		memcpy(d->str, r->str, r->len);
		d->str[r->len] = '\0';
		d->len = r->len;
	}
	if (r->elements > 0) {
		d->element = xcalloc(r->elements, sizeof *d->element);
		d->elements = r->elements;
		for (i = 0; i < r->elements; i++)
			d->element[i] = ctx_redis_dup(r->element[i]);
	}
	return d;
}

void
ctx_redis_free(redisReply *r)
{
	size_t	i;

	if (r == NULL)
		return;
	for (i = 0; i < r->elements; i++)
		ctx_redis_free(r->element[i]);
	free(r->element);
	free(r->str);
	free(r);
}

static void
read_send(struct ctx *c, const struct strv *words, ctx_redis_cb *cb,
    void *arg)
{
	broker_command_argv(c->broker, cb, arg, (int)words->n,
	    (const char **)words->v, NULL);
}

/* The broker is up (or not, err set): send the read, or fail it. */
static void
read_ready(redisReply *rep, const char *err, void *arg)
{
	struct pending_read	*p = arg;

	(void)rep;
	if (err != NULL)
		p->cb(NULL, err, p->arg);
	else
		read_send(p->c, &p->words, p->cb, p->arg);
	strv_free(&p->words);
	free(p);
}

void
ctx_redis(struct ctx *c, ctx_redis_cb *cb, void *arg, const char *word, ...)
{
	struct strv	 words = { 0 };
	va_list		 ap;

	va_start(ap, word);
	for (; word != NULL; word = va_arg(ap, const char *))
		strv_add(&words, word);
	va_end(ap);
	if (broker_up(c->broker)) {
		read_send(c, &words, cb, arg);
		strv_free(&words);
	} else {
		struct pending_read *p = xcalloc(1, sizeof *p);
		p->c = c;
		p->words = words;
		p->cb = cb;
		p->arg = arg;
		broker_ready(c->broker, c->o->request_timeout, read_ready, p);
	}
}
