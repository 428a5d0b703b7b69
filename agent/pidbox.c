/*
 * pidbox.c -- Celery remote control over Redis; see include/pidbox.h.
 */
#include <ev.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "b64.h"
#include "broker.h"
#include "http.h"
#include "keys.h"
#include "pidbox.h"
#include "util.h"

#define BINDINGS	"_kombu.binding.reply.celery.pidbox"
#define REPLY_QUEUE	"%s.reply.celery.pidbox"
#define MAX_REPLY	HTTP_MAX_BODY	/* replies are capped as HTTP bodies */
#define POP_BATCH	1000	/* list entries read in one round trip */
#define LATE		1.0	/* a broadcast waits at most this long past its
				   timeout for the replies queued before it */

/*
 * Read the reply list: up to ARGV[2] replies, oldest first, after the
 * number left in the list. Only the replies to the calls in flight (their
 * tickets: ARGV[3] on) cross the wire, at most ARGV[1] bytes of them; the
 * others, late answers to calls that have ended, are dropped there, so a
 * pile of them costs one LRANGE and one LTRIM per batch. A reply of ours
 * larger than ARGV[1] bytes is dropped too, an error in its place naming
 * its size and ticket.
 */
static const char pop_lua[] =
    "local cap, n = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "local ours = {}\n"
    "for j = 3, #ARGV do ours[ARGV[j]] = true end\n"
    "local function ticket(v)\n"
    "  local t = string.match(v, '\"ticket\": *\"([%w%-]+)\"')\n"
    "  if t then return ours[t] and t end\n"
    "  for j = 3, #ARGV do\n"
    "    if string.find(v, ARGV[j], 1, true) then return ARGV[j] end\n"
    "  end\n"
    "end\n"
    "local vs = redis.call('LRANGE', KEYS[1], -n, -1)\n"
    "local out, total, taken = {0}, 0, 0\n"
    "for i = #vs, 1, -1 do\n"
    "  local v = vs[i]\n"
    "  local t = ticket(v)\n"
    "  if t and #v <= cap and total + #v > cap then break end\n"
    "  taken = taken + 1\n"
    "  if t and #v > cap then\n"
    "    out[#out + 1] = redis.error_reply('TOOBIG ' .. #v .. ' ' .. t)\n"
    "  elseif t then\n"
    "    total = total + #v\n"
    "    out[#out + 1] = v\n"
    "  end\n"
    "end\n"
    "if taken > 0 then redis.call('LTRIM', KEYS[1], 0, -taken - 1) end\n"
    "out[1] = redis.call('LLEN', KEYS[1])\n"
    "return out\n";

struct pcall {
	struct pcall	*next;
	char		 ticket[40];
	char		*dest;
	json_t		*replies;
	double		 deadline;
	const char	*fail;		/* fail on the loop with this */
	pidbox_cb	*cb;
	void		*arg;
};

struct pidbox {
	struct ev_loop	*loop;
	struct broker	*b;
	const struct keys *keys;
	char		 key[40];	/* reply routing key */
	char		*queue;		/* "<key>.reply.celery.pidbox" */
	char		*list;		/* the queue's list: prefix + queue */
	char		*bindings;	/* prefix + BINDINGS */
	char		*member;	/* the binding, in bindings */
	int		 bound;
	int		 popping;	/* a read of the reply list is out */
	double		 pop_started;	/* when it was sent */
	unsigned long	 clock;
	ev_timer	 poll;
	struct pcall	*calls;
};

static void
uuid4(char *out)
{
	unsigned char	u[16];

	if (RAND_bytes(u, sizeof u) != 1)
		memset(u, 0x42, sizeof u);
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5],
	    u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

char *
pidbox_envelope(const char *method, json_t *args, const char *dest,
    const char *ticket, const char *reply_key, double now, double timeout,
    unsigned long clock, const char *tag)
{
	json_t	*body, *env;
	char	*bs, *b64, *out;

	body = json_pack("{s:s,s:o,s:o,s:n,s:n,s:s,s:{s:s,s:s}}",
	    "method", method,
	    "arguments", args ? args : json_object(),
	    "destination", dest ? json_pack("[s]", dest) : json_null(),
	    "pattern", "matcher",
	    "ticket", ticket,
	    "reply_to", "exchange", "reply.celery.pidbox",
	    "routing_key", reply_key);
	bs = json_dumps(body, JSON_COMPACT);
	b64 = b64_encode(bs, strlen(bs));
	env = json_pack("{s:s,s:s,s:s,s:{s:I,s:f},s:{s:i,s:{s:s,s:s},s:i,"
	    "s:s,s:s}}",
	    "body", b64,
	    "content-encoding", "utf-8",
	    "content-type", "application/json",
	    "headers", "clock", (json_int_t)clock, "expires", now + timeout,
	    "properties", "delivery_mode", 2, "delivery_info", "exchange",
	    "celery.pidbox", "routing_key", "", "priority", 0,
	    "body_encoding", "base64", "delivery_tag", tag);
	out = json_dumps(env, JSON_COMPACT);
	json_decref(env);
	json_decref(body);
	free(bs);
	free(b64);
	return out;
}

static void	finish(struct pidbox *, struct pcall *, const char *err);

static void
noop(redisReply *rep, const char *err, void *arg)
{
	(void)rep;
	(void)err;
	(void)arg;
}

struct pidbox *
pidbox_new(struct ev_loop *loop, struct broker *b, const struct keys *k)
{
	struct pidbox	*p = xcalloc(1, sizeof *p);

	p->loop = loop;
	p->b = b;
	p->keys = k;
	uuid4(p->key);
	p->queue = xasprintf(REPLY_QUEUE, p->key);
	p->list = keys_name(k, p->queue);
	p->bindings = keys_name(k, BINDINGS);
	p->member = xasprintf("%s" KEYS_SEP KEYS_SEP "%s", p->key, p->queue);
	ev_timer_init(&p->poll, NULL, 0., 0.);
	return p;
}

struct closing {
	void	(*done)(void *);
	void	*arg;
};

static void
cleaned(redisReply *rep, const char *err, void *arg)
{
	struct closing	*k = arg;

	(void)rep;
	if (err != NULL)
		log_warn("cannot remove the remote-control reply queue: %s", err);
	if (k->done != NULL)
		k->done(k->arg);
	free(k);
}

/* Every call ends now, unanswered; their owners are gone or going. */
static void
drop_calls(struct pidbox *p)
{
	ev_timer_stop(p->loop, &p->poll);
	while (p->calls != NULL) {
		p->calls->cb = NULL;
		finish(p, p->calls, NULL);
	}
}

int
pidbox_close(struct pidbox *p, void (*done)(void *), void *arg)
{
	struct closing	*k;
	int		 i;

	if (p == NULL)
		return 0;
	drop_calls(p);
	if (!p->bound)
		return 0;
	p->bound = 0;
	for (i = 0; i < 2; i++) {
		k = xcalloc(1, sizeof *k);
		k->done = done;
		k->arg = arg;
		if (i == 0)
			broker_command(p->b, cleaned, k, "SREM %s %s",
			    p->bindings, p->member);
		else
			broker_command(p->b, cleaned, k, "DEL %s", p->list);
	}
	return 2;
}

void
pidbox_free(struct pidbox *p)
{
	if (p == NULL)
		return;
	/* not closed (the loop did not end normally): sent, not waited for */
	(void)pidbox_close(p, NULL, NULL);
	free(p->queue);
	free(p->list);
	free(p->bindings);
	free(p->member);
	free(p);
}

static void
finish(struct pidbox *p, struct pcall *c, const char *err)
{
	struct pcall	**pp;

	for (pp = &p->calls; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	if (c->cb != NULL)
		c->cb(err ? NULL : c->replies, err, c->arg);
	json_decref(c->replies);
	free(c->dest);
	free(c);
	if (p->calls == NULL)
		ev_timer_stop(p->loop, &p->poll);
}

static void
take_reply(struct pidbox *p, const char *msg, size_t len)
{
	json_t		*env, *tk, *body, *v;
	struct pcall	*c;
	char		*raw;
	size_t		 rawlen;
	const char	*k;

	if ((env = json_loadb(msg, len, 0, NULL)) == NULL)
		return;
	tk = json_object_get(json_object_get(env, "headers"), "ticket");
	body = json_object_get(env, "body");
	for (c = p->calls; c != NULL && json_is_string(tk); c = c->next)
		if (strcmp(c->ticket, json_string_value(tk)) == 0)
			break;
	if (c == NULL || !json_is_string(body)) {
		json_decref(env);
		return;
	}
	raw = b64_decode(json_string_value(body), json_string_length(body),
	    &rawlen);
	v = raw ? json_loadb(raw, rawlen, 0, NULL) : NULL;
	if (json_is_object(v)) {
		json_t *val;
		json_object_foreach(v, k, val)
			json_object_set(c->replies, k, val);
		if (c->dest != NULL && json_object_get(c->replies, c->dest))
			finish(p, c, NULL);
	}
	json_decref(v);
	free(raw);
	json_decref(env);
}

static void	poll_cb(struct ev_loop *, ev_timer *, int);
static void	popped(redisReply *, const char *, void *);

static void
pop(struct pidbox *p)
{
	struct pcall	*c;
	const char	**argv;
	char		 cap[24], batch[24];
	int		 argc = 0, n = 0;

	for (c = p->calls; c != NULL; c = c->next)
		n++;
	argv = xcalloc(6 + n, sizeof *argv);
	snprintf(cap, sizeof cap, "%u", MAX_REPLY);
	snprintf(batch, sizeof batch, "%d", POP_BATCH);
	argv[argc++] = "EVAL";
	argv[argc++] = pop_lua;
	argv[argc++] = "1";
	argv[argc++] = p->list;
	argv[argc++] = cap;
	argv[argc++] = batch;
	for (c = p->calls; c != NULL; c = c->next)
		argv[argc++] = c->ticket;
	p->popping = 1;
	p->pop_started = ev_now(p->loop);
	broker_command_argv(p->b, popped, p, argc, argv, NULL);
	free(argv);
}

/* A reply over the cap: the call that waits for it alone fails. */
static void
too_big(struct pidbox *p, const char *err)
{
	struct pcall	*c;
	char		 size[24] = "?", ticket[40] = "-", msg[160];

	sscanf(strstr(err, "TOOBIG ") + 7, "%23s %39s", size, ticket);
	log_warn("dropped a remote-control reply of %s bytes: more than %u",
	    size, MAX_REPLY);
	for (c = p->calls; c != NULL; c = c->next)
		if (c->dest != NULL && strcmp(c->ticket, ticket) == 0)
			break;
	if (c == NULL)
		return;
	snprintf(msg, sizeof msg, "the reply of %s is larger than %u bytes",
	    c->dest, MAX_REPLY);
	finish(p, c, msg);
}

/* The calls whose time was up at read_at end with the replies they have. */
static void
expire(struct pidbox *p, double read_at)
{
	struct pcall	*c, *next;

	for (c = p->calls; c != NULL; c = next) {
		next = c->next;
		if (c->fail == NULL && c->deadline <= read_at)
			finish(p, c, NULL);
	}
}

static void
popped(redisReply *rep, const char *err, void *arg)
{
	struct pidbox	*p = arg;
	redisReply	*e;
	size_t		 i;

	(void)err;
	p->popping = 0;
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY ||
	    rep->elements == 0 || rep->element[0]->type != REDIS_REPLY_INTEGER) {
		/* no read: the calls whose time is up end as they are */
		expire(p, ev_now(p->loop));
		return;
	}
	for (i = 1; i < rep->elements; i++) {
		e = rep->element[i];
		if (e->type == REDIS_REPLY_STRING)
			take_reply(p, e->str, e->len);
		else if (e->type == REDIS_REPLY_ERROR &&
		    strstr(e->str, "TOOBIG ") != NULL)
			too_big(p, e->str);
	}
	/*
	 * Every reply pushed before the read began has been taken only once
	 * the list is empty: only then may a call end at its timeout.
	 */
	if (rep->element[0]->integer == 0)
		expire(p, p->pop_started);
	else if (p->calls != NULL)
		pop(p);		/* read on at once */
}

static void
poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pidbox	*p = w->data;
	struct pcall	*c, *next;
	double		 now = ev_now(loop);

	(void)revents;
	for (c = p->calls; c != NULL; c = next) {
		next = c->next;
		if (c->fail != NULL)
			finish(p, c, c->fail);
		else if (now >= c->deadline + LATE)
			finish(p, c, NULL);	/* the list never emptied */
	}
	if (p->calls != NULL && !p->popping)
		pop(p);
}

void
pidbox_call(struct pidbox *p, const char *method, json_t *args,
    const char *dest, double timeout, pidbox_cb *cb, void *arg)
{
	struct pcall	*c = xcalloc(1, sizeof *c);
	char		 tag[40], *chans[2], *env;
	size_t		 i, n;

	uuid4(c->ticket);
	uuid4(tag);
	c->dest = dest ? xstrdup(dest) : NULL;
	c->replies = json_object();
	c->deadline = ev_now(p->loop) + timeout;
	c->cb = cb;
	c->arg = arg;
	c->next = p->calls;
	p->calls = c;
	if (!broker_up(p->b)) {
		/* fails on the loop, never inside the call */
		json_decref(args);
		c->fail = "the broker is not reachable";
		if (!ev_is_active(&p->poll)) {
			ev_timer_init(&p->poll, poll_cb, 0., 0.02);
			p->poll.data = p;
			ev_timer_start(p->loop, &p->poll);
		}
		return;
	}
	if (!p->bound) {
		broker_command(p->b, noop, NULL, "SADD %s %s", p->bindings,
		    p->member);
		p->bound = 1;
	}
	env = pidbox_envelope(method, args, dest, c->ticket, p->key,
	    now_wall(), timeout, ++p->clock, tag);
	/* one channel, or two (keys.h: kombu < 5.4 through Sentinel) */
	for (i = 0, n = keys_fanouts(p->keys, "celery.pidbox", chans); i < n;
	    i++) {
		broker_command(p->b, noop, NULL, "PUBLISH %s %s", chans[i], env);
		free(chans[i]);
	}
	free(env);
	if (!ev_is_active(&p->poll)) {
		ev_timer_init(&p->poll, poll_cb, 0.01, 0.02);
		p->poll.data = p;
		ev_timer_start(p->loop, &p->poll);
	}
}
