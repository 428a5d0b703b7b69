/*
 * test_sentinel.c -- Redis Sentinel's decisions (include/sentinel.h),
 * table-driven: the URL list, the next step of a round, the replies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "sentinel.h"

#define N(a)	(sizeof (a) / sizeof (a)[0])

static const struct {
	const char	*url;
	int		 rc;
	size_t		 n;
	const char	*host0;
	int		 port0;
	const char	*host1;
	int		 port1;
	int		 db;
	const char	*user, *password;
	const char	*err;		/* a word of the error */
} parses[] = {
	{ "redis://127.0.0.1:6379/0", 0, 0, NULL, 0, NULL, 0, 0, "", "",
	  NULL },
	{ NULL, 0, 0, NULL, 0, NULL, 0, 0, "", "", NULL },
	{ "sentinel://s1:26379", 1, 1, "s1", 26379, NULL, 0, 0, "", "", NULL },
	{ "sentinel://s1", 1, 1, "s1", 26379, NULL, 0, 0, "", "", NULL },
	{ "SENTINEL://s1:1/", 1, 1, "s1", 1, NULL, 0, 0, "", "", NULL },
	{ "sentinel://s1:26379;sentinel://s2:26380", 1, 2, "s1", 26379, "s2",
	  26380, 0, "", "", NULL },
	{ "sentinel://s1:26379/3; sentinel://s2:26380/3;", 1, 2, "s1", 26379,
	  "s2", 26380, 3, "", "", NULL },
	{ "sentinel://s1/2;sentinel://s2", 1, 2, "s1", 26379, "s2", 26379, 2,
	  "", "", NULL },
	{ "sentinel://:p%40ss@s1:26379/1;sentinel://s2", 1, 2, "s1", 26379,
	  "s2", 26379, 1, "", "p@ss", NULL },
	{ "sentinel://u:pw@s1;sentinel://u:pw@s2", 1, 2, "s1", 26379, "s2",
	  26379, 0, "u", "pw", NULL },
	{ "sentinel://a:b@c@s1:5", 1, 1, "s1", 5, NULL, 0, 0, "a", "b@c", NULL },
	{ "sentinel://[::1]:26379", 1, 1, "::1", 26379, NULL, 0, 0, "", "",
	  NULL },
};

/* Malformed lists: -1, and a word of the error. */
static const struct {
	const char	*url, *err;
} refused[] = {
	{ "sentinel://s1;redis://s2:6379",
	  "must start with sentinel://" },
	{ "sentinel://s1;rediss://s2:6379",
	  "hiredis 0.14 has no TLS" },
	{ "sentinel://s1;sentinels://s2",
	  "no TLS" },
	{ "sentinel://s1?ssl=1",
	  "no query" },
	{ "sentinel://:%zz@s1",
	  "malformed" },
	{ "sentinel://:%4@s1",
	  "malformed" },
	{ "sentinel://a;sentinel://b;sentinel://c;sentinel://d;sentinel://e;"
	  "sentinel://f;sentinel://g;sentinel://h;sentinel://i;sentinel://j;"
	  "sentinel://k;sentinel://l;sentinel://m;sentinel://n;sentinel://o;"
	  "sentinel://p;sentinel://q",
	  "more than 16" },
	{ "sentinel://[::1",
	  "']'" },
	{ "sentinel://",
	  "no host" },
	{ "sentinel://;;",
	  "no host" },
	{ "sentinel://s1:0",
	  "port" },
	{ "sentinel://s1:65536",
	  "port" },
	{ "sentinel://s1:2x",
	  "port" },
	{ "sentinel://s1:/0",
	  "port" },
	{ "sentinel://s1/x",
	  "database" },
	{ "sentinel://s1/1;sentinel://s2/2",
	  "two databases" },
	{ "sentinel://:a@s1;sentinel://:b@s2",
	  "two different passwords" },
};

static void
test_parse(void **state)
{
	struct sentinel_list	l;
	char			err[512];
	size_t			i;

	(void)state;
	for (i = 0; i < N(parses); i++) {
		memset(&l, 0xa5, sizeof l);
		err[0] = '\0';
		int rc = sentinel_parse(parses[i].url, &l, err, sizeof err);
		if (rc != parses[i].rc)
			fail_msg("%s: rc %d, want %d (%s)", parses[i].url, rc,
			    parses[i].rc, err);
		if (parses[i].err != NULL && strstr(err, parses[i].err) == NULL)
			fail_msg("%s: error \"%s\" lacks \"%s\"", parses[i].url,
			    err, parses[i].err);
		if (rc != 1)
			continue;
		assert_int_equal(l.n, parses[i].n);
		assert_string_equal(l.s[0].host, parses[i].host0);
		assert_int_equal(l.s[0].port, parses[i].port0);
		if (parses[i].host1 != NULL) {
			assert_string_equal(l.s[1].host, parses[i].host1);
			assert_int_equal(l.s[1].port, parses[i].port1);
		}
		assert_int_equal(l.db, parses[i].db);
		assert_string_equal(l.user, parses[i].user);
		assert_string_equal(l.password, parses[i].password);
	}
	for (i = 0; i < N(refused); i++) {
		err[0] = '\0';
		if (sentinel_parse(refused[i].url, &l, err, sizeof err) != -1 ||
		    strstr(err, refused[i].err) == NULL)
			fail_msg("%s: error \"%s\" lacks \"%s\"", refused[i].url,
			    err, refused[i].err);
	}
}

#define NA	SENT_NOT_ASKED
#define MA	SENT_MASTER
#define UN	SENT_UNKNOWN
#define FA	SENT_FAILED
#define REFUSED	"Connection refused"

static const struct {
	const char		*what;
	size_t			 n, first;
	enum sentinel_said	 said[4];
	const char		*why[4];
	enum sentinel_move	 move;
	size_t			 ask;
	enum retry_class	 cls;
} steps[] = {
	{ "a new round asks the first", 3, 0, { NA, NA, NA }, { 0 },
	  SENT_ASK, 0, 0 },
	{ "starts with the one that answered last", 3, 2, { NA, NA, NA },
	  { 0 }, SENT_ASK, 2, 0 },
	{ "then wraps round the list", 3, 2, { NA, NA, FA },
	  { NULL, NULL, REFUSED }, SENT_ASK, 0, 0 },
	{ "an address is used", 3, 0, { FA, MA, NA }, { REFUSED }, SENT_USE,
	  1, 0 },
	{ "an unknown name asks on", 2, 0, { UN, NA }, { 0 }, SENT_ASK, 1, 0 },
	{ "an unknown name, then an address", 2, 0, { UN, MA }, { 0 },
	  SENT_USE, 1, 0 },
	{ "nobody knows the master: fail fast", 2, 0, { UN, UN }, { 0 },
	  SENT_GIVE_UP, 0, RETRY_FINAL },
	{ "one does not know it, one is down: the name is wrong", 2, 1,
	  { FA, UN }, { REFUSED }, SENT_GIVE_UP, 0, RETRY_FINAL },
	{ "every sentinel refused", 3, 1, { FA, FA, FA },
	  { REFUSED, "Name or service not known", REFUSED }, SENT_GIVE_UP, 0,
	  RETRY_UNREACHABLE },
	{ "one timed out: transient", 2, 0, { FA, FA },
	  { REFUSED, "no answer within 10s" }, SENT_GIVE_UP, 0,
	  RETRY_TRANSIENT },
	{ "an error reply: transient", 1, 0, { FA }, { "NOAUTH" },
	  SENT_GIVE_UP, 0, RETRY_TRANSIENT },
	{ "no sentinel at all", 0, 0, { NA }, { 0 }, SENT_GIVE_UP, 0,
	  RETRY_FINAL },
};

static void
test_next(void **state)
{
	struct sentinel_round	r;
	struct sentinel_step	s;
	size_t			i, k;

	(void)state;
	for (i = 0; i < N(steps); i++) {
		memset(&r, 0, sizeof r);
		r.n = steps[i].n;
		r.first = steps[i].first;
		for (k = 0; k < 4; k++) {
			r.said[k] = steps[i].said[k];
			if (steps[i].why[k] != NULL)
				strcpy(r.why[k], steps[i].why[k]);
		}
		s = sentinel_next(&r);
		if (s.move != steps[i].move)
			fail_msg("%s: move %d, want %d", steps[i].what, s.move,
			    steps[i].move);
		if (s.move != SENT_GIVE_UP && s.ask != steps[i].ask)
			fail_msg("%s: ask %zu, want %zu", steps[i].what, s.ask,
			    steps[i].ask);
		if (s.move == SENT_GIVE_UP && s.cls != steps[i].cls)
			fail_msg("%s: class %d, want %d", steps[i].what, s.cls,
			    steps[i].cls);
	}
}

static const struct {
	enum sentinel_reply_kind kind;
	const char		*s0, *s1;
	enum sentinel_said	 said;
	const char		*host;
	int			 port;
	const char		*why;
} replies[] = {
	{ SENT_REPLY_PAIR, "10.0.0.5", "6379", MA, "10.0.0.5", 6379, NULL },
	{ SENT_REPLY_NIL, NULL, NULL, UN, NULL, 0, NULL },
	{ SENT_REPLY_ERROR, "ERR unknown command 'SENTINEL'", NULL, FA, NULL,
	  0, "unknown command" },
	{ SENT_REPLY_ERROR, NULL, NULL, FA, NULL, 0, "an error" },
	{ SENT_REPLY_PAIR, "h", "0", FA, NULL, 0, "unexpected" },
	{ SENT_REPLY_PAIR, "h", "port", FA, NULL, 0, "unexpected" },
	{ SENT_REPLY_PAIR, "", "1", FA, NULL, 0, "unexpected" },
	{ SENT_REPLY_PAIR, NULL, "1", FA, NULL, 0, "unexpected" },
	{ SENT_REPLY_OTHER, NULL, NULL, FA, NULL, 0, "is it a sentinel" },
};

static void
test_reply(void **state)
{
	char	host[256], why[160];
	int	port;
	size_t	i;

	(void)state;
	for (i = 0; i < N(replies); i++) {
		host[0] = why[0] = '\0';
		port = 0;
		assert_int_equal(sentinel_reply(replies[i].kind, replies[i].s0,
		    replies[i].s1, host, sizeof host, &port, why, sizeof why),
		    replies[i].said);
		if (replies[i].host != NULL) {
			assert_string_equal(host, replies[i].host);
			assert_int_equal(port, replies[i].port);
		}
		if (replies[i].why != NULL)
			assert_non_null(strstr(why, replies[i].why));
	}
	/* a host too long for the buffer is not an address */
	assert_int_equal(sentinel_reply(SENT_REPLY_PAIR, "abcdef", "1", host,
	    4, &port, why, sizeof why), FA);
}

static void
test_role(void **state)
{
	static const struct {
		const char	*s;
		int		 master, moved;
	} t[] = {
		{ "master", 1, 0 },
		{ "slave", 0, 0 },
		{ "sentinel", 0, 0 },
		{ NULL, 0, 0 },
		{ "READONLY You can't write against a read only replica.", 0,
		  1 },
		{ "ERR wrong", 0, 0 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < N(t); i++) {
		assert_int_equal(sentinel_role_master(t[i].s), t[i].master);
		assert_int_equal(sentinel_moved(t[i].s), t[i].moved);
	}
}

static void
test_explain(void **state)
{
	struct sentinel_list	l;
	struct sentinel_round	r;
	char			buf[600], err[100];

	(void)state;
	assert_int_equal(sentinel_parse("sentinel://a:1;sentinel://b:2", &l,
	    err, sizeof err), 1);
	memset(&r, 0, sizeof r);
	r.n = 2;
	r.first = 1;
	r.said[0] = FA;
	strcpy(r.why[0], REFUSED);
	r.said[1] = FA;
	strcpy(r.why[1], "no answer within 1s");
	sentinel_explain(&r, &l, "mymaster", buf, sizeof buf);
	assert_string_equal(buf, "no sentinel gave the address of master "
	    "\"mymaster\" (b:2: no answer within 1s; a:1: Connection refused):"
	    " check the sentinel addresses in --redis-url and that they are "
	    "reachable from here");
	r.said[1] = UN;
	sentinel_explain(&r, &l, "x", buf, sizeof buf);
	assert_non_null(strstr(buf, "b:2: no master by that name; a:1"));
	assert_non_null(strstr(buf, "check --sentinel-master"));
	/* a short buffer is cut, never overrun */
	sentinel_explain(&r, &l, "x", buf, 20);
	assert_int_equal(strlen(buf), 19);
}

static void
test_wait_verdict(void **state)
{
	static const struct {
		int			 same, replicas;
		long long		 acked;
		int			 tries;
		enum sentinel_wait	 want;
	} t[] = {
		/* a replica acknowledged it: act */
		{ 1, 1, 1, 1, SENT_WAIT_GO },
		{ 1, 2, 1, 1, SENT_WAIT_GO },
		{ 1, 2, 2, 3, SENT_WAIT_GO },
		/* a master alone: nothing to wait for */
		{ 1, 0, 0, 1, SENT_WAIT_GO },
		/* replicas, none acknowledged in time: do not act */
		{ 1, 1, 0, 1, SENT_WAIT_STOP },
		{ 1, 3, 0, 2, SENT_WAIT_STOP },
		/* the connection changed (a failover): write again */
		{ 0, 1, 1, 1, SENT_WAIT_AGAIN },
		{ 0, 0, 0, 2, SENT_WAIT_AGAIN },
		{ 0, 1, 1, SENTINEL_WRITE_TRIES, SENT_WAIT_STOP },
		/* not the master any more, or ROLE failed: write again */
		{ 1, -1, 1, 1, SENT_WAIT_AGAIN },
		{ 1, -1, 0, SENTINEL_WRITE_TRIES - 1, SENT_WAIT_AGAIN },
		{ 1, -1, 0, SENTINEL_WRITE_TRIES, SENT_WAIT_STOP },
		/* WAIT failed */
		{ 1, 1, -1, 1, SENT_WAIT_AGAIN },
		{ 1, 1, -1, SENTINEL_WRITE_TRIES, SENT_WAIT_STOP },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < N(t); i++)
		assert_int_equal(sentinel_wait_verdict(t[i].same,
		    t[i].replicas, t[i].acked, t[i].tries), t[i].want);
}

static void
test_first(void **state)
{
	static const struct {
		size_t	last, n;
		int	not_master;
		size_t	want;
	} t[] = {
		{ 0, 3, 0, 0 },		/* the one that answered last */
		{ 2, 3, 0, 2 },
		{ 0, 3, 1, 1 },		/* it named a replica: the next */
		{ 2, 3, 1, 0 },		/* round the list */
		{ 0, 1, 1, 0 },		/* one sentinel: itself */
		{ 5, 3, 0, 2 },		/* out of range: kept in it */
		{ 0, 0, 1, 0 },		/* none */
		{ 0, 0, 0, 0 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < N(t); i++)
		assert_int_equal(sentinel_first(t[i].last, t[i].n,
		    t[i].not_master), t[i].want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_next),
		cmocka_unit_test(test_reply),
		cmocka_unit_test(test_role),
		cmocka_unit_test(test_explain),
		cmocka_unit_test(test_wait_verdict),
		cmocka_unit_test(test_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
