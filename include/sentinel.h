/*
 * sentinel.h -- reaching the broker's Redis through Redis Sentinel, as
 * Celery does with broker_url = "sentinel://h1:26379;sentinel://h2:26379"
 * and broker_transport_options = {"master_name": NAME}: the decisions
 * (broker.c asks and connects).
 *
 * The URL is a list of sentinel://[[user]:password@]host[:port][/db]
 * joined by ';' (port 26379 by default). Its password (and user) go to the
 * sentinels and to the master, as one password for both; a sentinel that
 * has none ignores it. The database is the master's. A round asks the
 * sentinels in turn, starting with the one that answered last (the next
 * one if it named a replica: sentinel_first()), for
 * SENTINEL get-master-addr-by-name NAME; the first address wins; the
 * master is then checked with ROLE before any command is sent to it.
 *
 * Every function here is pure: plain data in, a verdict out.
 */
#ifndef SENTINEL_H
#define SENTINEL_H

#include <stddef.h>

#include "retry.h"

#define SENTINEL_MAX	16
#define SENTINEL_PORT	26379

/* The refusal of TLS, for redis:// and sentinel:// URLs alike. */
#define BROKER_NO_TLS	"TLS (rediss://, sentinels://) is not supported: " \
	"Debian 12's hiredis 0.14 has no TLS; use redis:// or sentinel://, " \
	"through a TLS tunnel (stunnel) if the server requires TLS"

struct sentinel_addr {
	char	host[256];
	int	port;
};

struct sentinel_list {
	size_t			n;
	struct sentinel_addr	s[SENTINEL_MAX];
	int			db;
	char			user[128];	/* "": none */
	char			password[512];	/* "": none */
};

/*
 * Parse url into l: 1 for a list of sentinel:// URLs; 0 when url is not
 * one (it does not start with sentinel://; l is then untouched); -1 and
 * err for a malformed list: an element not sentinel://, no host, a bad
 * port or database, a query, more than SENTINEL_MAX sentinels, two
 * elements naming different databases or passwords. TLS (rediss://,
 * sentinels://) is refused anywhere in the list: Debian 12's hiredis 0.14
 * has no TLS. Empty elements (a trailing ';') are ignored.
 */
int	sentinel_parse(const char *url, struct sentinel_list *l, char *err,
	    size_t errlen);

/* What one sentinel said in a round. */
enum sentinel_said {
	SENT_NOT_ASKED,
	SENT_MASTER,		/* the master's address */
	SENT_UNKNOWN,		/* nil: it monitors no master by that name */
	SENT_FAILED,		/* no connection, an error reply, no answer */
};

struct sentinel_round {
	size_t			n;		/* the sentinels */
	size_t			first;		/* asked first */
	enum sentinel_said	said[SENTINEL_MAX];
	char			why[SENTINEL_MAX][160];	/* SENT_FAILED: the cause */
};

enum sentinel_move {
	SENT_ASK,		/* ask sentinel `ask` now */
	SENT_USE,		/* sentinel `ask` gave the master: connect */
	SENT_GIVE_UP,		/* nobody gave it; cls says how to retry */
};

struct sentinel_step {
	enum sentinel_move	move;
	size_t			ask;
	enum retry_class	cls;	/* SENT_GIVE_UP: RETRY_FINAL if a
					   sentinel said it knows no such
					   master (a wrong name: fail fast),
					   RETRY_UNREACHABLE if every one was
					   unreachable (retry_class_of() of
					   its cause), else RETRY_TRANSIENT */
};

/*
 * The next step of a round: the first sentinel that said an address is
 * used; else the next one not asked, in order from `first` round the
 * list; once all were asked, give up. n == 0 gives up (RETRY_FINAL).
 */
struct sentinel_step sentinel_next(const struct sentinel_round *);

/*
 * A round that gave up, in words, for the operator: which master was
 * asked of which sentinel and what each said, and what to check.
 */
void	sentinel_explain(const struct sentinel_round *,
	    const struct sentinel_list *, const char *master, char *buf,
	    size_t len);

/*
 * The reply to SENTINEL get-master-addr-by-name, as plain data: nil (an
 * unknown master), or an array of two strings, host and port. Returns
 * SENT_MASTER with host (len bytes) and *port filled, SENT_UNKNOWN for
 * nil, SENT_FAILED (why filled) for anything else.
 */
enum sentinel_reply_kind { SENT_REPLY_NIL, SENT_REPLY_PAIR, SENT_REPLY_ERROR,
	SENT_REPLY_OTHER };
enum sentinel_said sentinel_reply(enum sentinel_reply_kind, const char *s0,
	    const char *s1, char *host, size_t hostlen, int *port, char *why,
	    size_t whylen);

/*
 * Whether a node is the master, from the first element of its ROLE reply
 * ("master", "slave", "sentinel"; NULL: no such reply); and whether an
 * error reply says the node became a replica (READONLY): then the master
 * moved, and the sentinels are asked again.
 */
int	sentinel_role_master(const char *role);
int	sentinel_moved(const char *error);

/*
 * The sentinel a round asks first: the one that answered last (last, of
 * n), unless the node it named turned out not to be the master (ROLE:
 * a replica; not_master 1): that sentinel may have missed a failover (cut
 * off from the others), so the next one in the list is asked first; else
 * the same stale answer would be taken again on every connect.
 */
size_t	sentinel_first(size_t last, size_t n, int not_master);

/*
 * Replication is asynchronous: a write the master acknowledged may be
 * missing on the replica Sentinel promotes if the master fails right
 * after. Through Sentinel, a write-ahead record (the lease and the
 * journal, before an action) is followed, on the same connection, by ROLE
 * (the replicas connected now) and WAIT 1 (how many acknowledged every
 * write so far; one is enough: Sentinel promotes the replica that has
 * replicated the most). Whether the run may act:
 *   same_conn: ROLE and WAIT were answered by the connection that
 *		acknowledged the write (0: it was lost meanwhile, a failover
 *		may have lost the write)
 *   replicas:	replicas ROLE listed (-1: ROLE did not say "master", or
 *		failed)
 *   acked:	WAIT's answer (-1: it failed)
 *   tries:	writes of this record made so far, >= 1
 * SENT_WAIT_GO: no replica to wait for, or one acknowledged it: act.
 * SENT_WAIT_AGAIN: the connection changed or the node is no longer the
 * master: write the record again (on the new master) and wait again,
 * while tries < SENTINEL_WRITE_TRIES. SENT_WAIT_STOP: no replica
 * acknowledged it in time (or too many tries): do not act, as for a
 * failed write-ahead write.
 */
#define SENTINEL_WRITE_TRIES	3
enum sentinel_wait { SENT_WAIT_GO, SENT_WAIT_AGAIN, SENT_WAIT_STOP };
enum sentinel_wait sentinel_wait_verdict(int same_conn, int replicas,
	    long long acked, int tries);

#endif
