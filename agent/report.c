/*
 * report.c -- what the operator sees; see include/report.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "http.h"
#include "imgcheck.h"
#include "journal.h"
#include "report.h"
#include "runpriv.h"

const char *
report_state_words(enum fsm_state s)
{
	switch (s) {
	case ST_RESOLVE:
		return "resolving the deployment, its pods and workers";
	case ST_LOCK:
		return "taking the lease";
	case ST_CANCEL:
		return "cancelling consumers";
	case ST_DRAIN:
		return "draining: waiting for running and prefetched tasks";
	case ST_RESTART:
		return "restarting the rollout";
	case ST_ROLLOUT:
		return "waiting for the rollout";
	case ST_VERIFY:
		return "verifying that a new worker consumes the queues";
	case ST_RESTORE:
		return "restoring the cancelled consumers";
	case ST_DETACH:
		return "handover: pausing, orphaning the old pods";
	case ST_RETIRE:
		return "handover: deleting the drained old pods";
	case ST_HISTORY:
		return "handover: recreating the old ReplicaSets at 0";
	case ST_GIVEBACK:
		return "handover: giving the old pods back to their "
		    "ReplicaSets";
	case ST_INFLIGHT:
		return "waiting until the Deployment PATCH sent can no longer "
		    "land";
	case ST_END:
		break;
	}
	return "done";
}

static struct ctx	*live_ctx;
static int		 live_lines;

static void
live_erase(void)
{
	for (; live_lines > 0; live_lines--)
		fputs("\033[1A\033[2K", stderr);
}

static int	live_bold;	/* NO_COLOR unset */

/*
 * One line of the live block, fitted to the terminal's width (cols): a
 * line that wrapped would take two rows and live_erase() would leave one
 * behind. HEAD (the name, the state and the counts) and TAIL (the time
 * elapsed) are kept, BODY is cut in its middle (line_fit()). The
 * deployment's name, the first field, is in bold unless NO_COLOR is set.
 */
static void
live_line(const char *name, const char *head, const char *body,
    const char *tail, size_t cols)
{
	char	line[512];
	size_t	len, bold;

	len = line_fit(line, sizeof line, head, body, tail, cols);
	bold = strlen(name);
	if (bold > len)
		bold = len;
	if (live_bold)
		fprintf(stderr, "\033[1m%.*s\033[0m%s\n", (int)bold, line,
		    line + bold);
	else
		fprintf(stderr, "%s\n", line);
	live_lines++;
}

static void
live_draw(void)
{
	struct ctx	*c = live_ctx;
	size_t		 i, j, left, running, pre;
	char		 d[32], bl[64], head[320], body[192];
	double		 now;
	size_t		 cols;

	if (c == NULL)
		return;
	cols = tty_cols(STDERR_FILENO);
	now = ev_now(c->loop);
	for (i = 0; i < c->nruns; i++) {
		struct run *r = c->runs[i];
		if (i >= c->next || r->fsm.state == ST_END)
			continue;
		left = running = pre = 0;
		for (j = 0; j < r->nw; j++) {
			left += drainset_inflight(&r->w[j].tasks);
			running += r->w[j].snap.active.n;
			pre += r->w[j].snap.reserved.n;
		}
		if (r->backlog >= 0)
			snprintf(bl, sizeof bl, ", backlog %ld", r->backlog);
		else
			bl[0] = '\0';
		if (r->fsm.state == ST_DRAIN) {
			snprintf(head, sizeof head, "%-24s %-8s %zu task(s) "
			    "left", r->name, fsm_state_name(r->fsm.state), left);
			snprintf(body, sizeof body, "(%zu running, %zu "
			    "prefetched at the cancel)%s,", running, pre, bl);
		} else {
			snprintf(head, sizeof head, "%-24s %-8s", r->name,
			    fsm_state_name(r->fsm.state));
			body[0] = '\0';
		}
		live_line(r->name, head, body, duration_fmt(now - r->started,
		    d, sizeof d), cols);
	}
	fflush(stderr);
}

/* The elapsed times move on while nothing else happens (RESOLVE). */
static ev_timer	live_clock;

static void
live_clock_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	report_live_redraw();
}

void
report_live_start(struct ctx *c)
{
	const char	*term = getenv("TERM"), *nc = getenv("NO_COLOR");

	/* a dumb terminal cannot move the cursor up: no live block */
	if (!isatty(STDERR_FILENO) || log_level() != LOG_INFO ||
	    (term != NULL && strcmp(term, "dumb") == 0))
		return;
	live_bold = nc == NULL || *nc == '\0';	/* no-color.org */
	live_ctx = c;
	log_hooks(live_erase, live_draw);
	ev_timer_init(&live_clock, live_clock_cb, 1., 1.);
	ev_timer_start(c->loop, &live_clock);
	ev_unref(c->loop);	/* keeps no run going */
}

void
report_live_redraw(void)
{
	if (live_ctx == NULL)
		return;
	live_erase();
	live_draw();
}

static void
report_live_stop(void)
{
	if (live_ctx == NULL)
		return;
	ev_ref(live_ctx->loop);
	ev_timer_stop(live_ctx->loop, &live_clock);
	live_erase();
	log_hooks(NULL, NULL);
	live_ctx = NULL;
}

void
report_state(struct run *r)
{
	r->reached = (int)r->fsm.state + 1;
	log_info("%s: %s", r->name, report_state_words(r->fsm.state));
}

static void
backlog_words(struct run *r, char *buf, size_t len)
{
	char	*q = strv_join(&r->queues, ",");

	if (r->backlog < 0)
		snprintf(buf, len, "backlog of %s unknown (broker unreachable)",
		    q);
	else
		snprintf(buf, len, "backlog %s=%ld, unacked %ld", q, r->backlog,
		    r->unacked);
	free(q);
}

/* --handover: the old ReplicaSets as listed (borrowed), or NULL. */
static json_t *
handover_rss(struct run *r)
{
	json_t	*a = json_object_get(r->ho, "replicasets");

	if (!r->fsm.handover)
		return NULL;
	if (!json_is_array(a))
		a = json_object_get(r->ho_seen, "replicasets");
	return json_is_array(a) ? a : NULL;
}

/* "NAME (revision 3, 2 replicas), ..." */
static char *
rss_words(json_t *rss)
{
	struct strv	 v = { 0 };
	json_t		*rs;
	size_t		 i;
	char		*s;

	json_array_foreach(rss, i, rs) {
		json_t *m = json_object_get(rs, "metadata");
		json_int_t n = json_integer_value(json_object_get(
		    json_object_get(rs, "spec"), "replicas"));
		const char *rev = json_string_value(json_object_get(
		    json_object_get(m, "annotations"),
		    "deployment.kubernetes.io/revision"));
		s = xasprintf("%s (revision %s, %lld replica%s)",
		    json_string_value(json_object_get(m, "name")) ?
		    json_string_value(json_object_get(m, "name")) : "?",
		    rev ? rev : "?", (long long)n, n == 1 ? "" : "s");
		strv_add(&v, s);
		free(s);
	}
	s = strv_join(&v, ", ");
	strv_free(&v);
	return s;
}


char *
run_undrain_command(struct run *r, const struct strv *queues)
{
	const struct kube_creds	*kc = r->ctx->kube.creds;

	return undrain_command(r->name, kc != NULL ? kc->context : NULL,
	    r->ctx->kube.ns, queues);
}

/*
 * --status: every worker that consumes none of its queues (worker.h
 * worker_left_drained()), journal or not, and the command that gives them
 * back.
 */
static void
report_left_drained(struct run *r)
{
	struct strv	 jq, its, others;
	size_t		 i, j;
	char		*q, *cmd;

	for (i = 0; i < r->nw; i++) {
		struct wk *w = &r->w[i];
		if (w->gone || !w->snap.have_queues)
			continue;
		memset(&jq, 0, sizeof jq);
		memset(&its, 0, sizeof its);
		memset(&others, 0, sizeof others);
		journal_queues(r, w->name, 0, &jq);
		for (j = 0; j < r->nw; j++)
			if (j != i)
				strv_unique(&others, &r->w[j].snap.queues, NULL);
		if (worker_left_drained(&jq, &r->dep.queues, &others,
		    &w->snap.queues, &its)) {
			q = strv_join(&its, ",");
			cmd = run_undrain_command(r, &its);
			log_warn("%s:   %s consumes none of its queues (%s); "
			    "give them back with: %s", r->name, w->name, q,
			    cmd);
			free(q);
			free(cmd);
		}
		strv_free(&jq);
		strv_free(&its);
		strv_free(&others);
	}
}

/* stdout and stderr are the same file (a terminal): say things once. */
static int
same_output(void)
{
	struct stat	o, e;

	return fstat(STDOUT_FILENO, &o) == 0 && fstat(STDERR_FILENO, &e) == 0 &&
	    o.st_dev == e.st_dev && o.st_ino == e.st_ino;
}

void
report_target(struct ctx *c)
{
	char	*words = target_words(&c->target);
	int	 plan = c->o->dry_run && !c->o->json;

	report_json_set("target", target_json(&c->target));

	if (!plan || !same_output())
		log_info("target: %s", words);
	if (plan) {
		printf("target: %s\n", words);
		fflush(stdout);
	}
	free(words);
}

/*
 * A line of the progress report: the plan of --dry-run (text) is its
 * output, on stdout; everything else is logged.
 */
static void	progress_line(struct run *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
progress_line(struct run *r, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		s = NULL;
	va_end(ap);
	if (s == NULL)
		return;
	if (r->fsm.dry_run && r->mode == RUN_DRAIN && r->ctx->o->dry_run &&
	    !r->ctx->o->json) {
		live_erase();	/* stdout may be the same terminal */
		printf("%s\n", s);
		fflush(stdout);
		live_draw();
	} else
		log_info("%s", s);
	free(s);
}

void
report_progress(struct run *r, int force)
{
	size_t	 i;
	char	 bl[300], d[32];
	double	 now = now_wall();

	if (live_ctx != NULL && !force) {
		report_live_redraw();
		return;
	}
	backlog_words(r, bl, sizeof bl);
	if ((r->fsm.dry_run || r->fsm.state == ST_RESOLVE) &&
	    handover_rss(r) != NULL) {
		char *w = rss_words(handover_rss(r));
		progress_line(r, "%s: plan (--handover): pause; delete ReplicaSet(s) "
		    "%s with propagation Orphan, their pods orphaned and "
		    "relabelled; restart and resume; once a new worker "
		    "consumes, drain %zu old worker(s) and delete their pods; "
		    "recreate those ReplicaSets with 0 replicas; %s", r->name,
		    w, r->nw, bl);
		free(w);
	} else if (r->fsm.dry_run || r->fsm.state == ST_RESOLVE)
		progress_line(r, "%s: plan: drain %zu worker(s), then restart the "
		    "rollout; %s", r->name, r->nw, bl);
	for (i = 0; i < r->nw; i++) {
		struct wk *w = &r->w[i];
		char *a = tasks_describe(&w->snap.active, now);
		char *q = strv_join(&w->queues, ",");
		if (w->gone)
			progress_line(r, "%s:   %s: gone", r->name, w->name);
		else if (w->drained)
			progress_line(r, "%s:   %s: drained", r->name, w->name);
		else if (r->fsm.state == ST_DRAIN && !r->polling)
			progress_line(r, "%s:   %s: %zu task(s) left of %zu running and "
			    "%zu prefetched at the cancel%s%s%s", r->name, w->name,
			    drainset_inflight(&w->tasks), w->snap.active.n,
			    w->snap.reserved.n,
			    a[0] ? " (" : "", a, a[0] ? ")" : "");
		else
			progress_line(r, "%s:   %s [%s]: %zu running%s%s%s, %zu "
			    "prefetched%s", r->name, w->name, q,
			    w->snap.active.n, a[0] ? " (" : "", a,
			    a[0] ? ")" : "", w->snap.reserved.n,
			    w->snap.scheduled.n ? ", plus tasks with an ETA" :
			    "");
		free(a);
		free(q);
	}
	if (r->mode == RUN_STATUS)
		report_left_drained(r);
	if (!r->fsm.dry_run && r->fsm.state == ST_DRAIN)
		log_info("%s: %s; draining for %s", r->name, bl,
		    duration_fmt(ev_now(r->ctx->loop) - r->t_enter, d,
		    sizeof d));
}

static const char *
outcome_words(enum fsm_outcome o)
{
	switch (o) {
	case OUT_OK:
		return "rolled out and verified";
	case OUT_DRY_RUN:
		return "dry run: nothing changed";
	case OUT_NOTHING:
		return "nothing to do";
	case OUT_SKIPPED:
		return "skipped";	/* r->err says why */
	case OUT_DRAINED:
		return "drained (--drain-only): the workers consume nothing "
		    "until --undrain";
	case OUT_LOCKED:
		return "not started: another run holds the lease";
	case OUT_PREFLIGHT:
		return "not started: nothing was changed";
	case OUT_INTERRUPTED:
		return "interrupted";
	case OUT_ABORTED:
		return "aborted: consumers restored, no restart sent";
	case OUT_VERIFY_FAILED:
		return "rolled out, but no new worker consumes the queues";
	case OUT_ROLLOUT_FAILED:
		return "the rollout failed";
	case OUT_RESTORE_FAILED:
		return "ATTENTION: workers may be left without consumers; run "
		    "drain-and-rollout --recover";
	case OUT_LEASE_LOST:
		return "ATTENTION: the lease was lost; stopped without acting "
		    "further: workers it drained are named above, with the "
		    "command that gives them their queues back; --status "
		    "lists them";
	case OUT_NONE:
		break;
	}
	return "?";
}

/* The outcome in words, for what this run set out to do. */
static const char *
run_words(struct run *r)
{
	if ((r->mode == RUN_UNDRAIN || r->mode == RUN_RECOVER) &&
	    r->fsm.outcome == OUT_OK && r->new_worker == NULL)
		return "consumers restored";
	if (r->mode == RUN_RECOVER && r->fsm.outcome == OUT_NOTHING)
		return "nothing to recover";
	if (r->mode == RUN_STATUS && r->fsm.outcome == OUT_DRY_RUN)
		return "status shown";
	if (imgcheck_words(r) != NULL)		/* --only-stale */
		return imgcheck_words(r);
	return outcome_words(r->fsm.outcome);
}

const char *
outcome_message(enum fsm_outcome o, const char *err, const char *words)
{
	if (err != NULL && err[0] != '\0' && (o > OUT_DRAINED ||
	    o == OUT_SKIPPED))
		return err;
	return words;
}

/* What the summary says of a run: its error, or what it did. */
static const char *
run_message(struct run *r)
{
	return outcome_message(r->fsm.outcome, r->err, run_words(r));
}

/* Tasks the run's vanished workers held: possibly lost. */
static size_t
run_lost(const struct run *r)
{
	size_t	i, n = 0;

	for (i = 0; i < r->nw; i++)
		n += r->w[i].nlost;
	return n;
}

void
report_outcome(struct run *r)
{
	char	d[32];
	double	len = r->finished - r->started;
	size_t	i;

	for (i = 0; i < r->nw; i++)
		if (r->w[i].lost != NULL)
			log_warn("%s: worker %s vanished during the drain; tasks "
			    "possibly lost: %s", r->name, r->w[i].name,
			    r->w[i].lost);
	if (r->mode == RUN_STATUS)
		;
	else if (r->fsm.outcome == OUT_OK || r->fsm.outcome == OUT_DRY_RUN ||
	    r->fsm.outcome == OUT_NOTHING || r->fsm.outcome == OUT_DRAINED)
		log_info("%s: %s in %s", r->name, run_words(r),
		    duration_fmt(len, d, sizeof d));
	else if (r->fsm.outcome == OUT_SKIPPED)
		log_info("%s: %s (%s)", r->name, outcome_words(r->fsm.outcome),
		    r->err);
	else
		log_err("%s: %s%s%s", r->name, outcome_words(r->fsm.outcome),
		    r->err[0] ? ": " : "", r->err);
}

/*
 * A JSON string of text that may be cut or come from outside (an error
 * body): never refused by jansson, bytes that are not UTF-8 become U+FFFD.
 * NULL stays NULL (for "o?").
 */
static json_t *
jtext(const char *s)
{
	char	*u;
	json_t	*j;

	if (s == NULL)
		return NULL;
	u = utf8_clean(s);
	j = json_string(u);
	free(u);
	return j;
}

/*
 * A worker's tasks as its last snapshot shows them, before a drain waits
 * for any (the plan of --dry-run, --status): running, then prefetched.
 */
static json_t *
snap_tasks(const struct worker_snap *s)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < s->active.n + s->reserved.n; i++) {
		const struct task_ref *t = i < s->active.n ? &s->active.v[i] :
		    &s->reserved.v[i - s->active.n];
		char *u = utf8_cap(t->id, TASK_TEXT_MAX);
		json_array_append_new(a, json_pack("{s:s,s:s?,s:s}", "id", u,
		    "name", t->name, "state", i < s->active.n ? "running" :
		    "prefetched"));
		free(u);
	}
	return a;
}

static json_t *
run_json(struct run *r)
{
	json_t	*o, *ws, *t, *tasks, *v, *img;
	size_t	 i, j;
	int	 s;
	const char *id;

	t = json_object();
	for (s = ST_RESOLVE; s < ST_END; s++)
		if (r->t_state[s] > 0)
			json_object_set_new(t, fsm_state_name(s),
			    json_real(seconds_ms(r->t_state[s])));
	ws = json_array();
	for (i = 0; i < r->nw; i++) {
		struct wk *w = &r->w[i];
		json_t *q = json_array();
		for (j = 0; j < w->queues.n; j++)
			json_array_append_new(q, jtext(w->queues.v[j]));
		tasks = w->waited == NULL ? snap_tasks(&w->snap) : json_array();
		json_object_foreach(w->waited, id, v) {
			/* the id as a worker or an event gave it: bounded */
			char *u = utf8_cap(id, TASK_TEXT_MAX);
			json_array_append_new(tasks, json_pack("{s:s,s:O,s:O}",
			    "id", u, "name", json_object_get(v, "name"),
			    "state", json_object_get(v, "state")));
			free(u);
		}
		json_array_append_new(ws, json_pack("{s:o,s:o,s:b,s:b,s:o,s:o?,"
		    "s:o?}", "name", jtext(w->name), "queues", q, "drained",
		    w->drained, "gone", w->gone, "tasks", tasks,
		    "possibly_lost", jtext(w->lost), "undrain",
		    jtext(w->undrain)));
	}
	o = json_pack("{s:o,s:o,s:s,s:i,s:f,s:o,s:o,s:o?,s:o?,s:I,s:o?}",
	    "deployment", jtext(r->name), "namespace", jtext(r->ctx->kube.ns),
	    "outcome", fsm_outcome_name(r->fsm.outcome),
	    "exit_code", fsm_exit_code(r->fsm.outcome),
	    "seconds", seconds_ms(r->finished - r->started),
	    "states", t, "workers", ws,
	    "new_worker", jtext(r->new_worker),
	    "error", jtext(r->err[0] ? r->err : NULL),
	    "backlog", (json_int_t)r->backlog,
	    "restarted_at", jtext(r->restarted_at));
	if (o == NULL) {	/* never leave a deployment out of the report */
		log_err("%s: incomplete JSON report entry", r->name);
		o = json_pack("{s:o,s:s,s:i}", "deployment", jtext(r->name),
		    "outcome", fsm_outcome_name(r->fsm.outcome), "exit_code",
		    fsm_exit_code(r->fsm.outcome));
	}
	json_object_set_new(o, "forced", json_boolean(r->fsm.forced));
	json_object_set_new(o, "state", r->reached > 0 ?
	    json_string(fsm_state_name(r->reached - 1)) : json_null());
	json_object_set_new(o, "message", jtext(run_message(r)));
	ws = json_array();
	for (i = 0; i < r->new_workers.n; i++)
		json_array_append_new(ws, jtext(r->new_workers.v[i]));
	json_object_set_new(o, "new_workers", ws);
	json_object_set_new(o, "unacked", json_integer(r->unacked));
	if ((img = imgcheck_json(r)) != NULL)	/* --only-stale, triggers */
		json_object_set_new(o, "image", img);
	if (handover_rss(r) != NULL) {
		/* deleted (pods orphaned), then recreated: with 0 replicas
		 * after a handover, as the plan keeps them when given back */
		json_t *a = json_array(), *rs;
		json_array_foreach(handover_rss(r), i, rs) {
			json_t *m = json_object_get(rs, "metadata");
			json_array_append_new(a, json_pack("{s:O?,s:O?,s:O?}",
			    "name", json_object_get(m, "name"), "revision",
			    json_object_get(json_object_get(m, "annotations"),
			    "deployment.kubernetes.io/revision"), "replicas",
			    json_object_get(json_object_get(rs, "spec"),
			    "replicas")));
		}
		json_object_set_new(o, "handover", json_pack("{s:o}",
		    "replicasets", a));
	}
	return o;
}

/* The HELP and TYPE lines of a gauge; its samples must follow at once. */
static void
family(FILE *f, const char *name, const char *help)
{
	fprintf(f, "# HELP drain_and_rollout_%s %s\n"
	    "# TYPE drain_and_rollout_%s gauge\n", name, help, name);
}

/* A sample's labels: {namespace="NS",deployment="NAME"}, values escaped. */
static char *
labels(struct ctx *c, const char *name)
{
	char	*ns = prom_label_escape(c->kube.ns);
	char	*n = prom_label_escape(name), *out;

	out = xasprintf("{namespace=\"%s\",deployment=\"%s\"", ns, n);
	free(ns);
	free(n);
	return out;		/* open: a sample adds labels, then '}' */
}

#define LAST_SUCCESS	"drain_and_rollout_last_success_timestamp_seconds"

/*
 * The last-success samples of the metrics file being replaced, except
 * those this run renews: a run that fails, a --recover, or another
 * deployment's run keeps when each deployment last succeeded.
 */
static void
kept_successes(struct ctx *c, struct strv *out)
{
	FILE	*f;
	char	*line = NULL, err[300], *l, *end;
	size_t	 cap = 0, i;
	ssize_t	 n;
	int	 renewed;
	struct strv all = { 0 };

	if ((f = open_regular(c->o->metrics_file, 0, err, sizeof err)) == NULL)
		return;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		/* only a well-formed sample of ours: {...} VALUE */
		if (strncmp(line, LAST_SUCCESS "{", sizeof LAST_SUCCESS) != 0 ||
		    (l = strrchr(line, '}')) == NULL || l[1] != ' ' ||
		    strtod(l + 2, &end) <= 0 || *end != '\0')
			continue;
		for (renewed = 0, i = 0; i < c->nruns && !renewed; i++) {
			if (c->runs[i]->fsm.outcome != OUT_OK)
				continue;
			l = labels(c, c->runs[i]->name);
			renewed = strncmp(line + sizeof LAST_SUCCESS - 1, l,
			    strlen(l)) == 0 && strncmp(line + sizeof
			    LAST_SUCCESS - 1 + strlen(l), "} ", 2) == 0;
			free(l);
		}
		if (!renewed)
			strv_add(&all, line);
	}
	strv_unique(out, &all, NULL);
	strv_free(&all);
	free(line);
	fclose(f);
}

/*
 * A new file with a random name in the target's directory, created
 * exclusively (O_EXCL, and O_NOFOLLOW: never through a link someone put
 * there), for rename() into place.
 */
static FILE *
metrics_tmp(const char *path, char **tmp)
{
	unsigned char	rnd[8];
	int		fd = -1, tries;
	FILE		*f;

	for (tries = 0; tries < 10 && fd == -1; tries++) {
		if (RAND_bytes(rnd, sizeof rnd) != 1)
			return NULL;
		*tmp = xasprintf("%s.tmp.%02x%02x%02x%02x%02x%02x%02x%02x", path,
		    rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6],
		    rnd[7]);
		fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0644);
		if (fd == -1) {
			free(*tmp);
			*tmp = NULL;
			if (errno != EEXIST)
				return NULL;
		}
	}
	if (fd == -1)
		return NULL;
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(*tmp);
		free(*tmp);
		*tmp = NULL;
	}
	return f;
}

static void
write_metrics(struct ctx *c)
{
	char		*tmp = NULL, *l;
	FILE		*f;
	size_t		 i;
	struct strv	 kept = { 0 };
	int		 ok;

	kept_successes(c, &kept);
	if ((f = metrics_tmp(c->o->metrics_file, &tmp)) == NULL) {
		log_err("cannot write metrics %s: cannot create a temporary "
		    "file beside it: %s", c->o->metrics_file, strerror(errno));
		strv_free(&kept);
		return;
	}
	family(f, "outcome", "Outcome of the last run per deployment (1 for "
	    "the outcome it had).");
	for (i = 0; i < c->nruns; i++) {
		l = labels(c, c->runs[i]->name);
		fprintf(f, "drain_and_rollout_outcome%s,outcome=\"%s\"} 1\n", l,
		    fsm_outcome_name(c->runs[i]->fsm.outcome));
		free(l);
	}
	family(f, "skipped_outside_window", "1 if the last run did not start "
	    "the deployment because the window (--window) had closed.");
	for (i = 0; i < c->nruns; i++) {
		l = labels(c, c->runs[i]->name);
		fprintf(f, "drain_and_rollout_skipped_outside_window%s} %d\n", l,
		    c->runs[i]->outside_window);
		free(l);
	}
	family(f, "last_success_timestamp_seconds", "When the deployment last "
	    "rolled out successfully.");
	for (i = 0; i < kept.n; i++)
		fprintf(f, "%s\n", kept.v[i]);
	for (i = 0; i < c->nruns; i++) {
		if (c->runs[i]->fsm.outcome != OUT_OK)
			continue;
		l = labels(c, c->runs[i]->name);
		fprintf(f, LAST_SUCCESS "%s} %.0f\n", l, now_wall());
		free(l);
	}
	family(f, "possibly_lost_tasks", "Tasks held by workers that vanished "
	    "during the last run's drain.");
	for (i = 0; i < c->nruns; i++) {
		l = labels(c, c->runs[i]->name);
		fprintf(f, "drain_and_rollout_possibly_lost_tasks%s} %zu\n", l,
		    run_lost(c->runs[i]));
		free(l);
	}
	family(f, "worker_drained", "Each worker of the last run: 1 if it "
	    "drained it, 0 if not (vanished, or the run ended before).");
	for (i = 0; i < c->nruns; i++) {
		struct run *r = c->runs[i];
		size_t j;
		l = labels(c, r->name);
		for (j = 0; j < r->nw; j++) {
			char *wn = prom_label_escape(r->w[j].name);
			fprintf(f, "drain_and_rollout_worker_drained%s,worker="
			    "\"%s\"} %d\n", l, wn, r->w[j].drained &&
			    !r->w[j].gone);
			free(wn);
		}
		free(l);
	}
	family(f, "state_seconds", "Time spent per state in the last run.");
	for (i = 0; i < c->nruns; i++) {
		struct run *r = c->runs[i];
		int s;
		l = labels(c, r->name);
		for (s = ST_RESOLVE; s < ST_END; s++)
			if (r->t_state[s] > 0)
				fprintf(f, "drain_and_rollout_state_seconds%s,"
				    "state=\"%s\"} %.3f\n", l, fsm_state_name(s),
				    r->t_state[s]);
		free(l);
	}
	strv_free(&kept);
	ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (fclose(f) != 0 || !ok || rename(tmp, c->o->metrics_file) == -1) {
		log_err("cannot write metrics %s: %s", c->o->metrics_file,
		    strerror(errno));
		unlink(tmp);
	}
	free(tmp);
}

static void
notified(const struct http_resp *resp, void *arg)
{
	struct ctx	*c = arg;
	char		 d[256];

	c->ops--;
	if (resp->err != HTTP_OK || resp->status / 100 != 2)
		log_warn("the notification webhook failed: %s",
		    http_describe(resp, d, sizeof d));
}

static void
notify(struct ctx *c)
{
	struct http_req	 req;
	size_t		 i, j;
	int		 bad = 0;
	char		*text = xstrdup(""), *p;
	json_t		*body;
	char		*js;

	for (i = 0; i < c->nruns; i++) {
		struct run *r = c->runs[i];
		int ok = r->fsm.outcome <= OUT_DRAINED;
		size_t lost = run_lost(r);
		/* a vanished worker's tasks are worth a message on success */
		bad |= !ok || lost > 0;
		p = xasprintf("%s%s%s %s/%s: %s%s%s", text, i ? "\n" : "",
		    !ok ? "FAILED" : lost ? "WARNING" : "OK", c->kube.ns,
		    r->name, outcome_words(r->fsm.outcome),
		    r->err[0] && !ok ? ": " : "", !ok ? r->err : "");
		free(text);
		text = p;
		for (j = 0; j < r->nw; j++) {
			if (r->w[j].lost == NULL)
				continue;
			p = xasprintf("%s; worker %s vanished, %zu task(s) "
			    "possibly lost: %s", text, r->w[j].name,
			    r->w[j].nlost, r->w[j].lost);
			free(text);
			text = p;
		}
	}
	if (!bad && !c->o->notify_on_success) {
		free(text);
		return;
	}
	p = xasprintf("drain-and-rollout on %s:\n%s", c->holder, text);
	body = json_pack("{s:o}", "text", jtext(p));
	js = json_dumps(body, JSON_COMPACT);
	memset(&req, 0, sizeof req);
	req.method = "POST";
	req.url = c->o->notify_url;
	req.secret_url = 1;		/* its path holds a token */
	req.content_type = "application/json";
	req.body = js;
	req.timeout = 10;
	req.retry = 1;
	req.deadline = ev_now(c->loop) + 30;
	/* an operation of the loop's end: it ends once sent, or failed for
	 * good */
	c->ops++;
	(void)http_do(c->http, &req, notified, c);
	json_decref(body);
	free(js);
	free(p);
	free(text);
}

void
report_outcomes(struct ctx *c)
{
	size_t	 i, lost;
	char	 d[32];

	report_live_stop();
	if (c->o->json) {
		for (i = 0; i < c->nruns; i++)
			report_json_deployment(run_json(c->runs[i]));
	} else if (c->nruns > 1 || !isatty(STDOUT_FILENO)) {
		for (i = 0; i < c->nruns; i++) {
			struct run *r = c->runs[i];
			printf("%-24s %-16s %8s  %s", r->name,
			    fsm_outcome_name(r->fsm.outcome),
			    duration_fmt(r->finished > r->started ?
			    r->finished - r->started : 0, d, sizeof d),
			    run_message(r));
			if ((lost = run_lost(r)) > 0)
				printf("; %zu task(s) possibly lost", lost);
			printf("\n");
		}
	}
	fflush(stdout);
}

void
report_summary(struct ctx *c)
{
	report_outcomes(c);
	/* --status shows; it does not replace what the runs wrote */
	if (c->o->dry_run || (c->nruns > 0 && c->runs[0]->mode == RUN_STATUS))
		return;
	if (c->o->metrics_file != NULL)
		write_metrics(c);
	if (c->o->notify_url != NULL)
		notify(c);
}

/* ---- -o json: the one document --------------------------------------- */

static json_t	*jdoc;

static void
json_first_error(const char *msg)
{
	if (jdoc != NULL && json_is_null(json_object_get(jdoc, "error")))
		json_object_set_new(jdoc, "error", jtext(msg));
}

void
report_json_begin(const char *command, int dry_run)
{
	if (jdoc != NULL)
		return;
	jdoc = json_pack("{s:i,s:s,s:b,s:n,s:n,s:[],s:n}", "version",
	    REPORT_JSON_VERSION, "command", command, "dry_run", dry_run,
	    "exit_status", "target", "deployments", "error");
	log_err_hook(json_first_error);
}

int
report_json_on(void)
{
	return jdoc != NULL;
}

void
report_json_set(const char *key, json_t *v)
{
	if (jdoc == NULL || v == NULL) {
		json_decref(v);
		return;
	}
	json_object_set_new(jdoc, key, v);
}

void
report_json_deployment(json_t *d)
{
	if (jdoc == NULL || d == NULL) {
		json_decref(d);
		return;
	}
	json_array_append_new(json_object_get(jdoc, "deployments"), d);
}

json_t *
report_json_entry(const char *name, enum fsm_outcome o, const char *message,
    double seconds)
{
	json_t	*ns = json_object_get(json_object_get(jdoc, "target"),
		    "namespace");

	return json_pack("{s:o,s:O?,s:s,s:i,s:n,s:f,s:o?,s:[]}", "deployment",
	    jtext(name), "namespace", ns, "outcome", fsm_outcome_name(o),
	    "exit_code", fsm_exit_code(o), "state", "seconds",
	    seconds_ms(seconds), "message", message != NULL ? jtext(message) :
	    json_incref(json_object_get(jdoc, "error")), "workers");
}

int
report_json_end(int rc)
{
	char	*s;

	if (jdoc == NULL)
		return rc;
	log_err_hook(NULL);
	json_object_set_new(jdoc, "exit_status", json_integer(rc));
	if ((s = json_dumps(jdoc, JSON_INDENT(2))) != NULL) {
		printf("%s\n", s);
		free(s);
	}
	fflush(stdout);
	json_decref(jdoc);
	jdoc = NULL;
	return rc;
}
