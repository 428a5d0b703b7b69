/*
 * watch.c -- --status --watch: follow the runs in flight; see
 * include/watch.h.
 */
#include <ev.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "cmd.h"
#include "journal.h"
#include "lease.h"
#include "report.h"
#include "run.h"
#include "watch.h"

/* ---- the decisions (pure) -------------------------------------------- */

void
watch_token(const char *token, char *holder, size_t holdlen, double *since)
{
	const char	*p, *colon[2] = { NULL, NULL };
	int		 n = 0;
	char		*end;
	double		 t;

	*since = 0;
	snprintf(holder, holdlen, "%s", token);
	for (p = token + strlen(token); p > token && n < 2; p--)
		if (*(p - 1) == ':')
			colon[n++] = p - 1;
	if (n < 2)
		return;
	/* colon[1] ends the holder, colon[0] the time */
	t = strtod(colon[1] + 1, &end);
	if (end != colon[0] || colon[1] == token)
		return;
	snprintf(holder, holdlen, "%.*s", (int)(colon[1] - token), token);
	*since = t > 0 ? t : 0;
}

size_t
watch_in_flight(const struct watch_run *runs, size_t n)
{
	size_t	i, k = 0;

	for (i = 0; i < n; i++)
		if (runs[i].token != NULL)
			k++;
	return k;
}

int
watch_done(size_t flying, int seen, double quiet)
{
	if (flying > 0)
		return 0;
	return !seen || quiet >= WATCH_GRACE;
}

/* The state of a journal's state name; ST_END if none is. */
static enum fsm_state
state_named(const char *name)
{
	int	s;

	for (s = ST_RESOLVE; s < ST_END; s++)
		if (strcmp(fsm_state_name(s), name) == 0)
			return s;
	return ST_END;
}

void
watch_parts(const struct watch_run *r, char *head, size_t hlen, char *body,
    size_t blen)
{
	const char	*st = r->state != NULL ? r->state : "lock";
	enum fsm_state	 s = state_named(st);
	char		 holder[256];
	double		 since;

	if (r->holder != NULL)
		snprintf(holder, sizeof holder, "%s", r->holder);
	else if (r->token != NULL)
		watch_token(r->token, holder, sizeof holder, &since);
	else
		snprintf(holder, sizeof holder, "?");
	snprintf(head, hlen, "%-24s %-8s", r->target, st);
	snprintf(body, blen, "%s (holder %s)", s != ST_END ?
	    report_state_words(s) : "in a state this version does not know",
	    holder);
}

void
watch_key(const struct watch_run *r, char *buf, size_t len)
{
	char	head[320], body[512];

	watch_parts(r, head, sizeof head, body, sizeof body);
	snprintf(buf, len, "%s %s", head, body);
}

double
watch_elapsed(const struct watch_run *r, double now)
{
	char	holder[256];
	double	since = r->started;

	if (since <= 0 && r->token != NULL)
		watch_token(r->token, holder, sizeof holder, &since);
	return since > 0 && now > since ? now - since : 0;
}

int
watch_changed(const struct strv *shown, const char *key)
{
	return !strv_has(shown, key);
}

int
watch_gone(const char *target, const struct watch_run *runs, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (runs[i].token != NULL && strcmp(runs[i].target, target) == 0)
			return 0;
	return 1;
}

enum watch_fate
watch_fate(const struct watch_run *r)
{
	if (r->token != NULL)
		return WATCH_FLYING;
	if (r->state == NULL)
		return WATCH_ENDED;
	if (strcmp(r->state, "drained") == 0)
		return WATCH_DRAINED;
	return WATCH_INTERRUPTED;
}

void
watch_left(struct strv *left, const struct watch_run *runs, size_t n)
{
	struct strv	 keep = { 0 };
	size_t		 i, j;

	for (i = 0; i < left->n; i++) {
		for (j = 0; j < n; j++)
			if (strcmp(runs[j].target, left->v[i]) == 0)
				break;
		if (j == n || watch_fate(&runs[j]) == WATCH_INTERRUPTED)
			strv_add(&keep, left->v[i]);
	}
	for (j = 0; j < n; j++)
		if (watch_fate(&runs[j]) == WATCH_INTERRUPTED &&
		    !strv_has(&keep, runs[j].target))
			strv_add(&keep, runs[j].target);
	strv_free(left);
	*left = keep;
}

int
watch_exit(size_t interrupted)
{
	return interrupted > 0 ? fsm_exit_code(OUT_RESTORE_FAILED) : EXIT_OK;
}

/* ---- the loop --------------------------------------------------------- */

/* One run as read from Redis (the strings owned). */
struct wrun {
	struct watch	*w;
	char		*target, *token, *state, *holder;
	double		 started;
};

struct watch {
	struct ctx	*c;
	int		 argc;		/* the targets named, or 0: all */
	char		**argv;
	ev_timer	 timer;
	ev_signal	 sig[2];
	int		 rc;		/* -1 while it goes on */
	int		 rounds;	/* refreshes done */
	int		 seen;		/* a run was in flight */
	double		 quiet_since;	/* the first refresh without one since
					   one was; 0: none */
	int		 failing;	/* the last refresh could not read */
	char		 read_err[300];	/* the first error of this refresh */
	int		 tty;		/* stdout a terminal: redraw */
	int		 lines;		/* lines drawn there */
	char		 cursor[32];
	char		*pattern;	/* the lease keys' SCAN pattern */
	size_t		 prefix;	/* strlen of the lease keys' prefix */
	struct wrun	*runs;
	size_t		 nruns;
	unsigned	 pending;	/* replies awaited */
	struct strv	 shown;		/* keys printed (no terminal) */
	struct strv	 targets;	/* in flight at the last refresh */
	struct strv	 left;		/* of those, left interrupted */
};

static void	refresh(struct watch *);

static void
finish(struct watch *w, int rc)
{
	size_t	i;

	if (w->rc != -1)
		return;
	w->rc = rc;
	ev_timer_stop(w->c->loop, &w->timer);
	for (i = 0; i < 2; i++)
		ev_signal_stop(w->c->loop, &w->sig[i]);
	fflush(stdout);
	cmd_done(w->c, rc);
}

static void
runs_free(struct watch *w)
{
	size_t	i;

	for (i = 0; i < w->nruns; i++) {
		free(w->runs[i].target);
		free(w->runs[i].token);
		free(w->runs[i].state);
		free(w->runs[i].holder);
	}
	free(w->runs);
	w->runs = NULL;
	w->nruns = 0;
}

/* The runs as plain data (borrowed), in flight or not. */
static struct watch_run *
plain(struct watch *w)
{
	struct watch_run	*v = xcalloc(w->nruns + 1, sizeof *v);
	size_t			 i;

	for (i = 0; i < w->nruns; i++) {
		v[i].target = w->runs[i].target;
		v[i].token = w->runs[i].token;
		v[i].state = w->runs[i].state;
		v[i].holder = w->runs[i].holder;
		v[i].started = w->runs[i].started;
	}
	return v;
}

/* Show what this refresh read, and decide whether to go on. */
static void
show(struct watch *w)
{
	struct watch_run	*v = plain(w);
	struct strv		 keys = { 0 }, targets = { 0 };
	size_t			 i, n = watch_in_flight(v, w->nruns);
	int			 done;
	double			 now = now_wall();
	char			 key[768], d[32], ts[32];

	if (w->failing)
		log_info("reading the runs in flight again");
	w->failing = 0;

	if (w->tty)
		for (; w->lines > 0; w->lines--)
			fputs("\033[1A\033[2K", stdout);
	for (i = 0; i < w->nruns; i++) {
		if (!strv_has(&w->targets, v[i].target) ||
		    !watch_gone(v[i].target, v, w->nruns))
			continue;
		printf("%s%s%s: no longer in flight", w->tty ? "" :
		    rfc3339(now, ts, sizeof ts), w->tty ? "" : " ",
		    v[i].target);
		switch (watch_fate(&v[i])) {
		case WATCH_INTERRUPTED:
			printf("; INTERRUPTED in state %s (its lease ended, its "
			    "journal is left): see --status, then run "
			    "drain-and-rollout --recover %s\n", v[i].state,
			    v[i].target);
			break;
		case WATCH_DRAINED:
			printf("; left drained by --drain-only (undo with "
			    "--undrain)\n");
			break;
		case WATCH_ENDED:
		case WATCH_FLYING:
			printf("\n");
			break;
		}
	}
	for (i = 0; i < w->nruns; i++) {
		if (v[i].token == NULL)
			continue;
		watch_key(&v[i], key, sizeof key);
		strv_add(&keys, key);
		strv_add(&targets, v[i].target);
		duration_fmt(watch_elapsed(&v[i], now), d, sizeof d);
		if (w->tty) {
			char line[1024], head[320], body[512];
			watch_parts(&v[i], head, sizeof head, body,
			    sizeof body);
			line_fit(line, sizeof line, head, body, d,
			    tty_cols(STDOUT_FILENO));
			printf("%s\n", line);
			w->lines++;
		} else if (watch_changed(&w->shown, key))
			printf("%s %s, for %s\n", rfc3339(now, ts, sizeof ts),
			    key, d);
	}
	watch_left(&w->left, v, w->nruns);
	w->seen |= n > 0;
	if (n > 0)
		w->quiet_since = 0;
	else if (w->quiet_since == 0)
		w->quiet_since = now;
	done = watch_done(n, w->seen, n > 0 ? 0 : now - w->quiet_since);
	if (done)
		printf("no run in flight in namespace %s%s\n", w->c->kube.ns,
		    w->left.n > 0 ? "; a run it followed was interrupted: "
		    "run drain-and-rollout --recover" : "");
	else if (n == 0 && w->tty) {
		char line[128];	/* one row, as every line redrawn */
		line_fit(line, sizeof line, "no run in flight;", "looking "
		    "again for the next one of a batch", "",
		    tty_cols(STDOUT_FILENO));
		printf("%s\n", line);
		w->lines++;
	}
	fflush(stdout);
	strv_free(&w->shown);
	strv_free(&w->targets);
	w->shown = keys;
	w->targets = targets;
	free(v);
	w->rounds++;
	if (done)
		finish(w, watch_exit(w->left.n));
	else {
		ev_timer_set(&w->timer, WATCH_EVERY, 0.);
		ev_timer_start(w->c->loop, &w->timer);
	}
}

/* A refresh could not read Redis: the first ends it, later ones retry. */
static void
failed(struct watch *w, const char *err)
{
	if (w->rounds == 0) {
		log_err("cannot follow the runs in flight: Redis: %s; check "
		    "--redis-url", err);
		finish(w, fsm_exit_code(OUT_PREFLIGHT));
		return;
	}
	if (!w->failing)
		log_warn("cannot read the runs in flight: Redis: %s; retrying "
		    "every %.0fs", err, WATCH_EVERY);
	w->failing = 1;
	ev_timer_set(&w->timer, WATCH_EVERY, 0.);
	ev_timer_start(w->c->loop, &w->timer);
}

/* One reply of a refresh's reads: the last one shows them, unless one
 * failed (a run not read is not a run ended): then it is tried again. */
static void
read_done(struct watch *w, const char *err)
{
	if (err != NULL && w->read_err[0] == '\0')
		snprintf(w->read_err, sizeof w->read_err, "%s", err);
	if (--w->pending > 0)
		return;
	if (w->read_err[0] != '\0')
		failed(w, w->read_err);
	else
		show(w);
}

static void
token_cb(redisReply *rep, const char *err, void *arg)
{
	struct wrun	*r = arg;

	if (r->w->rc != -1)
		return;
	if (rep != NULL && rep->type == REDIS_REPLY_STRING)
		r->token = xstrdup(rep->str);
	read_done(r->w, err);
}

static void
journal_cb(redisReply *rep, const char *err, void *arg)
{
	struct wrun	*r = arg;
	redisReply	*e;

	if (r->w->rc != -1)
		return;
	if (rep != NULL && rep->type == REDIS_REPLY_ARRAY &&
	    rep->elements == 3) {
		e = rep->element[0];
		if (e->type == REDIS_REPLY_STRING)
			r->state = xstrdup(e->str);
		e = rep->element[1];
		if (e->type == REDIS_REPLY_STRING)
			r->holder = xstrdup(e->str);
		e = rep->element[2];
		if (e->type == REDIS_REPLY_STRING)
			r->started = atof(e->str);
	}
	read_done(r->w, err);
}

/* Whether the watch follows target: all, or those named. */
static int
followed(struct watch *w, const char *target)
{
	int	i;

	for (i = 0; i < w->argc; i++)
		if (strcmp(w->argv[i], target) == 0)
			return 1;
	return w->argc == 0;
}

/* A run to read at this refresh, unless it is already. */
static void
run_add(struct watch *w, const char *target)
{
	size_t	j;

	for (j = 0; j < w->nruns; j++)
		if (strcmp(w->runs[j].target, target) == 0)
			return;
	w->runs = xrealloc(w->runs, (w->nruns + 1) * sizeof *w->runs);
	memset(&w->runs[w->nruns], 0, sizeof *w->runs);
	w->runs[w->nruns].w = w;
	w->runs[w->nruns++].target = xstrdup(target);
}

static void
scan_cb(redisReply *rep, const char *err, void *arg)
{
	struct watch	*w = arg;
	redisReply	*keys;
	size_t		 i;
	char		*jk, *lk;

	if (w->rc != -1)
		return;
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY ||
	    rep->elements != 2) {
		failed(w, err != NULL ? err : "unexpected SCAN reply");
		return;
	}
	snprintf(w->cursor, sizeof w->cursor, "%s", rep->element[0]->str);
	keys = rep->element[1];
	for (i = 0; i < keys->elements; i++) {
		const char *t = keys->element[i]->str;
		if (strlen(t) <= w->prefix || !followed(w, t + w->prefix))
			continue;
		run_add(w, t + w->prefix);	/* SCAN may return one twice */
	}
	if (strcmp(w->cursor, "0") != 0) {
		broker_command(w->c->broker, scan_cb, w, "SCAN %s MATCH %s "
		    "COUNT 500", w->cursor, w->pattern);
		return;
	}
	/* those in flight at the last refresh are read again: ended, or
	 * interrupted (their journal left)? */
	for (i = 0; i < w->targets.n; i++)
		run_add(w, w->targets.v[i]);
	if (w->nruns == 0) {
		show(w);
		return;
	}
	/* the runs array is complete: the replies may point into it */
	w->pending = 2 * w->nruns;
	for (i = 0; i < w->nruns; i++) {
		lk = lease_key(w->c, w->runs[i].target);
		jk = journal_key(w->c, w->runs[i].target);
		broker_command(w->c->broker, token_cb, &w->runs[i], "GET %s",
		    lk);
		broker_command(w->c->broker, journal_cb, &w->runs[i],
		    "HMGET %s state holder started", jk);
		free(lk);
		free(jk);
	}
}

static void
refresh(struct watch *w)
{
	runs_free(w);
	w->read_err[0] = '\0';
	snprintf(w->cursor, sizeof w->cursor, "0");
	broker_command(w->c->broker, scan_cb, w, "SCAN 0 MATCH %s COUNT 500",
	    w->pattern);
}

static void
timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	refresh(t->data);
}

static void
ready_cb(redisReply *rep, const char *err, void *arg)
{
	struct watch	*w = arg;

	(void)rep;
	if (w->rc != -1)
		return;
	if (err != NULL)
		failed(w, err);
	else
		refresh(w);
}

static void
signal_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	struct watch	*w = s->data;

	(void)loop;
	(void)revents;
	log_info("signal %d: stopped following the runs; nothing was "
	    "changed", s->signum);
	finish(w, fsm_exit_code(OUT_INTERRUPTED));
}

/* One per process, kept until the loop has ended (watch_free()): a reply
 * already pending when it ends is still delivered, and points into it. */
static struct watch	watch;

void
watch_status(struct ctx *c, int argc, char **argv)
{
	static const int	 sigs[2] = { SIGINT, SIGTERM };
	struct watch		*w = &watch;
	const char		*term = getenv("TERM");
	char			*prefix = lease_key(c, ""), *esc;
	size_t			 i;

	memset(w, 0, sizeof *w);
	w->c = c;
	w->argc = argc;
	w->argv = argv;
	w->rc = -1;
	w->tty = isatty(STDOUT_FILENO) && (term == NULL ||
	    strcmp(term, "dumb") != 0);
	w->prefix = strlen(prefix);
	esc = redis_glob_escape(prefix);
	w->pattern = xasprintf("%s*", esc);
	free(esc);
	free(prefix);
	ev_timer_init(&w->timer, timer_cb, WATCH_EVERY, 0.);
	w->timer.data = w;
	for (i = 0; i < 2; i++) {
		ev_signal_init(&w->sig[i], signal_cb, sigs[i]);
		w->sig[i].data = w;
		if (!signal_ignored_at_start(sigs[i]))
			ev_signal_start(c->loop, &w->sig[i]);
	}
	broker_ready(c->broker, c->o->request_timeout, ready_cb, w);
}

void
watch_free(void)
{
	runs_free(&watch);
	strv_free(&watch.shown);
	strv_free(&watch.targets);
	strv_free(&watch.left);
	free(watch.pattern);
	watch.pattern = NULL;
}
