/*
 * follow.c -- what the driver follows in the broker besides its own
 * commands: the Celery event subscription, shared by all runs, which hands
 * each event to every run (run_event(): its state's event hook); and the backlog of a run's
 * queues. See follow.h.
 */
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "events.h"
#include "follow.h"
#include "runpriv.h"

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
	char	*pat;

	if (c->o->no_events || c->o->dry_run)
		return;
	pat = keys_fanout_pattern(&c->keys, "celeryev");
	broker_psubscribe(c->broker, pat, on_event, on_sub_state, c);
	free(pat);
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

