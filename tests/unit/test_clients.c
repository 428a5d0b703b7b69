/*
 * test_clients.c -- the broker and pidbox clients (include/broker.h,
 * include/pidbox.h) complete on the loop, never inside the call that
 * started them, and no Redis command waits forever: against a server that
 * accepts and never answers, a command fails once the timeout has passed.
 * An HTTP request's patience (include/http.h) bounds reaching the server,
 * not waiting for an answer once connected. A cancelled request never
 * calls back and its connection is closed; when its last attempt went out
 * is known. A command issued while the broker reconnects is held and
 * sent once connected, or fails after the timeout.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <ev.h>
#include <jansson.h>

#include "broker.h"
#include "http.h"
#include "keys.h"
#include "pidbox.h"
#include "retry.h"

struct got {
	int	calls;
	char	err[300];
};

static void
reply_cb(struct redisReply *rep, const char *err, void *arg)
{
	struct got	*g = arg;

	(void)rep;
	g->calls++;
	snprintf(g->err, sizeof g->err, "%s", err ? err : "");
}

static void
pidbox_done(json_t *replies, const char *err, void *arg)
{
	struct got	*g = arg;

	(void)replies;
	g->calls++;
	snprintf(g->err, sizeof g->err, "%s", err ? err : "");
}

/* A socket bound to 127.0.0.1; its port in *port. */
static int
loopback(int *port)
{
	struct sockaddr_in	a;
	socklen_t		len = sizeof a;
	int			s = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return s;
}

/* A TCP port on 127.0.0.1 with nothing listening. */
static int
closed_port(void)
{
	int	port;

	close(loopback(&port));
	return port;
}

/* A listening socket that never accepts: the kernel completes connects. */
static int
silent_listener(int *port)
{
	int	s = loopback(port);

	assert_int_equal(listen(s, 16), 0);
	return s;
}

static void
run_until(struct ev_loop *loop, const int *flag, double limit)
{
	double	end = ev_time() + limit;

	while (*flag == 0 && ev_time() < end)
		ev_run(loop, EVRUN_ONCE);
}

static struct broker *
broker_at(struct ev_loop *loop, int port)
{
	struct broker	*b;
	char		 url[64], err[200];

	snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", port);
	b = broker_new(loop, url, NULL, NULL, err, sizeof err);
	assert_non_null(b);
	return b;
}

/* The call has not called back; the loop then does, once, with err. */
static void
fails_on_the_loop(struct ev_loop *loop, struct got *g, const char *err)
{
	assert_int_equal(g->calls, 0);
	run_until(loop, &g->calls, 5);
	assert_int_equal(g->calls, 1);
	assert_non_null(strstr(g->err, err));
}

static void
test_broker_down_fails_on_the_loop(void **state)
{
	struct ev_loop	*loop = ev_loop_new(EVFLAG_AUTO);
	struct broker	*b = broker_at(loop, closed_port());
	struct got	 g = { 0 };

	(void)state;
	broker_command(b, reply_cb, &g, "PING");
	fails_on_the_loop(loop, &g, "not connected");
	broker_free(b);
	ev_loop_destroy(loop);
}

static void
test_pidbox_broker_down_fails_on_the_loop(void **state)
{
	struct ev_loop	*loop = ev_loop_new(EVFLAG_AUTO);
	struct broker	*b = broker_at(loop, closed_port());
	struct keys	 k;
	struct pidbox	*p;
	struct got	 g = { 0 };

	(void)state;
	keys_init(&k, NULL, NULL, 0);
	p = pidbox_new(loop, b, &k);
	pidbox_call(p, "cancel_consumer", json_pack("{s:s}", "queue", "q"),
	    "w@pod", 1.0, pidbox_done, &g);
	fails_on_the_loop(loop, &g, "not reachable");
	pidbox_free(p);
	keys_free(&k);
	broker_free(b);
	ev_loop_destroy(loop);
}

static void
test_silent_redis_times_out(void **state)
{
	struct ev_loop	*loop = ev_loop_new(EVFLAG_AUTO);
	struct broker	*b;
	struct got	 g = { 0 };
	int		 port, s = silent_listener(&port), up = 0;
	double		 t0;

	(void)state;
	b = broker_at(loop, port);
	broker_set_timeout(b, 0.5);
	t0 = ev_time();
	while (!(up = broker_up(b)) && ev_time() - t0 < 5)
		ev_run(loop, EVRUN_ONCE);
	assert_true(up);			/* connected: it never answers */
	t0 = ev_time();
	broker_command(b, reply_cb, &g, "PING");
	run_until(loop, &g.calls, 10);
	assert_int_equal(g.calls, 1);
	assert_non_null(strstr(g.err, "no answer within"));
	assert_true(ev_time() - t0 >= 0.4 && ev_time() - t0 < 3);
	broker_free(b);
	close(s);
	ev_loop_destroy(loop);
}

struct answer {
	int		 calls;
	enum http_err	 err;
	long		 status;
	int		 attempts;
	double		 at;
	double		 started;
};

static void
http_done(const struct http_resp *r, void *arg)
{
	struct answer	*a = arg;

	a->calls++;
	a->err = r->err;
	a->status = r->status;
	a->attempts = r->attempts;
	a->at = ev_time();
	a->started = r->started;
}

static struct http_xfer *
start(struct http *h, int port, double patience, double deadline,
    struct answer *a)
{
	struct http_req	 req;
	char		 url[64];

	snprintf(url, sizeof url, "http://127.0.0.1:%d/api/workers", port);
	memset(&req, 0, sizeof req);
	req.method = "GET";
	req.url = url;
	req.timeout = 5;
	req.retry = 1;
	req.deadline = ev_time() + deadline;
	req.patience = ev_time() + patience;
	return http_do(h, &req, http_done, a);
}

static void
test_http_patience_gives_up_an_unreachable_server(void **state)
{
	struct ev_loop	*loop = ev_loop_new(EVFLAG_AUTO);
	struct http	*h = http_new(loop);
	struct answer	 a = { 0 };
	double		 t0 = ev_time();

	(void)state;
	start(h, closed_port(), 0.8, 20, &a);
	run_until(loop, &a.calls, 10);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.err, HTTP_ECONNECT);
	assert_true(a.attempts > 1);		/* retried meanwhile */
	assert_true(a.at - t0 < 3);		/* not the 20 s deadline */
	http_free(h);
	ev_loop_destroy(loop);
}

/* Accept the waiting connection, read the request, answer it. */
static void
late_answer(struct ev_loop *loop, ev_timer *w, int revents)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: "
	    "application/json\r\nContent-Length: 2\r\nConnection: close\r\n"
	    "\r\n{}";
	char	buf[4096];
	int	c = accept(*(int *)w->data, NULL, NULL);

	(void)loop;
	(void)revents;
	assert_true(c >= 0);
	assert_true(read(c, buf, sizeof buf) > 0);
	assert_int_equal(write(c, ok, sizeof ok - 1), (ssize_t)(sizeof ok - 1));
	shutdown(c, SHUT_WR);
	close(c);
}

static void
test_http_patience_waits_for_a_slow_answer(void **state)
{
	struct ev_loop	*loop = ev_loop_new(EVFLAG_AUTO);
	struct http	*h = http_new(loop);
	struct answer	 a = { 0 };
	int		 port, s = silent_listener(&port);
	double		 t0 = ev_time();
	ev_timer	 later;

	(void)state;
	ev_timer_init(&later, late_answer, 1.5, 0.);
	later.data = &s;
	ev_timer_start(loop, &later);
	start(h, port, 0.5, 20, &a);
	run_until(loop, &a.calls, 10);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.err, HTTP_OK);
	assert_int_equal(a.status, 200);
	assert_int_equal(a.attempts, 1);
	assert_true(a.at - t0 >= 1.4);		/* past the patience */
	assert_true(a.started >= t0 - 0.1 && a.started < t0 + 0.5);
	http_free(h);
	close(s);
	ev_loop_destroy(loop);
}

static void
set_flag(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	*(int *)w->data = 1;
}

/* Run the loop for secs (a timer wakes it). */
static void
spin(struct ev_loop *loop, double secs)
{
	ev_timer	t;
	int		done = 0;

	ev_timer_init(&t, set_flag, secs, 0.);
	t.data = &done;
	ev_timer_start(loop, &t);
	while (!done)
		ev_run(loop, EVRUN_ONCE);
}

/*
 * A request sent to a server that holds it, cancelled: it never calls
 * back, the server sees the connection closed, and when it went out is
 * known (a write may still land until the server gives up on it).
 */
static void
test_http_cancel_closes_the_transfer(void **state)
{
	struct ev_loop		*loop = ev_loop_new(EVFLAG_AUTO);
	struct http		*h = http_new(loop);
	struct answer		 a = { 0 };
	int			 port, s = silent_listener(&port), c;
	double			 t0 = ev_time();
	struct http_xfer	*x;
	char			 buf[4096];
	ssize_t			 n;

	(void)state;
	x = start(h, port, 5, 20, &a);
	spin(loop, 0.5);			/* connected, request sent */
	assert_true(http_last_start(x) >= t0 - 0.1);
	assert_true(http_last_start(x) <= ev_time());
	c = accept(s, NULL, NULL);
	assert_true(c >= 0);
	assert_true(read(c, buf, sizeof buf) > 0);	/* the request */
	http_cancel(x);
	spin(loop, 0.5);
	assert_int_equal(a.calls, 0);
	do
		n = read(c, buf, sizeof buf);
	while (n > 0);
	assert_int_equal(n, 0);			/* closed by the client */
	close(c);
	http_free(h);
	close(s);
	ev_loop_destroy(loop);
}

/*
 * Before anything changed (retry.h), a server that refuses the connection
 * is given up within a few seconds, long before the deadline; once
 * something changed, it is retried until the deadline.
 */
static void
test_http_first_contact_is_short_then_patient(void **state)
{
	struct ev_loop	*loop = ev_loop_new(EVFLAG_AUTO);
	struct http	*h = http_new(loop);
	struct answer	 a = { 0 }, b = { 0 };
	double		 t0 = ev_time();

	(void)state;
	start(h, closed_port(), 30, 20, &a);
	run_until(loop, &a.calls, 25);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.err, HTTP_ECONNECT);
	assert_true(a.attempts > 2);
	assert_true(a.at - t0 < RETRY_FIRST_CONTACT + 1);
	http_set_changed(h, 1);
	t0 = ev_time();
	start(h, closed_port(), 30, 8, &b);
	run_until(loop, &b.calls, 25);
	assert_int_equal(b.calls, 1);
	/* patient: the backoff's shortest waits add up to 5.6 s */
	assert_true(b.at - t0 > RETRY_FIRST_CONTACT + 1);
	assert_true(b.attempts > a.attempts);
	http_free(h);
	ev_loop_destroy(loop);
}

/*
 * A fake Redis on the loop: it answers +OK to every command (RESP arrays,
 * as hiredis sends them) of its one client; drop() closes that client, as
 * a Redis that restarts or a failover does.
 */
struct fake {
	struct ev_loop	*loop;
	int		 lfd, cfd;
	ev_io		 acc, rd;
	int		 accept;	/* 0: leave connects pending */
	char		 buf[4096];
	size_t		 len;
};

/* Bytes of one complete command at p (n bytes), or 0 if not all there. */
static size_t
resp_command(const char *p, size_t n)
{
	const char	*e, *end = p + n, *q;
	long		 argc, len;

	if (n == 0 || *p != '*' || (e = memchr(p, '\n', n)) == NULL)
		return 0;
	argc = strtol(p + 1, NULL, 10);
	for (q = e + 1; argc-- > 0; q = e + 1 + len + 2) {
		if (q >= end || *q != '$' || (e = memchr(q, '\n', end - q)) ==
		    NULL)
			return 0;
		len = strtol(q + 1, NULL, 10);
		if (e + 1 + len + 2 > end)
			return 0;
	}
	return (size_t)(q - p);
}

static void
fake_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct fake	*f = w->data;
	ssize_t		 r;
	size_t		 k;

	(void)revents;
	r = read(f->cfd, f->buf + f->len, sizeof f->buf - f->len);
	if (r <= 0) {
		ev_io_stop(loop, w);
		close(f->cfd);
		f->cfd = -1;
		return;
	}
	f->len += (size_t)r;
	while ((k = resp_command(f->buf, f->len)) > 0) {
		assert_int_equal(write(f->cfd, "+OK\r\n", 5), 5);
		memmove(f->buf, f->buf + k, f->len - k);
		f->len -= k;
	}
}

static void
fake_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct fake	*f = w->data;

	(void)revents;
	if (!f->accept || f->cfd != -1)
		return;
	f->cfd = accept(f->lfd, NULL, NULL);
	f->len = 0;
	ev_io_init(&f->rd, fake_read, f->cfd, EV_READ);
	f->rd.data = f;
	ev_io_start(loop, &f->rd);
}

static void
fake_drop(struct fake *f)
{
	if (f->cfd == -1)
		return;
	ev_io_stop(f->loop, &f->rd);
	close(f->cfd);
	f->cfd = -1;
}

static void
broker_came_back(struct ev_loop *loop, struct broker *b, double limit)
{
	double	t0 = ev_time();

	while (!broker_up(b) && ev_time() - t0 < limit)
		ev_run(loop, EVRUN_ONCE);
	assert_true(broker_up(b));
}

static void
test_broker_holds_commands_while_reconnecting(void **state)
{
	struct ev_loop	*loop = ev_loop_new(EVFLAG_AUTO);
	struct fake	 f = { .loop = loop, .cfd = -1, .accept = 1 };
	struct broker	*b;
	struct got	 g = { 0 }, g2 = { 0 };
	int		 port;

	(void)state;
	f.lfd = silent_listener(&port);
	ev_io_init(&f.acc, fake_accept, f.lfd, EV_READ);
	f.acc.data = &f;
	ev_io_start(loop, &f.acc);
	b = broker_at(loop, port);
	broker_set_timeout(b, 1.5);
	broker_came_back(loop, b, 5);
	/* the server drops the connection and takes a while to come back */
	f.accept = 0;
	fake_drop(&f);
	while (broker_up(b))
		ev_run(loop, EVRUN_ONCE);
	broker_command(b, reply_cb, &g, "SET %s %s", "k", "v");
	run_until(loop, &g.calls, 0.5);
	assert_int_equal(g.calls, 0);		/* held, not failed */
	f.accept = 1;
	fake_accept(loop, &f.acc, 0);
	run_until(loop, &g.calls, 5);
	assert_int_equal(g.calls, 1);
	assert_string_equal(g.err, "");		/* sent once connected */
	/* gone for good: a held command fails within the timeout */
	ev_io_stop(loop, &f.acc);
	close(f.lfd);
	fake_drop(&f);
	while (broker_up(b))
		ev_run(loop, EVRUN_ONCE);
	broker_command(b, reply_cb, &g2, "PING");
	run_until(loop, &g2.calls, 5);
	assert_int_equal(g2.calls, 1);
	assert_non_null(strstr(g2.err, "not connected"));
	broker_free(b);
	ev_loop_destroy(loop);
}

/* The same for the broker's connection, waited for by broker_ready(). */
static void
test_broker_first_contact_is_short_then_patient(void **state)
{
	struct ev_loop	*loop = ev_loop_new(EVFLAG_AUTO);
	struct broker	*b = broker_at(loop, closed_port());
	struct got	 g = { 0 }, g2 = { 0 };
	double		 t0 = ev_time();

	(void)state;
	broker_ready(b, 20, reply_cb, &g);
	run_until(loop, &g.calls, 25);
	assert_int_equal(g.calls, 1);
	assert_true(ev_time() - t0 < RETRY_FIRST_CONTACT + 1);
	assert_non_null(strstr(g.err, "Connection refused"));
	assert_non_null(strstr(g.err, "--redis-url"));
	broker_free(b);
	b = broker_at(loop, closed_port());
	broker_set_changed(b, 1);
	t0 = ev_time();
	broker_ready(b, 4.5, reply_cb, &g2);
	run_until(loop, &g2.calls, 25);
	assert_int_equal(g2.calls, 1);
	assert_true(ev_time() - t0 > RETRY_FIRST_CONTACT + 0.3);
	broker_free(b);
	ev_loop_destroy(loop);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_broker_down_fails_on_the_loop),
		cmocka_unit_test(test_pidbox_broker_down_fails_on_the_loop),
		cmocka_unit_test(test_silent_redis_times_out),
		cmocka_unit_test(test_http_patience_gives_up_an_unreachable_server),
		cmocka_unit_test(test_http_patience_waits_for_a_slow_answer),
		cmocka_unit_test(test_http_cancel_closes_the_transfer),
		cmocka_unit_test(test_http_first_contact_is_short_then_patient),
		cmocka_unit_test(test_broker_first_contact_is_short_then_patient),
		cmocka_unit_test(test_broker_holds_commands_while_reconnecting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
