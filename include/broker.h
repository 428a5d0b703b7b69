/*
 * broker.h -- the Celery broker (Redis) through hiredis' async API on the
 * libev loop (hiredis' adapters/libev.h bridges the two).
 *
 * Two connections: one for commands, one for PSUBSCRIBE (a subscribed
 * connection takes no other commands). Both reconnect by themselves after
 * a disconnect, when the retry policy (retry.h) says; the subscription is renewed on each
 * reconnect and the owner is told (broker_sub_state_cb) so it can poll in
 * the meantime. A command issued while the connection is being made again
 * (it was up before, and the retry policy has not given up) is held and
 * sent once connected, within the timeout, else it fails; before the first
 * connection, or once the policy gave up, it fails at once. A command
 * already sent when the connection was lost fails (it may have been done)
 * and is not sent again; through Sentinel, one a replica refused
 * (READONLY: not done) is sent again to the new master, once. Callbacks
 * always run on the loop, never inside the call that issued the command.
 *
 * Nothing waits forever: the connect and every command are bounded by the
 * timeout (broker_set_timeout, --request-timeout); past it the command
 * connection is cut, every command in flight fails naming the timeout, and
 * the connection is made again.
 *
 * The URL is redis://[[user]:password@]host[:port][/db], parsed with
 * libcurl's URL API, or a list of sentinel:// URLs with the master's name
 * (sentinel.h): each connect then asks the sentinels where the master is
 * and checks it with ROLE; a connection lost, a failed connect or a
 * READONLY answer (the master became a replica) makes the next connect
 * ask them again, so a failover is a reconnect to the new master. A password may also come from a file
 * (--redis-password-file); it is only ever sent in AUTH. A refused AUTH
 * (or SELECT) is kept: every command failing after it says so, not NOAUTH.
 */
#ifndef BROKER_H
#define BROKER_H

#include <stdarg.h>
#include <stddef.h>

struct ev_loop;
struct broker;
struct redisReply;

/* reply is NULL on failure, with err set (connection lost, error reply). */
typedef void broker_reply_cb(struct redisReply *reply, const char *err,
	    void *arg);
typedef void broker_msg_cb(const char *channel, const char *msg, size_t len,
	    void *arg);
/* up: 1 when (re)subscribed, 0 when the subscription was lost. */
typedef void broker_sub_state_cb(int up, void *arg);

/*
 * Parse the URL and start connecting. master: Sentinel's name of the
 * master, required with a sentinel:// URL and refused without one. NULL
 * with err on a malformed URL.
 */
struct broker	*broker_new(struct ev_loop *, const char *url,
		    const char *password, const char *master, char *err,
		    size_t errlen);
void		 broker_free(struct broker *);
int		 broker_db(const struct broker *);
/* "host:port/db", or "sentinel:NAME/db" */
const char	*broker_where(const struct broker *);
int		 broker_up(const struct broker *);
void		 broker_set_timeout(struct broker *, double seconds);
/*
 * Something was changed: from now on a connect that fails is retried as
 * patiently as the waiter allows, and loudly (retry.h); before, a server
 * that refuses the connection fails broker_ready() within a few seconds.
 */
void		 broker_set_changed(struct broker *, int changed);

/*
 * Issue a command (printf-like, as redisAsyncCommand; or as argc strings,
 * lens their lengths, or NULL when each is a C string).
 */
void		 broker_command(struct broker *, broker_reply_cb *, void *,
		    const char *fmt, ...);
void		 broker_vcommand(struct broker *, broker_reply_cb *, void *,
		    const char *fmt, va_list);
void		 broker_command_argv(struct broker *, broker_reply_cb *, void *,
		    int argc, const char **argv, const size_t *lens);

/*
 * Wait until the command connection is up, or fail after timeout seconds:
 * cb(NULL, err) on failure, cb(reply-to-PING, NULL) on success.
 */
void		 broker_ready(struct broker *, double timeout,
		    broker_reply_cb *, void *);

/*
 * PSUBSCRIBE the patterns (1 or 2) on the subscriber connection; up once
 * all are subscribed.
 */
#define BROKER_MAX_PATTERNS	2
void		 broker_psubscribe(struct broker *, const char **patterns,
		    size_t n, broker_msg_cb *, broker_sub_state_cb *, void *);

/* Whether the broker is reached through Sentinel (a sentinel:// URL). */
int		 broker_sentinel(const struct broker *);

/*
 * Which connection the command connection is (counted from 1, one more
 * on each connect): a reply callback that reads it learns the connection
 * that answered; two replies that saw the same one came on the same
 * connection (a WAIT then covers the write before it).
 */
unsigned long	 broker_conn_id(const struct broker *);
/* The timeout of each command (broker_set_timeout). */
double		 broker_timeout(const struct broker *);

/* Commands sent so far (benchmarks). */
unsigned long	 broker_count(const struct broker *);

#endif
