/* sentinel.c -- Redis Sentinel's decisions; see include/sentinel.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sentinel.h"

#define SCHEME	"sentinel://"

/* Percent-decode src (n bytes) into dst; -1 if it does not fit or is bad. */
static int
pct_decode(const char *src, size_t n, char *dst, size_t len)
{
	size_t	i, o = 0;
	char	hex[3] = "";

	for (i = 0; i < n; i++) {
		if (o + 1 >= len)
			return -1;
		if (src[i] == '%') {
			if (i + 2 >= n || !isxdigit((unsigned char)src[i + 1])
			    || !isxdigit((unsigned char)src[i + 2]))
				return -1;
			hex[0] = src[i + 1];
			hex[1] = src[i + 2];
			dst[o++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else
			dst[o++] = src[i];
	}
	dst[o] = '\0';
	return 0;
}

/* A decimal number of s (n bytes) in [lo, hi]; -1 if not. */
static long
number(const char *s, size_t n, long lo, long hi)
{
	long	v = 0;
	size_t	i;

	if (n == 0 || n > 9)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v < lo || v > hi ? -1 : v;
}

/*
 * One sentinel://... element (e, n bytes): its address into a, its
 * database, user and password (decoded; "" and db -1 when absent).
 */
static int
parse_one(const char *e, size_t n, struct sentinel_addr *a, long *db,
    char *user, size_t ulen, char *pass, size_t plen, char *err,
    size_t errlen)
{
	const char	*p, *end = e + n, *auth, *at, *colon, *h, *hend;
	long		 port = SENTINEL_PORT;

	*db = -1;
	*user = *pass = '\0';
	if (n >= 9 && strncasecmp(e, "rediss://", 9) == 0) {
		snprintf(err, errlen, "%s", BROKER_NO_TLS);
		return -1;
	}
	if (n >= 12 && strncasecmp(e, "sentinels://", 12) == 0) {
		snprintf(err, errlen, "%s", BROKER_NO_TLS);
		return -1;
	}
	if (n < sizeof SCHEME - 1 || strncasecmp(e, SCHEME,
	    sizeof SCHEME - 1) != 0) {
		snprintf(err, errlen, "\"%.*s\": every URL of a Sentinel list "
		    "must start with sentinel:// (sentinel://host:26379;"
		    "sentinel://host2:26379)", (int)(n > 80 ? 80 : n), e);
		return -1;
	}
	auth = e + sizeof SCHEME - 1;
	if (memchr(auth, '?', end - auth) != NULL ||
	    memchr(auth, '#', end - auth) != NULL) {
		snprintf(err, errlen, "a Sentinel URL takes no query or "
		    "fragment (sentinel://[:password@]host:port/db)");
		return -1;
	}
	if ((p = memchr(auth, '/', end - auth)) == NULL)
		p = end;
	/* the user information ends at the last '@' before the path */
	for (at = NULL, h = auth; h < p; h++)
		if (*h == '@')
			at = h;
	if (at != NULL) {
		colon = memchr(auth, ':', at - auth);
		if (pct_decode(auth, (colon ? colon : at) - auth, user, ulen)
		    == -1 || (colon != NULL && pct_decode(colon + 1,
		    at - colon - 1, pass, plen) == -1)) {
			snprintf(err, errlen, "a Sentinel URL's user or "
			    "password is malformed or too long");
			return -1;
		}
		h = at + 1;
	} else
		h = auth;
	if (*h == '[') {			/* IPv6 literal */
		hend = memchr(h, ']', p - h);
		if (hend == NULL) {
			snprintf(err, errlen, "a Sentinel URL's IPv6 address "
			    "has no closing ']'");
			return -1;
		}
		if ((size_t)(hend - h - 1) >= sizeof a->host)
			goto toolong;
		memcpy(a->host, h + 1, hend - h - 1);
		a->host[hend - h - 1] = '\0';
		hend++;
	} else {
		hend = memchr(h, ':', p - h);
		if (hend == NULL)
			hend = p;
		if ((size_t)(hend - h) >= sizeof a->host)
			goto toolong;
		memcpy(a->host, h, hend - h);
		a->host[hend - h] = '\0';
	}
	if (a->host[0] == '\0') {
		snprintf(err, errlen, "a Sentinel URL has no host "
		    "(sentinel://host:26379)");
		return -1;
	}
	if (hend < p) {
		if (*hend != ':' || (port = number(hend + 1, p - hend - 1, 1,
		    65535)) == -1) {
			snprintf(err, errlen, "sentinel://%s: the port is not "
			    "a number from 1 to 65535", a->host);
			return -1;
		}
	}
	a->port = (int)port;
	if (p < end && end - p > 1 &&
	    (*db = number(p + 1, end - p - 1, 0, 1000000)) == -1) {
		snprintf(err, errlen, "sentinel://%s:%d: the database \"%.*s\" "
		    "is not a number", a->host, a->port, (int)(end - p - 1),
		    p + 1);
		return -1;
	}
	return 0;
toolong:
	snprintf(err, errlen, "a Sentinel URL's host name is too long");
	return -1;
}

int
sentinel_parse(const char *url, struct sentinel_list *l, char *err,
    size_t errlen)
{
	struct sentinel_list	 t;
	const char		*e, *semi;
	char			 user[sizeof t.user], pass[sizeof t.password];
	long			 db;
	int			 seen_db = 0, seen_pass = 0, rc = -1;

	if (url == NULL || strncasecmp(url, SCHEME, sizeof SCHEME - 1) != 0)
		return 0;
	memset(&t, 0, sizeof t);
	for (e = url; *e != '\0'; e = *semi ? semi + 1 : semi) {
		semi = e + strcspn(e, ";");
		while (e < semi && isspace((unsigned char)*e))
			e++;
		if (e == semi)
			continue;
		if (t.n == SENTINEL_MAX) {
			snprintf(err, errlen, "more than %d sentinels in the "
			    "URL", SENTINEL_MAX);
			goto out;
		}
		if (parse_one(e, semi - e, &t.s[t.n], &db, user, sizeof user,
		    pass, sizeof pass, err, errlen) == -1)
			goto out;
		if (db != -1 && seen_db && db != t.db) {
			snprintf(err, errlen, "the Sentinel URLs name two "
			    "databases (%d and %ld): give the same one, or "
			    "only in the first", t.db, db);
			goto out;
		}
		if (db != -1) {
			t.db = (int)db;
			seen_db = 1;
		}
		if (*pass != '\0' || *user != '\0') {
			if (seen_pass && (strcmp(pass, t.password) != 0 ||
			    strcmp(user, t.user) != 0)) {
				snprintf(err, errlen, "the Sentinel URLs carry "
				    "two different passwords: one password "
				    "serves the sentinels and the master");
				goto out;
			}
			memcpy(t.user, user, sizeof user);
			memcpy(t.password, pass, sizeof pass);
			seen_pass = 1;
		}
		t.n++;
	}
	if (t.n == 0) {
		snprintf(err, errlen, "the Sentinel URL names no sentinel "
		    "(sentinel://host:26379;sentinel://host2:26379)");
		goto out;
	}
	*l = t;
	rc = 1;
out:
	explicit_bzero(&t, sizeof t);
	explicit_bzero(pass, sizeof pass);
	return rc;
}

struct sentinel_step
sentinel_next(const struct sentinel_round *r)
{
	struct sentinel_step	 s = { SENT_GIVE_UP, 0, RETRY_FINAL };
	size_t			 i, k;
	int			 unknown = 0, unreachable = 1;

	for (i = 0; i < r->n; i++)
		if (r->said[i] == SENT_MASTER) {
			s.move = SENT_USE;
			s.ask = i;
			return s;
		}
	for (k = 0; k < r->n; k++) {
		i = (r->first + k) % r->n;
		if (r->said[i] == SENT_NOT_ASKED) {
			s.move = SENT_ASK;
			s.ask = i;
			return s;
		}
		if (r->said[i] == SENT_UNKNOWN)
			unknown = 1;
		else if (retry_class_of(r->why[i]) != RETRY_UNREACHABLE)
			unreachable = 0;
	}
	if (r->n > 0 && !unknown)
		s.cls = unreachable ? RETRY_UNREACHABLE : RETRY_TRANSIENT;
	return s;
}

void
sentinel_explain(const struct sentinel_round *r, const struct sentinel_list *l,
    const char *master, char *buf, size_t len)
{
	size_t	i, k, o;
	int	unknown = 0;

	o = (size_t)snprintf(buf, len, "no sentinel gave the address of "
	    "master \"%s\" (", master);
	for (k = 0; k < r->n && k < l->n && o < len; k++) {
		i = (r->first + k) % r->n;
		if (r->said[i] == SENT_UNKNOWN)
			unknown = 1;
		o += (size_t)snprintf(buf + o, len - o, "%s%s:%d: %s",
		    k ? "; " : "", l->s[i].host, l->s[i].port,
		    r->said[i] == SENT_UNKNOWN ? "no master by that name" :
		    r->said[i] == SENT_FAILED ? r->why[i] : "not asked");
	}
	if (o < len)
		snprintf(buf + o, len - o, "): %s", unknown ? "check "
		    "--sentinel-master (the workers' broker_transport_options "
		    "master_name)" : "check the sentinel addresses in "
		    "--redis-url and that they are reachable from here");
}

enum sentinel_said
sentinel_reply(enum sentinel_reply_kind kind, const char *s0, const char *s1,
    char *host, size_t hostlen, int *port, char *why, size_t whylen)
{
	long	p;

	switch (kind) {
	case SENT_REPLY_NIL:
		return SENT_UNKNOWN;
	case SENT_REPLY_ERROR:
		snprintf(why, whylen, "%s", s0 != NULL ? s0 : "an error");
		return SENT_FAILED;
	case SENT_REPLY_PAIR:
		if (s0 == NULL || s1 == NULL || *s0 == '\0' ||
		    strlen(s0) >= hostlen ||
		    (p = number(s1, strlen(s1), 1, 65535)) == -1)
			break;
		snprintf(host, hostlen, "%s", s0);
		*port = (int)p;
		return SENT_MASTER;
	case SENT_REPLY_OTHER:
		break;
	}
	snprintf(why, whylen, "an unexpected answer (is it a sentinel?)");
	return SENT_FAILED;
}

int
sentinel_role_master(const char *role)
{
	return role != NULL && strcmp(role, "master") == 0;
}

int
sentinel_moved(const char *error)
{
	return error != NULL && strncmp(error, "READONLY", 8) == 0;
}

enum sentinel_wait
sentinel_wait_verdict(int same_conn, int replicas, long long acked, int tries)
{
	if (!same_conn || replicas < 0 || acked < 0)
		return tries < SENTINEL_WRITE_TRIES ? SENT_WAIT_AGAIN :
		    SENT_WAIT_STOP;
	if (replicas == 0 || acked >= 1)
		return SENT_WAIT_GO;
	return SENT_WAIT_STOP;
}

size_t
sentinel_first(size_t last, size_t n, int not_master)
{
	if (n == 0)
		return 0;
	return not_master ? (last + 1) % n : last % n;
}
