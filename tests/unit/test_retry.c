/*
 * test_retry.c -- the clients' retry policy (include/retry.h), table-driven:
 * every branch of retry_decide() and retry_readd().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "retry.h"

#define GIVE_UP	(-1.0)

static const struct {
	const char		*what;
	struct retry_facts	 in;
	double			 wait;	/* GIVE_UP, or the wait expected */
	int			 loud;
	const char		*why;	/* a word of the reason, on giving up */
} cases[] = {
	/* changed, cls, attempts, spent, left, retry_after, jitter */
	{ "an answer that is not retried",
	  { 0, RETRY_FINAL, 1, 0, -1, 0, 0 }, GIVE_UP, 0, "transient" },
	{ "a final answer, also once something changed",
	  { 1, RETRY_FINAL, 1, 0, 100, 0, 0.5 }, GIVE_UP, 0, "transient" },
	{ "TLS failure before anything changed",
	  { 0, RETRY_TLS, 1, 0, 100, 0, 0 }, GIVE_UP, 0, "TLS" },
	{ "TLS failure after a change",
	  { 1, RETRY_TLS, 3, 2, 100, 0, 0 }, GIVE_UP, 0, "TLS" },
	{ "refused at first contact: a quick retry, quiet",
	  { 0, RETRY_UNREACHABLE, 1, 0, 30, 0, 0 }, 0.1, 0, NULL },
	{ "refused at first contact, jitter 1",
	  { 0, RETRY_UNREACHABLE, 2, 0.3, 30, 0, 1 }, 0.4, 0, NULL },
	{ "refused at first contact, a few seconds spent: give up",
	  { 0, RETRY_UNREACHABLE, 5, 2.9, 30, 0, 0 }, GIVE_UP, 0, "nothing" },
	{ "refused at first contact, just past the bound",
	  { 0, RETRY_UNREACHABLE, 4, 2.3, 30, 0, 0 }, GIVE_UP, 0, "nothing" },
	{ "refused at first contact, just within the bound",
	  { 0, RETRY_UNREACHABLE, 4, 2.1, 30, 0, 0 }, 0.8, 0, NULL },
	{ "refused once something changed: patient and loud",
	  { 1, RETRY_UNREACHABLE, 5, 2.9, 30, 0, 0 }, 1.6, 1, NULL },
	{ "refused once something changed, backoff capped at 5 s",
	  { 1, RETRY_UNREACHABLE, 20, 60, -1, 0, 1 }, 5, 1, NULL },
	{ "a timeout before anything changed keeps its patience",
	  { 0, RETRY_TRANSIENT, 5, 10, 30, 0, 0 }, 1.6, 0, NULL },
	{ "HTTP 500 after a change: retried, loud",
	  { 1, RETRY_TRANSIENT, 2, 0.5, 50, 0, 0 }, 0.2, 1, NULL },
	{ "Retry-After longer than the backoff is waited",
	  { 1, RETRY_TRANSIENT, 1, 0, 50, 7, 0 }, 7, 1, NULL },
	{ "Retry-After shorter than the backoff is not",
	  { 0, RETRY_TRANSIENT, 4, 1, 50, 0.1, 1 }, 1.6, 0, NULL },
	{ "the deadline would pass: give up",
	  { 1, RETRY_TRANSIENT, 3, 5, 0.3, 0, 0 }, GIVE_UP, 0, "deadline" },
	{ "no deadline",
	  { 1, RETRY_TRANSIENT, 3, 5, -1, 0, 0 }, 0.4, 1, NULL },
	{ "a deadline of zero left",
	  { 0, RETRY_TRANSIENT, 1, 0, 0, 0, 0 }, GIVE_UP, 0, "deadline" },
	{ "attempts below one count as one",
	  { 0, RETRY_TRANSIENT, 0, 0, -1, 0, 0 }, 0.1, 0, NULL },
	{ "jitter out of range is clamped",
	  { 0, RETRY_TRANSIENT, 1, 0, -1, 0, 9 }, 0.2, 0, NULL },
	{ "negative jitter is clamped",
	  { 0, RETRY_TRANSIENT, 1, 0, -1, 0, -3 }, 0.1, 0, NULL },
};

static void
test_decide(void **state)
{
	size_t			i;
	struct retry_decision	d;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		d = retry_decide(&cases[i].in);
		if (cases[i].wait < 0) {
			if (d.wait >= 0 || d.why == NULL ||
			    strstr(d.why, cases[i].why) == NULL)
				fail_msg("%s: wait %g why %s", cases[i].what,
				    d.wait, d.why ? d.why : "(null)");
		} else if (d.wait < cases[i].wait - 1e-9 ||
		    d.wait > cases[i].wait + 1e-9 || d.loud != cases[i].loud)
			fail_msg("%s: wait %g loud %d, expected %g %d",
			    cases[i].what, d.wait, d.loud, cases[i].wait,
			    cases[i].loud);
	}
}

/* Before anything changed, an unreachable server costs a few seconds. */
static void
test_first_contact_is_bounded(void **state)
{
	struct retry_facts	f = { 0, RETRY_UNREACHABLE, 1, 0, 30, 0, 1 };
	struct retry_decision	d;

	(void)state;
	for (;;) {
		d = retry_decide(&f);
		if (d.wait < 0)
			break;
		f.spent += d.wait + 0.05;	/* the attempt itself */
		f.attempts++;
	}
	assert_true(f.spent <= RETRY_FIRST_CONTACT);
	assert_true(f.attempts >= 3);
}

/* hiredis' words for a failed connect, classified. */
static void
test_class_of(void **state)
{
	static const struct {
		const char		*cause;
		enum retry_class	 cls;
	} cases[] = {
		{ "Connection refused", RETRY_UNREACHABLE },
		{ "Name or service not known", RETRY_UNREACHABLE },
		{ "Temporary failure in name resolution", RETRY_UNREACHABLE },
		{ "Can't resolve: redis.example", RETRY_UNREACHABLE },
		{ "No address associated with hostname", RETRY_UNREACHABLE },
		{ "Network is unreachable", RETRY_UNREACHABLE },
		{ "No route to host", RETRY_UNREACHABLE },
		{ "Connection timed out", RETRY_TRANSIENT },
		{ "Connection reset by peer", RETRY_TRANSIENT },
		{ "no answer to the connect within 10s", RETRY_TRANSIENT },
		{ "", RETRY_TRANSIENT },
		{ NULL, RETRY_TRANSIENT },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (retry_class_of(cases[i].cause) != cases[i].cls)
			fail_msg("%s", cases[i].cause ? cases[i].cause : "NULL");
}

/* RESTORE's choice for a worker whose add-consumer failed. */
static void
test_readd(void **state)
{
	static const struct {
		const char		*what;
		struct readd_facts	 in;
		enum readd_verdict	 verdict;
		double			 wait;	/* READD_AGAIN */
		const char		*why;	/* READD_FAIL: a word of it */
	} cases[] = {
		/* listed, online, asked, left, jitter, pinged, pod_runs */
		{ "the list could not be read",
		  { 0, 1, 1, 50, 0, 0, -1 }, READD_FAIL, 0, "could not be read" },
		{ "the list could not be read, online unknown",
		  { 0, -1, 1, 50, 0, 0, -1 }, READD_FAIL, 0, "could not be read" },
		/* offline in Flower's list, the pods not listed (a 401, the
		 * API down): hung or gone, the run cannot tell */
		{ "offline, its pod unknown: again",
		  { 1, 0, 1, 50, 0, 0, -1 }, READD_AGAIN, 0.1, NULL },
		{ "not in the list, its pod unknown: again",
		  { 1, -1, 2, 50, 0, 0, -1 }, READD_AGAIN, 0.2, NULL },
		{ "offline, its pod unknown, asked READD_ASKS times: give up",
		  { 1, 0, READD_ASKS, 50, 0, 0, -1 }, READD_FAIL, 0,
		  "cannot tell" },
		{ "not in the list, its pod unknown, asked READD_ASKS times",
		  { 1, -1, READD_ASKS, 50, 0, 0, -1 }, READD_FAIL, 0,
		  "cannot tell" },
		{ "offline, its pod unknown, the deadline has come",
		  { 1, 0, 1, 0, 0, 0, -1 }, READD_FAIL, 0, "deadline" },
		{ "online after the first ask: again, soon",
		  { 1, 1, 1, 50, 0, 0, -1 }, READD_AGAIN, 0.1, NULL },
		{ "online after the first ask, jitter 1",
		  { 1, 1, 1, 50, 1, 0, -1 }, READD_AGAIN, 0.2, NULL },
		{ "online after three asks: a longer wait",
		  { 1, 1, 3, 50, 0, 0, -1 }, READD_AGAIN, 0.4, NULL },
		{ "online, the last ask but one",
		  { 1, 1, READD_ASKS - 1, 50, 1, 0, -1 }, READD_AGAIN, 3.2, NULL },
		{ "online, asked READD_ASKS times: give up",
		  { 1, 1, READD_ASKS, 50, 0, 0, -1 }, READD_FAIL, 0, "did not answer" },
		{ "online, asked more than that: give up",
		  { 1, 1, READD_ASKS + 3, 50, 0, 0, -1 }, READD_FAIL, 0,
		  "did not answer" },
		{ "online, the wait would pass the deadline",
		  { 1, 1, 2, 0.1, 0, 0, -1 }, READD_FAIL, 0, "deadline" },
		{ "online, the deadline has come",
		  { 1, 1, 1, 0, 0, 0, -1 }, READD_FAIL, 0, "deadline" },
		{ "online, no deadline",
		  { 1, 1, 2, -1, 1, 0, -1 }, READD_AGAIN, 0.4, NULL },
		{ "online, no ask counted yet: as the first",
		  { 1, 1, 0, 50, 0, 0, -1 }, READD_AGAIN, 0.1, NULL },
		/* the list is a broadcast ping's answers (pinged) */
		{ "no answer to the ping: again, as online",
		  { 1, -1, 1, 50, 0, 1, -1 }, READD_AGAIN, 0.1, NULL },
		{ "no answer to the ping, asked READD_ASKS times: give up",
		  { 1, -1, READD_ASKS, 50, 0, 1, -1 }, READD_FAIL, 0,
		  "nor the broadcast ping" },
		{ "no answer to the ping, the deadline has come",
		  { 1, -1, 1, 0, 0, 1, -1 }, READD_FAIL, 0, "deadline" },
		{ "answered the ping: again",
		  { 1, 1, 2, 50, 0, 1, -1 }, READD_AGAIN, 0.2, NULL },
		{ "offline (pinged lists never say so): again",
		  { 1, 0, 1, 50, 0, 1, -1 }, READD_AGAIN, 0.1, NULL },
		{ "pinged, the list could not be read",
		  { 0, -1, 1, 50, 0, 1, -1 }, READD_FAIL, 0, "could not be read" },
		/* the pod: Kubernetes decides */
		{ "offline in Flower's list, but its pod runs: again",
		  { 1, 0, 1, 50, 0, 0, 1 }, READD_AGAIN, 0.1, NULL },
		{ "not in the list, its pod runs: again",
		  { 1, -1, 2, 50, 0, 0, 1 }, READD_AGAIN, 0.2, NULL },
		{ "the list unreadable, its pod runs: again",
		  { 0, -1, 1, 50, 0, 0, 1 }, READD_AGAIN, 0.1, NULL },
		{ "its pod runs, asked READD_ASKS times: give up",
		  { 1, 0, READD_ASKS, 50, 0, 0, 1 }, READD_FAIL, 0,
		  "its pod runs" },
		{ "its pod runs, the deadline has come",
		  { 1, 0, 1, 0, 0, 0, 1 }, READD_FAIL, 0, "deadline" },
		{ "its pod no longer runs it, online in the list: gone",
		  { 1, 1, 1, 50, 0, 0, 0 }, READD_GONE, 0, NULL },
		{ "its pod no longer runs it, the list unreadable: gone",
		  { 0, -1, 1, 50, 0, 0, 0 }, READD_GONE, 0, NULL },
		{ "its pod no longer runs it, offline: gone",
		  { 1, 0, 1, 50, 0, 0, 0 }, READD_GONE, 0, NULL },
		{ "its pod no longer runs it, asked READD_ASKS times: gone",
		  { 1, 1, READD_ASKS, 50, 0, 0, 0 }, READD_GONE, 0, NULL },
	};
	struct readd_decision	d;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		d = retry_readd(&cases[i].in);
		if (d.verdict != cases[i].verdict)
			fail_msg("%s: verdict %d, expected %d", cases[i].what,
			    d.verdict, cases[i].verdict);
		if (d.verdict == READD_AGAIN && (d.wait < cases[i].wait - 1e-9
		    || d.wait > cases[i].wait + 1e-9))
			fail_msg("%s: wait %g, expected %g", cases[i].what,
			    d.wait, cases[i].wait);
		if (d.verdict == READD_FAIL && (d.why == NULL ||
		    strstr(d.why, cases[i].why) == NULL))
			fail_msg("%s: why %s", cases[i].what,
			    d.why ? d.why : "(null)");
	}
}

/* The asks of an online worker that never answers end within seconds. */
/*
 * retry_cancel(): asked again after a growing wait, at most CANCEL_ASKS
 * times, never past the deadline.
 */
static void
test_cancel(void **state)
{
	double	w1, w2;

	(void)state;
	w1 = retry_cancel(1, -1, 0);
	w2 = retry_cancel(2, -1, 0);
	assert_true(w1 > 0 && w2 > w1);
	assert_true(retry_cancel(CANCEL_ASKS - 1, -1, 1) > 0);
	assert_true(retry_cancel(CANCEL_ASKS, -1, 0) < 0);
	assert_true(retry_cancel(CANCEL_ASKS + 5, 100, 0) < 0);
	assert_true(retry_cancel(1, 100, 1) > 0);
	assert_true(retry_cancel(1, 0, 0) < 0);		/* deadline passed */
	assert_true(retry_cancel(3, w2 / 10, 0) < 0);	/* would end after */
}

static void
test_readd_is_bounded(void **state)
{
	struct readd_facts	f = { 1, 1, 1, 60, 1, 0, -1 };
	struct readd_decision	d;
	double			waited = 0;

	(void)state;
	for (;;) {
		d = retry_readd(&f);
		if (d.verdict != READD_AGAIN)
			break;
		waited += d.wait;
		f.left -= d.wait + 1;		/* the ask: no answer in 1 s */
		f.asked++;
	}
	assert_int_equal(d.verdict, READD_FAIL);
	assert_int_equal(f.asked, READD_ASKS);
	assert_true(waited >= 3 && waited <= 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_first_contact_is_bounded),
		cmocka_unit_test(test_class_of),
		cmocka_unit_test(test_readd),
		cmocka_unit_test(test_readd_is_bounded),
		cmocka_unit_test(test_cancel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
