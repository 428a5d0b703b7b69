/*
 * retry.c -- the clients' retry policy; see include/retry.h.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "retry.h"

struct retry_decision
retry_decide(const struct retry_facts *f)
{
	struct retry_decision	d = { -1, 0, NULL };
	double			w;
	int			n = f->attempts < 1 ? 1 : f->attempts;

	if (f->cls == RETRY_FINAL) {
		d.why = "not a transient failure";
		return d;
	}
	if (f->cls == RETRY_TLS) {
		d.why = "a TLS failure is not retried";
		return d;
	}
	w = n > 6 ? 5 : 0.2 * pow(2, n - 1);
	if (w > 5)
		w = 5;
	w = w / 2 + w / 2 * (f->jitter < 0 ? 0 : f->jitter > 1 ? 1 : f->jitter);
	if (f->retry_after > w)
		w = f->retry_after;
	if (f->cls == RETRY_UNREACHABLE && !f->changed &&
	    f->spent + w > RETRY_FIRST_CONTACT) {
		d.why = "nothing answers there, and nothing was changed yet";
		return d;
	}
	if (f->left >= 0 && w > f->left) {
		d.why = "its deadline has passed";
		return d;
	}
	d.wait = w;
	d.loud = f->changed;
	return d;
}

enum retry_class
retry_class_of(const char *cause)
{
	static const char *unreachable[] = { "refused", "resolve",
	    "not known", "No address", "unreachable", "No route",
	    "Temporary failure in name resolution" };
	size_t	i;

	for (i = 0; cause != NULL && i < sizeof unreachable /
	    sizeof unreachable[0]; i++)
		if (strcasestr(cause, unreachable[i]) != NULL)
			return RETRY_UNREACHABLE;
	return RETRY_TRANSIENT;
}

/* retry_decide()'s wait for a transient failure once something changed. */
static double
again_wait(int asked, double left, double jitter)
{
	struct retry_facts	rf;

	memset(&rf, 0, sizeof rf);
	rf.changed = 1;
	rf.cls = RETRY_TRANSIENT;
	rf.attempts = asked;
	rf.left = left;
	rf.jitter = jitter;
	return retry_decide(&rf).wait;
}

struct readd_decision
retry_readd(const struct readd_facts *f)
{
	struct readd_decision	d = { READD_FAIL, 0, NULL };
	double			w;

	if (f->pod_runs == 0) {
		d.verdict = READD_GONE;
		return d;
	}
	if (!f->listed && f->pod_runs != 1) {
		d.why = "Flower's list of workers could not be read";
		return d;
	}
	if (f->asked >= READD_ASKS) {
		d.why = f->online == 1 ? "it is online but did not answer" :
		    f->pod_runs == 1 && (!f->listed || !f->pinged) ?
		    "its pod runs, but it did not answer (Flower's broker "
		    "connection failing?)" : !f->pinged ?
		    "Flower counts it offline and its pod could not be "
		    "listed: hung or gone, cannot tell" :
		    "it did not answer, nor the broadcast ping (still "
		    "reconnecting to the broker?)";
		return d;
	}
	if ((w = again_wait(f->asked, f->left, f->jitter)) < 0) {
		d.why = "it is online but did not answer before the deadline";
		return d;
	}
	d.verdict = READD_AGAIN;
	d.wait = w;
	return d;
}

double
retry_cancel(int asked, double left, double jitter)
{
	return asked >= CANCEL_ASKS ? -1 : again_wait(asked, left, jitter);
}
