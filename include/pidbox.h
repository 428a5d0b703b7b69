/*
 * pidbox.h -- Celery remote control over the Redis broker, without Flower.
 *
 * A request is a kombu envelope PUBLISHed on "/<db>.celery.pidbox" whose
 * base64 body is {"method", "arguments", "destination", "pattern": null,
 * "matcher": null, "ticket", "reply_to": {"exchange": "reply.celery.pidbox",
 * "routing_key": R}}. Replies are LPUSHed by the workers to the list
 * "R.reply.celery.pidbox" once the binding
 * "R\x06\x16\x06\x16R.reply.celery.pidbox" is in the set
 * "_kombu.binding.reply.celery.pidbox". One reply queue serves every call of
 * a process; each call waits for replies with its own ticket until it has
 * one from every destination or its timeout passes. The queue is read 1000
 * entries a round trip, of which only the replies to the calls in flight
 * (their tickets) cross the wire, at most 8 MiB of them: late replies to
 * calls that have ended are dropped in Redis. A call whose timeout has
 * passed ends once a read begun after it found the queue empty, so that no
 * reply that arrived in time is left unread (at the latest 1 s after the
 * timeout). pidbox_close() removes the binding and the reply list, on the
 * loop: call it while the loop runs, before broker_free(), and free what
 * the loop's other callbacks use only after its commands answered. A reply is capped as an HTTP body is (HTTP_MAX_BODY): a
 * larger one is dropped in Redis, never read, and fails the call that
 * waits for it (a broadcast just goes without it).
 * Keys and channels are named by keys.h (kombu's global_keyprefix goes
 * in front of each, not of the binding).
 */
#ifndef PIDBOX_H
#define PIDBOX_H

#include <stddef.h>

struct ev_loop;
struct broker;
struct pidbox;
struct json_t;
struct keys;

/*
 * replies: a JSON object {worker: reply-value} of every reply received
 * (borrowed; valid during the call). err non-NULL on failure to send.
 */
typedef void pidbox_cb(struct json_t *replies, const char *err, void *arg);

/* keys: borrowed, must outlive the pidbox. */
struct pidbox	*pidbox_new(struct ev_loop *, struct broker *,
		    const struct keys *);
/*
 * Every call in flight ends unanswered (its callback is not called); the
 * binding and the reply list are removed: returns how many commands were
 * sent (0: nothing to remove), each of which calls done(arg) once it has
 * answered, failed or timed out.
 */
int		 pidbox_close(struct pidbox *, void (*done)(void *), void *arg);
/* Frees it; a pidbox not closed is closed without waiting for Redis. */
void		 pidbox_free(struct pidbox *);
/*
 * Call method with arguments (a JSON object, stolen; NULL for {}) on
 * destination (NULL: broadcast, collect for the whole timeout).
 */
void		 pidbox_call(struct pidbox *, const char *method,
		    struct json_t *arguments, const char *destination,
		    double timeout, pidbox_cb *, void *);

/* Build the request envelope (pure; for tests). Caller frees. */
char		*pidbox_envelope(const char *method, struct json_t *arguments,
		    const char *destination, const char *ticket,
		    const char *reply_key, double now, double timeout,
		    unsigned long clock, const char *tag);

#endif
