/*
 * keys.h -- the one place that names the Celery broker's Redis keys and
 * channels, as kombu's Redis transport (kombu/transport/redis.py) does.
 *
 * Two transport options rename them:
 *   global_keyprefix   (--broker-key-prefix) is put in front of every key
 *                      and channel kombu uses: the queue lists, "unacked",
 *                      "unacked_index", the "_kombu.binding.*" sets, the
 *                      pidbox reply lists, and the fanout channels
 *                      ("<prefix>/<db>.celeryev/...", "<prefix>/<db>.celery.pidbox").
 *                      Set members (bindings) and the routing keys inside
 *                      messages are not prefixed.
 *   priority_steps     (--priority-steps, default 0,3,6,9) decide which
 *                      lists hold a queue's messages: "Q" for step 0 and
 *                      "Q\x06\x16<step>" for every other step.
 *
 * kombu before 5.4 reached through Sentinel (its SentinelChannel) names
 * the fanout channels with "{db}" as is, not the database number
 * ("/{db}.celeryev/...", "/{db}.celery.pidbox"; measured with kombu 5.2.4,
 * fixed in kombu 5.4.0): with a sentinel:// broker (sentinel_fanout) the
 * agent publishes on both channels and subscribes to both patterns, as
 * kombu's own sentinel_fanout_compat does, whichever kombu the workers run.
 *
 * The agent's own keys (drain-and-rollout:lease:*, :journal:*, :history)
 * never get the prefix: they are the agent's, not kombu's, and a lease must
 * exclude every run on a deployment whatever prefix each was given, just as
 * --status and --recover must find every journal.
 */
#ifndef KEYS_H
#define KEYS_H

#include <stddef.h>

#define KEYS_MAX_STEPS	32
#define KEYS_SEP	"\x06\x16"	/* kombu's default "sep" */

struct prio_steps {
	int	 v[KEYS_MAX_STEPS];
	size_t	 n;
};

struct keys {
	char			*prefix;	/* global_keyprefix; "" none */
	int			 db;
	struct prio_steps	 steps;
	int			 sentinel_fanout; /* also "/{db}." (above) */
};

/*
 * "0,3,6,9" (spaces allowed, or a Python list "[0, 3, 6, 9]"): distinct
 * non-negative integers in ascending order. -1 with err otherwise.
 */
int	keys_parse_steps(const char *, struct prio_steps *, char *err,
	    size_t errlen);
/* steps NULL or empty: kombu's default 0,3,6,9. */
void	keys_init(struct keys *, const char *prefix,
	    const struct prio_steps *, int db);
void	keys_free(struct keys *);

/* prefix + name: "unacked", "_kombu.binding.X", a reply list. Caller frees. */
char	*keys_name(const struct keys *, const char *name);
/*
 * The lists that hold queue's messages (prefixed), one per step in the
 * steps' order, as kombu's Channel._size() counts them: out[] gets up to
 * KEYS_MAX_STEPS strings the caller frees. Returns how many.
 */
size_t	 keys_queue_lists(const struct keys *, const char *queue, char **out);
/* The fanout channel of exchange: prefix + "/<db>." + exchange. */
char	*keys_fanout(const struct keys *, const char *exchange);
/*
 * A PSUBSCRIBE pattern for every routing key of exchange, the prefix's
 * glob characters escaped: prefix + "/<db>." + exchange + "/" + "*".
 */
char	*keys_fanout_pattern(const struct keys *, const char *exchange);
/*
 * Every channel (keys_fanouts) or pattern (keys_fanout_patterns) of
 * exchange: the one above, and with sentinel_fanout the "/{db}." one
 * after it. out[] gets 1 or 2 strings the caller frees; returns how many.
 */
size_t	 keys_fanouts(const struct keys *, const char *exchange, char **out);
size_t	 keys_fanout_patterns(const struct keys *, const char *exchange,
	    char **out);

#endif
