/*
 * ctl.c -- worker control by Flower or by the broker; see include/ctl.h.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "pidbox.h"
#include "util.h"

#define PIDBOX_TIMEOUT	2.0	/* a live worker answers in milliseconds */
#define PING_TIMEOUT	1.0	/* the broadcast ping collects this long */

enum ckind { C_STATUS, C_REFRESH, C_CONSUMER };

struct ccall {
	struct ctl		*ctl;
	struct ccall		*next;	/* waiting for the same ping */
	enum ckind		 kind;
	char			*worker;
	char			*queue;
	int			 add;
	double			 deadline;
	flower_status_cb	*status_cb;
	flower_snap_cb		*snap_cb;
	flower_done_cb		*done_cb;
	void			*arg;
	/* broker refresh: four inspect answers */
	json_t			*merged;
	int			 waiting;
	int			 answered;
};

static void	dispatch(struct ccall *);

const char *
ctl_via_name(const struct ctl *c)
{
	return c->via == VIA_FLOWER ? "Flower" : "Celery remote control on "
	    "the broker";
}

static void
ccall_free(struct ccall *k)
{
	json_decref(k->merged);
	free(k->worker);
	free(k->queue);
	free(k);
}

/*
 * Flower cannot be used for control (auto mode): it is down (ctl.h says
 * when; a slow answer is waited for), or its API cannot change consumers
 * (Flower 1.x with auth, Flower 2.1 read-only). Go on over the broker,
 * this call and every later one; say it once. A call that was already out
 * when another switched goes over the broker too, quietly.
 */
static int
fallback(struct ccall *k, enum flower_err e, const char *err)
{
	struct ctl	*c = k->ctl;

	if ((e != FLOWER_EDOWN && e != FLOWER_ENOAPI && e != FLOWER_EREADONLY)
	    || c->mode != CTL_AUTO || c->pidbox == NULL)
		return 0;
	/* a call that ran out of its caller's time says nothing of Flower */
	if (e == FLOWER_EDOWN && k->deadline > 0 && now_wall() >= k->deadline)
		return 0;
	if (c->via == VIA_FLOWER) {
		log_warn("%s", err);
		log_warn("%s: continuing with Celery remote control over the "
		    "broker", e == FLOWER_EDOWN ? "Flower is unreachable or "
		    "does not answer" : "Flower's API cannot control the "
		    "workers");
		c->via = VIA_BROKER;
		/* the calls waiting their turn for Flower go now, the broker way */
		flower_drop_waiting(c->flower);
	}
	dispatch(k);
	return 1;
}

static void
f_status(enum flower_err e, struct worker_status *ws, size_t n,
    const char *err, void *arg)
{
	struct ccall	*k = arg;

	if (fallback(k, e, err))
		return;
	k->status_cb(e, ws, n, err, k->arg);
	ccall_free(k);
}

static void
f_snap(enum flower_err e, struct worker_snap *s, const char *err, void *arg)
{
	struct ccall	*k = arg;

	if (fallback(k, e, err))
		return;
	k->snap_cb(e, s, err, k->arg);
	ccall_free(k);
}

static void
f_done(enum flower_err e, const char *err, void *arg)
{
	struct ccall	*k = arg;

	if (fallback(k, e, err))
		return;
	k->done_cb(e, err, k->arg);
	ccall_free(k);
}

/* ---- the broker path ------------------------------------------------- */

/*
 * The broadcast ping is in: every status call that waited for it gets the
 * workers that answered (each its own array).
 */
static void
b_status(json_t *replies, const char *err, void *arg)
{
	struct ctl		*c = arg;
	struct ccall		*k, *next;
	struct worker_status	*ws;
	size_t			 n;
	const char		*name;
	json_t			*v;
	char			 msg[300];

	k = c->ping;
	c->ping = NULL;		/* a status call from a callback pings anew */
	for (; k != NULL; k = next) {
		next = k->next;
		if (replies == NULL) {
			snprintf(msg, sizeof msg, "ping over the broker: %s",
			    err);
			k->status_cb(FLOWER_EDOWN, NULL, 0, msg, k->arg);
			ccall_free(k);
			continue;
		}
		n = 0;
		ws = xcalloc(json_object_size(replies) + 1, sizeof *ws);
		json_object_foreach(replies, name, v) {
			ws[n].name = xstrdup(name);
			ws[n].online = 1;
			n++;
		}
		k->status_cb(FLOWER_OK, ws, n, NULL, k->arg);
		ccall_free(k);
	}
}

/* All four inspect answers are in (or timed out): build the snapshot. */
static void
b_inspected(struct ccall *k)
{
	struct worker_snap	 s;
	char			 msg[400], sub[256];

	if (k->answered < 4) {
		snprintf(msg, sizeof msg, "worker %s did not answer remote "
		    "control over the broker", k->worker);
		k->snap_cb(FLOWER_ENOREPLY, NULL, msg, k->arg);
	} else if (worker_from_json(k->worker, k->merged, &s, sub,
	    sizeof sub) == -1) {
		snprintf(msg, sizeof msg, "worker %s: bad remote control answer:"
		    " %s", k->worker, sub);
		k->snap_cb(FLOWER_EBAD, NULL, msg, k->arg);
	} else {
		k->snap_cb(FLOWER_OK, &s, NULL, k->arg);
		worker_snap_free(&s);
	}
	ccall_free(k);
}

/* Each inspect method answers into its own slot of k->merged. */
struct slot {
	struct ccall	*k;
	const char	*field;
};

static void
b_slot(json_t *replies, const char *err, void *arg)
{
	struct slot	*sl = arg;
	struct ccall	*k = sl->k;
	json_t		*v = replies ? json_object_get(replies, k->worker) : NULL;

	(void)err;
	if (v != NULL) {
		k->answered++;
		json_object_set(k->merged, sl->field, v);
	}
	free(sl);
	if (--k->waiting == 0)
		b_inspected(k);
}

static void
b_done(json_t *replies, const char *err, void *arg)
{
	struct ccall	*k = arg;
	json_t		*v = replies ? json_object_get(replies, k->worker) : NULL;
	json_t		*ok = json_object_get(v, "ok");
	char		 msg[400];

	if (replies == NULL) {
		snprintf(msg, sizeof msg, "%s consumer %s on %s over the broker:"
		    " %s", k->add ? "adding" : "cancelling", k->queue, k->worker,
		    err);
		k->done_cb(FLOWER_EDOWN, msg, k->arg);
	} else if (v == NULL) {
		snprintf(msg, sizeof msg, "worker %s did not answer %s_consumer "
		    "%s over the broker", k->worker, k->add ? "add" : "cancel",
		    k->queue);
		k->done_cb(FLOWER_ENOREPLY, msg, k->arg);
	} else if (!json_is_string(ok)) {
		snprintf(msg, sizeof msg, "worker %s refused %s_consumer %s",
		    k->worker, k->add ? "add" : "cancel", k->queue);
		k->done_cb(FLOWER_EBAD, msg, k->arg);
	} else
		k->done_cb(FLOWER_OK, NULL, k->arg);
	ccall_free(k);
}

static void
dispatch(struct ccall *k)
{
	struct ctl	*c = k->ctl;
	static const char *methods[] = { "active_queues", "active", "reserved",
	    "scheduled" };
	size_t		 i;

	if (c->via == VIA_FLOWER) {
		switch (k->kind) {
		case C_STATUS:
			flower_status(c->flower, k->deadline, f_status, k);
			break;
		case C_REFRESH:
			flower_refresh(c->flower, k->worker, k->deadline, f_snap,
			    k);
			break;
		case C_CONSUMER:
			flower_consumer(c->flower, k->add, k->worker, k->queue,
			    k->deadline, f_done, k);
			break;
		}
		return;
	}
	switch (k->kind) {
	case C_STATUS:
		/*
		 * One broadcast ping at a time for the whole process: every
		 * worker answers each ping, so one per run would make the
		 * workers' (and this reply queue's) load grow with the square
		 * of the runs. A status call joins the ping that is out.
		 */
		k->next = c->ping;
		c->ping = k;
		if (k->next == NULL)
			pidbox_call(c->pidbox, "ping", NULL, NULL, PING_TIMEOUT,
			    b_status, c);
		break;
	case C_REFRESH:
		k->merged = json_pack("{s:f}", "timestamp", now_wall());
		k->waiting = 4;
		for (i = 0; i < 4; i++) {
			struct slot *sl = xcalloc(1, sizeof *sl);
			sl->k = k;
			sl->field = methods[i];
			pidbox_call(c->pidbox, methods[i], NULL, k->worker,
			    PIDBOX_TIMEOUT, b_slot, sl);
		}
		break;
	case C_CONSUMER:
		pidbox_call(c->pidbox, k->add ? "add_consumer" :
		    "cancel_consumer", json_pack("{s:s}", "queue", k->queue),
		    k->worker, PIDBOX_TIMEOUT, b_done, k);
		break;
	}
}

static struct ccall *
ccall_new(struct ctl *c, enum ckind kind, double deadline, void *arg)
{
	struct ccall	*k = xcalloc(1, sizeof *k);

	k->ctl = c;
	k->kind = kind;
	k->deadline = deadline;
	k->arg = arg;
	return k;
}

void
ctl_status(struct ctl *c, double deadline, flower_status_cb *cb, void *arg)
{
	struct ccall	*k = ccall_new(c, C_STATUS, deadline, arg);

	k->status_cb = cb;
	dispatch(k);
}

void
ctl_refresh(struct ctl *c, const char *worker, double deadline,
    flower_snap_cb *cb, void *arg)
{
	struct ccall	*k = ccall_new(c, C_REFRESH, deadline, arg);

	k->worker = xstrdup(worker);
	k->snap_cb = cb;
	dispatch(k);
}

void
ctl_consumer(struct ctl *c, int add, const char *worker, const char *queue,
    double deadline, flower_done_cb *cb, void *arg)
{
	struct ccall	*k = ccall_new(c, C_CONSUMER, deadline, arg);

	k->worker = xstrdup(worker);
	k->queue = xstrdup(queue);
	k->add = add;
	k->done_cb = cb;
	dispatch(k);
}
