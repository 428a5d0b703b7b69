/*
 * test_fsm.c -- the drain state machine (include/fsm.h): every transition
 * from every state with every input, the scenario paths end to end, exit
 * codes, severity, names, and an exhaustive walk of all input sequences up
 * to length 8 checking that no path restarts a deployment without a drain.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fsm.h"

#define NSTATES		(ST_END + 1)
#define NINPUTS		(IN_LOST + 1)
#define NOUTCOMES	(OUT_LEASE_LOST + 1)

/* The restart was sent: the machine waits for the rollout or verifies. */
static int
after_restart(enum fsm_state s)
{
	return s == ST_ROLLOUT || s == ST_VERIFY;
}

static const enum fsm_input all_inputs[] = {
	IN_OK, IN_FAIL, IN_TIMEOUT, IN_INTERRUPT, IN_LOCKED, IN_SKIP, IN_LOST,
};

/* A machine with the given flags, put in state s (pending p). */
static struct fsm
at(enum fsm_state s, enum fsm_outcome pending, int dry, int only, int force)
{
	struct fsm	m;

	fsm_init(&m, dry, only, force);
	m.state = s;
	m.pending = pending;
	return m;
}

struct edge {
	enum fsm_state	 from;
	enum fsm_input	 in;
	enum fsm_state	 to;
	enum fsm_outcome outcome;	/* when to == ST_END */
	enum fsm_outcome pending;	/* when to == ST_RESTORE */
};

/*
 * The complete transition table with no flags set (not dry-run, not
 * drain-only, no force). RESTORE is entered with pending OUT_ABORTED
 * for the rows that go there; its own rows are tested separately.
 */
static const struct edge plain[] = {
	{ ST_RESOLVE, IN_OK,		ST_LOCK,    OUT_NONE, OUT_NONE },
	{ ST_RESOLVE, IN_FAIL,		ST_END,     OUT_PREFLIGHT, OUT_NONE },
	{ ST_RESOLVE, IN_TIMEOUT,	ST_END,     OUT_PREFLIGHT, OUT_NONE },
	{ ST_RESOLVE, IN_INTERRUPT,	ST_END,     OUT_INTERRUPTED, OUT_NONE },
	{ ST_RESOLVE, IN_LOCKED,	ST_END,     OUT_PREFLIGHT, OUT_NONE },
	{ ST_RESOLVE, IN_SKIP,		ST_END,     OUT_SKIPPED, OUT_NONE },
	{ ST_RESOLVE, IN_LOST,		ST_END,     OUT_LEASE_LOST, OUT_NONE },

	{ ST_LOCK, IN_OK,		ST_CANCEL,  OUT_NONE, OUT_NONE },
	{ ST_LOCK, IN_FAIL,		ST_END,     OUT_PREFLIGHT, OUT_NONE },
	{ ST_LOCK, IN_TIMEOUT,		ST_END,     OUT_PREFLIGHT, OUT_NONE },
	{ ST_LOCK, IN_INTERRUPT,	ST_END,     OUT_INTERRUPTED, OUT_NONE },
	{ ST_LOCK, IN_LOCKED,		ST_END,     OUT_LOCKED, OUT_NONE },
	{ ST_LOCK, IN_SKIP,		ST_END,     OUT_PREFLIGHT, OUT_NONE },
	{ ST_LOCK, IN_LOST,		ST_END,     OUT_LEASE_LOST, OUT_NONE },

	{ ST_CANCEL, IN_OK,		ST_DRAIN,   OUT_NONE, OUT_NONE },
	{ ST_CANCEL, IN_FAIL,		ST_RESTORE, OUT_NONE, OUT_ABORTED },
	{ ST_CANCEL, IN_TIMEOUT,	ST_RESTORE, OUT_NONE, OUT_ABORTED },
	{ ST_CANCEL, IN_INTERRUPT,	ST_RESTORE, OUT_NONE, OUT_INTERRUPTED },
	{ ST_CANCEL, IN_LOCKED,		ST_RESTORE, OUT_NONE, OUT_ABORTED },
	{ ST_CANCEL, IN_SKIP,		ST_RESTORE, OUT_NONE, OUT_ABORTED },
	{ ST_CANCEL, IN_LOST,		ST_END,     OUT_LEASE_LOST, OUT_NONE },

	{ ST_DRAIN, IN_OK,		ST_RESTART, OUT_NONE, OUT_NONE },
	{ ST_DRAIN, IN_FAIL,		ST_RESTORE, OUT_NONE, OUT_ABORTED },
	{ ST_DRAIN, IN_TIMEOUT,		ST_RESTORE, OUT_NONE, OUT_ABORTED },
	{ ST_DRAIN, IN_INTERRUPT,	ST_RESTORE, OUT_NONE, OUT_INTERRUPTED },
	{ ST_DRAIN, IN_LOCKED,		ST_RESTORE, OUT_NONE, OUT_ABORTED },
	{ ST_DRAIN, IN_SKIP,		ST_RESTORE, OUT_NONE, OUT_ABORTED },
	{ ST_DRAIN, IN_LOST,		ST_END,     OUT_LEASE_LOST, OUT_NONE },

	{ ST_RESTART, IN_OK,		ST_ROLLOUT, OUT_NONE, OUT_NONE },
	/* the PATCH may still land: INFLIGHT finds out first */
	{ ST_RESTART, IN_FAIL,		ST_INFLIGHT, OUT_NONE, OUT_ABORTED },
	{ ST_RESTART, IN_TIMEOUT,	ST_INFLIGHT, OUT_NONE, OUT_ABORTED },
	{ ST_RESTART, IN_INTERRUPT,	ST_INFLIGHT, OUT_NONE, OUT_INTERRUPTED },
	{ ST_RESTART, IN_LOCKED,	ST_INFLIGHT, OUT_NONE, OUT_ABORTED },
	{ ST_RESTART, IN_SKIP,		ST_INFLIGHT, OUT_NONE, OUT_ABORTED },
	{ ST_RESTART, IN_LOST,		ST_END,     OUT_LEASE_LOST, OUT_NONE },

	{ ST_ROLLOUT, IN_OK,		ST_VERIFY,  OUT_NONE, OUT_NONE },
	{ ST_ROLLOUT, IN_FAIL,		ST_RESTORE, OUT_NONE, OUT_ROLLOUT_FAILED },
	{ ST_ROLLOUT, IN_TIMEOUT,	ST_RESTORE, OUT_NONE, OUT_ROLLOUT_FAILED },
	{ ST_ROLLOUT, IN_INTERRUPT,	ST_END,     OUT_INTERRUPTED, OUT_NONE },
	{ ST_ROLLOUT, IN_LOCKED,	ST_RESTORE, OUT_NONE, OUT_ROLLOUT_FAILED },
	{ ST_ROLLOUT, IN_SKIP,		ST_RESTORE, OUT_NONE, OUT_ROLLOUT_FAILED },
	{ ST_ROLLOUT, IN_LOST,		ST_END,     OUT_LEASE_LOST, OUT_NONE },

	{ ST_VERIFY, IN_OK,		ST_END,     OUT_OK, OUT_NONE },
	{ ST_VERIFY, IN_FAIL,		ST_END,     OUT_VERIFY_FAILED, OUT_NONE },
	{ ST_VERIFY, IN_TIMEOUT,	ST_END,     OUT_VERIFY_FAILED, OUT_NONE },
	{ ST_VERIFY, IN_INTERRUPT,	ST_END,     OUT_INTERRUPTED, OUT_NONE },
	{ ST_VERIFY, IN_LOCKED,		ST_END,     OUT_VERIFY_FAILED, OUT_NONE },
	{ ST_VERIFY, IN_SKIP,		ST_END,     OUT_VERIFY_FAILED, OUT_NONE },
	{ ST_VERIFY, IN_LOST,		ST_END,     OUT_LEASE_LOST, OUT_NONE },
};

static void
check_edge(const struct edge *e, int dry, int only, int force)
{
	struct fsm	m = at(e->from, OUT_NONE, dry, only, force);
	enum fsm_state	r;

	r = fsm_feed(&m, e->in);
	if (r != e->to || m.state != e->to)
		fail_msg("%s + input %d: went to %s, want %s",
		    fsm_state_name(e->from), (int)e->in, fsm_state_name(r),
		    fsm_state_name(e->to));
	assert_int_equal(m.state, r);
	assert_int_equal(m.outcome, e->to == ST_END ? e->outcome : OUT_NONE);
	if (e->to == ST_RESTORE || e->to == ST_INFLIGHT)
		assert_int_equal(m.pending, e->pending);
	assert_int_equal(m.forced, 0);
	/* the flags are never changed by a transition */
	assert_int_equal(m.dry_run, dry);
	assert_int_equal(m.drain_only, only);
	assert_int_equal(m.force, force);
}

/* Every (state, input) pair except RESTORE/END appears exactly once. */
static void
test_table_complete(void **state)
{
	int	seen[NSTATES][NINPUTS];
	size_t	i;
	int	s, in;

	(void)state;
	memset(seen, 0, sizeof seen);
	for (i = 0; i < sizeof plain / sizeof plain[0]; i++)
		seen[plain[i].from][plain[i].in]++;
	for (s = ST_RESOLVE; s < ST_RESTORE; s++)
		for (in = 0; in < NINPUTS; in++)
			assert_int_equal(seen[s][in], 1);
}

static void
test_every_transition_plain(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof plain / sizeof plain[0]; i++)
		check_edge(&plain[i], 0, 0, 0);
}

/*
 * The flags only change RESOLVE+OK (dry run), DRAIN+OK (drain only) and
 * DRAIN+TIMEOUT (force): every other edge is the same under every flag.
 */
static void
test_every_transition_flags(void **state)
{
	size_t	i;
	int	f;

	(void)state;
	for (f = 0; f < 8; f++) {
		int dry = f & 1, only = (f >> 1) & 1, force = (f >> 2) & 1;
		for (i = 0; i < sizeof plain / sizeof plain[0]; i++) {
			const struct edge *e = &plain[i];
			if (e->from == ST_RESOLVE && e->in == IN_OK && dry)
				continue;
			if (e->from == ST_DRAIN && e->in == IN_OK && only)
				continue;
			if (e->from == ST_DRAIN && e->in == IN_TIMEOUT &&
			    force && !only)
				continue;
			check_edge(e, dry, only, force);
		}
	}
}

static void
test_dry_run(void **state)
{
	struct fsm	m;
	int		f;

	(void)state;
	for (f = 0; f < 4; f++) {
		fsm_init(&m, 1, f & 1, (f >> 1) & 1);
		assert_int_equal(m.state, ST_RESOLVE);
		assert_int_equal(fsm_feed(&m, IN_OK), ST_END);
		assert_int_equal(m.outcome, OUT_DRY_RUN);
		assert_int_equal(fsm_exit_code(m.outcome), 0);
	}
	/* a dry run still reports failures and skips */
	fsm_init(&m, 1, 0, 0);
	assert_int_equal(fsm_feed(&m, IN_FAIL), ST_END);
	assert_int_equal(m.outcome, OUT_PREFLIGHT);
	fsm_init(&m, 1, 0, 0);
	assert_int_equal(fsm_feed(&m, IN_SKIP), ST_END);
	assert_int_equal(m.outcome, OUT_SKIPPED);
}

static void
test_skip(void **state)
{
	struct fsm	m;

	(void)state;
	fsm_init(&m, 0, 0, 0);
	assert_int_equal(fsm_feed(&m, IN_SKIP), ST_END);
	assert_int_equal(m.outcome, OUT_SKIPPED);
	assert_int_equal(fsm_exit_code(OUT_SKIPPED), 0);
}

/*
 * IN_NOTHING (--recover with no run to finish) ends RESOLVE changing
 * nothing, under every flag; in every other state it is IN_SKIP.
 */
static void
test_nothing(void **state)
{
	struct fsm	m, n;
	int		f, s;

	(void)state;
	for (f = 0; f < 8; f++) {
		fsm_init(&m, f & 1, (f >> 1) & 1, (f >> 2) & 1);
		assert_int_equal(fsm_feed(&m, IN_NOTHING), ST_END);
		assert_int_equal(m.outcome, OUT_NOTHING);
		assert_string_equal(fsm_outcome_name(m.outcome),
		    "nothing-to-do");
		assert_int_equal(fsm_exit_code(m.outcome), 0);
		assert_int_equal(m.dry_run, f & 1);
	}
	for (s = ST_LOCK; s < NSTATES; s++) {
		m = at((enum fsm_state)s, OUT_ABORTED, 0, 0, 0);
		n = m;
		assert_int_equal(fsm_feed(&m, IN_NOTHING), fsm_feed(&n, IN_SKIP));
		assert_int_equal(m.outcome, n.outcome);
		assert_int_equal(m.pending, n.pending);
	}
}

/*
 * IN_MORE (the census before the old pods are stopped found workers this
 * run has not drained) sends DRAIN back to CANCEL, flags and outcome kept,
 * and ROLLOUT in place to CANCEL with the rollout held (held, midroll);
 * in every other state, and with --drain-only, it is IN_FAIL.
 */
static void
test_more(void **state)
{
	struct fsm	m, n;
	int		f, s, shed;

	(void)state;
	for (s = ST_RESOLVE; s < NSTATES; s++)
		for (f = 0; f < 16; f++)
			for (shed = 0; shed < 3; shed++) {
				m = at((enum fsm_state)s, OUT_ABORTED, f & 1,
				    (f >> 1) & 1, (f >> 2) & 1);
				m.handover = (f >> 3) & 1;
				m.shed = shed;
				n = m;
				fsm_feed(&m, IN_MORE);
				if (s == ST_DRAIN && !((f >> 1) & 1)) {
					n.state = ST_CANCEL;
					assert_memory_equal(&m, &n, sizeof m);
					continue;
				}
				if (s == ST_ROLLOUT && !((f >> 3) & 1)) {
					n.state = ST_CANCEL;
					n.held = n.midroll = 1;
					assert_memory_equal(&m, &n, sizeof m);
					continue;
				}
				fsm_feed(&n, IN_FAIL);
				assert_memory_equal(&m, &n, sizeof m);
			}
}

/* A newcomer round in place and with --handover, end to end. */
static void
test_more_paths(void **state)
{
	static const enum fsm_input in_place[] = { IN_OK, IN_OK, IN_OK,
		IN_MORE, IN_OK, IN_MORE, IN_OK, IN_OK, IN_OK, IN_OK, IN_OK };
	static const enum fsm_state in_place_to[] = { ST_LOCK, ST_CANCEL,
		ST_DRAIN, ST_CANCEL, ST_DRAIN, ST_CANCEL, ST_DRAIN, ST_RESTART,
		ST_ROLLOUT, ST_VERIFY, ST_END };
	static const enum fsm_input ho[] = { IN_OK, IN_OK, IN_OK, IN_OK,
		IN_OK, IN_OK, IN_OK, IN_MORE, IN_OK, IN_OK, IN_OK, IN_OK };
	static const enum fsm_state ho_to[] = { ST_LOCK, ST_DETACH,
		ST_RESTART, ST_ROLLOUT, ST_VERIFY, ST_CANCEL, ST_DRAIN,
		ST_CANCEL, ST_DRAIN, ST_RETIRE, ST_HISTORY, ST_END };
	struct fsm	m;
	size_t		i;

	(void)state;
	fsm_init(&m, 0, 0, 0);
	for (i = 0; i < sizeof in_place / sizeof in_place[0]; i++)
		assert_int_equal(fsm_feed(&m, in_place[i]), in_place_to[i]);
	assert_int_equal(m.outcome, OUT_OK);
	fsm_init(&m, 0, 0, 0);
	m.handover = 1;
	/* the drained old pods are looked at again before RETIRE */
	for (i = 0; i < sizeof ho / sizeof ho[0]; i++)
		assert_int_equal(fsm_feed(&m, ho[i]), ho_to[i]);
	assert_int_equal(m.outcome, OUT_OK);
	/* a newcomer that does not drain in time: restored, as any drain */
	fsm_init(&m, 0, 0, 0);
	m.state = ST_DRAIN;
	assert_int_equal(fsm_feed(&m, IN_MORE), ST_CANCEL);
	assert_int_equal(fsm_feed(&m, IN_OK), ST_DRAIN);
	assert_int_equal(fsm_feed(&m, IN_TIMEOUT), ST_RESTORE);
	assert_int_equal(m.pending, OUT_ABORTED);
}

/*
 * The rollout held (census_rollout(), in place): every edge of a held
 * ROLLOUT and of the CANCEL and DRAIN it goes back to (midroll), table-
 * driven from a machine in ROLLOUT (pending OUT_NONE) that IN_HOLD or
 * IN_MORE held.
 */
struct hrow {
	const char		*what;
	int			 force;
	enum fsm_input		 in[8];
	size_t			 n;
	enum fsm_state		 to;
	int			 held, midroll;
	enum fsm_outcome	 outcome;	/* ST_END: the outcome;
						   else the pending one */
};

static const struct hrow hrows[] = {
	{ "hold", 0, { IN_HOLD }, 1, ST_ROLLOUT, 1, 0, OUT_NONE },
	{ "hold twice", 0, { IN_HOLD, IN_HOLD }, 2, ST_ROLLOUT, 1, 0,
	    OUT_NONE },
	{ "held, resumed", 0, { IN_HOLD, IN_RESUMED }, 2, ST_ROLLOUT, 0, 0,
	    OUT_NONE },
	{ "resumed, done", 0, { IN_HOLD, IN_RESUMED, IN_OK }, 3, ST_VERIFY,
	    0, 0, OUT_NONE },
	{ "newcomers: cancel", 0, { IN_MORE }, 1, ST_CANCEL, 1, 1,
	    OUT_NONE },
	{ "... drain", 0, { IN_MORE, IN_OK }, 2, ST_DRAIN, 1, 1, OUT_NONE },
	{ "... drained: back to the rollout, held", 0,
	    { IN_MORE, IN_OK, IN_OK }, 3, ST_ROLLOUT, 1, 0, OUT_NONE },
	{ "... resumed, verified", 0,
	    { IN_MORE, IN_OK, IN_OK, IN_RESUMED, IN_OK, IN_OK }, 6, ST_END,
	    0, 0, OUT_OK },
	{ "held for an unknown pod, then newcomers", 0,
	    { IN_HOLD, IN_MORE }, 2, ST_CANCEL, 1, 1, OUT_NONE },
	{ "cancel fails: resumed by RESTORE", 0, { IN_MORE, IN_FAIL }, 2,
	    ST_RESTORE, 1, 1, OUT_ROLLOUT_FAILED },
	{ "cancel times out", 0, { IN_MORE, IN_TIMEOUT }, 2, ST_RESTORE, 1,
	    1, OUT_ROLLOUT_FAILED },
	{ "drain times out", 0, { IN_MORE, IN_OK, IN_TIMEOUT }, 3,
	    ST_RESTORE, 1, 1, OUT_ROLLOUT_FAILED },
	{ "drain fails", 0, { IN_MORE, IN_OK, IN_FAIL }, 3, ST_RESTORE, 1,
	    1, OUT_ROLLOUT_FAILED },
	{ "drain times out, forced: the rollout goes on", 1,
	    { IN_MORE, IN_OK, IN_TIMEOUT }, 3, ST_ROLLOUT, 1, 0, OUT_NONE },
	{ "... RESTORE resumes: rollout-failed", 0,
	    { IN_MORE, IN_OK, IN_TIMEOUT, IN_OK }, 4, ST_END, 1, 1,
	    OUT_ROLLOUT_FAILED },
	{ "... RESTORE cannot resume", 0,
	    { IN_MORE, IN_OK, IN_TIMEOUT, IN_FAIL }, 4, ST_END, 1, 1,
	    OUT_RESTORE_FAILED },
	{ "held rollout fails: its pause may still land", 0,
	    { IN_HOLD, IN_FAIL }, 2, ST_INFLIGHT, 1, 0, OUT_ROLLOUT_FAILED },
	{ "held rollout times out: the same", 0, { IN_HOLD, IN_TIMEOUT }, 2,
	    ST_INFLIGHT, 1, 0, OUT_ROLLOUT_FAILED },
	{ "... none can land: RESTORE resumes", 0,
	    { IN_HOLD, IN_FAIL, IN_FAIL }, 3, ST_RESTORE, 1, 0,
	    OUT_ROLLOUT_FAILED },
	{ "... resumed: rollout-failed", 0,
	    { IN_HOLD, IN_FAIL, IN_FAIL, IN_OK }, 4, ST_END, 1, 0,
	    OUT_ROLLOUT_FAILED },
	{ "... cannot tell: restore-failed, left paused", 0,
	    { IN_HOLD, IN_FAIL, IN_TIMEOUT }, 3, ST_END, 1, 0,
	    OUT_RESTORE_FAILED },
	{ "not held: a failed rollout restores at once", 0, { IN_FAIL }, 1,
	    ST_RESTORE, 0, 0, OUT_ROLLOUT_FAILED },
	{ "interrupt while held: goes on", 0, { IN_HOLD, IN_INTERRUPT }, 2,
	    ST_ROLLOUT, 1, 0, OUT_INTERRUPTED },
	{ "... ends once resumed", 0, { IN_HOLD, IN_INTERRUPT, IN_RESUMED },
	    3, ST_END, 0, 0, OUT_INTERRUPTED },
	{ "interrupt in the cancel: goes on", 0, { IN_MORE, IN_INTERRUPT }, 2,
	    ST_CANCEL, 1, 1, OUT_INTERRUPTED },
	{ "interrupt in the drain: goes on", 0,
	    { IN_MORE, IN_OK, IN_INTERRUPT }, 3, ST_DRAIN, 1, 1,
	    OUT_INTERRUPTED },
	{ "... drained: back to the rollout", 0,
	    { IN_MORE, IN_OK, IN_INTERRUPT, IN_OK }, 4, ST_ROLLOUT, 1, 0,
	    OUT_INTERRUPTED },
	{ "... resumed: interrupted", 0,
	    { IN_MORE, IN_OK, IN_INTERRUPT, IN_OK, IN_RESUMED }, 5, ST_END, 0,
	    0, OUT_INTERRUPTED },
	{ "... then the drain times out: rollout-failed", 0,
	    { IN_MORE, IN_OK, IN_INTERRUPT, IN_TIMEOUT }, 4, ST_RESTORE, 1, 1,
	    OUT_ROLLOUT_FAILED },
	{ "lease lost while held", 0, { IN_MORE, IN_OK, IN_LOST }, 3, ST_END,
	    1, 1, OUT_LEASE_LOST },
	{ "not held: an interrupt ends the rollout", 0, { IN_INTERRUPT }, 1,
	    ST_END, 0, 0, OUT_INTERRUPTED },
	{ "resumed, not held: nothing", 0, { IN_RESUMED }, 1, ST_ROLLOUT, 0,
	    0, OUT_NONE },
	{ "hold in the drain: a failure", 0, { IN_MORE, IN_OK, IN_HOLD }, 3,
	    ST_RESTORE, 1, 1, OUT_ROLLOUT_FAILED },
	{ "resumed in the cancel: a failure", 0, { IN_MORE, IN_RESUMED }, 2,
	    ST_RESTORE, 1, 1, OUT_ROLLOUT_FAILED },
	{ "a newcomer vanished with tasks: the drain goes on", 0,
	    { IN_MORE, IN_OK, IN_VANISHED }, 3, ST_DRAIN, 1, 1, OUT_NONE },
	{ "... drained: back to the rollout", 0,
	    { IN_MORE, IN_OK, IN_VANISHED, IN_OK }, 4, ST_ROLLOUT, 1, 0,
	    OUT_NONE },
	{ "... resumed, verified: rollout-failed, never ok", 0,
	    { IN_MORE, IN_OK, IN_VANISHED, IN_OK, IN_RESUMED, IN_OK, IN_OK },
	    7, ST_END, 0, 0, OUT_ROLLOUT_FAILED },
	{ "... verify fails: rollout-failed is worse", 0,
	    { IN_MORE, IN_OK, IN_VANISHED, IN_OK, IN_RESUMED, IN_OK,
	    IN_FAIL }, 7, ST_END, 0, 0, OUT_ROLLOUT_FAILED },
	{ "... interrupted: rollout-failed is worse", 0,
	    { IN_MORE, IN_OK, IN_VANISHED, IN_INTERRUPT, IN_OK, IN_RESUMED },
	    6, ST_END, 0, 0, OUT_ROLLOUT_FAILED },
	{ "... RESTORE cannot resume: restore-failed is worse", 0,
	    { IN_MORE, IN_OK, IN_VANISHED, IN_TIMEOUT, IN_FAIL }, 5, ST_END,
	    1, 1, OUT_RESTORE_FAILED },
	{ "vanished in the cancel: the same", 0,
	    { IN_MORE, IN_VANISHED, IN_OK, IN_OK, IN_RESUMED, IN_OK, IN_OK },
	    7, ST_END, 0, 0, OUT_ROLLOUT_FAILED },
	{ "not midroll: nothing", 0, { IN_HOLD, IN_VANISHED, IN_RESUMED,
	    IN_OK, IN_OK }, 5, ST_END, 0, 0, OUT_OK },
};

static void
test_held(void **state)
{
	struct fsm	m;
	size_t		i, j;

	(void)state;
	for (i = 0; i < sizeof hrows / sizeof hrows[0]; i++) {
		const struct hrow *h = &hrows[i];
		m = at(ST_ROLLOUT, OUT_NONE, 0, 0, h->force);
		m.restarting = 1;
		for (j = 0; j < h->n; j++)
			fsm_feed(&m, h->in[j]);
		if (m.state != h->to || m.held != h->held ||
		    m.midroll != h->midroll || (h->to == ST_END ?
		    m.outcome : m.pending) != h->outcome)
			fail_msg("%s: %s held %d midroll %d %s %s", h->what,
			    fsm_state_name(m.state), m.held, m.midroll,
			    fsm_outcome_name(m.outcome),
			    fsm_outcome_name(m.pending));
	}
	/* with --handover none of it: IN_HOLD and IN_RESUMED are failures */
	m = at(ST_ROLLOUT, OUT_NONE, 0, 0, 0);
	m.handover = 1;
	assert_int_equal(fsm_feed(&m, IN_HOLD), ST_GIVEBACK);
	m = at(ST_ROLLOUT, OUT_NONE, 0, 0, 0);
	m.handover = 1;
	assert_int_equal(fsm_feed(&m, IN_RESUMED), ST_GIVEBACK);
	/* a worker that vanishes in the drain before the restart: counted
	 * drained, the run goes on and may end ok */
	m = at(ST_DRAIN, OUT_NONE, 0, 0, 0);
	assert_int_equal(fsm_feed(&m, IN_VANISHED), ST_DRAIN);
	assert_int_equal(m.lost, 0);
	assert_int_equal(fsm_feed(&m, IN_OK), ST_RESTART);
	/* elsewhere they are IN_FAIL */
	m = at(ST_VERIFY, OUT_NONE, 0, 0, 0);
	assert_int_equal(fsm_feed(&m, IN_HOLD), ST_END);
	assert_int_equal(m.outcome, OUT_VERIFY_FAILED);
}

/* Which states an interrupt lets finish, and what a second signal leaves. */
static void
test_finishing(void **state)
{
	struct fsm	m;
	int		s, held, mid, ho;

	(void)state;
	for (s = ST_RESOLVE; s < NSTATES; s++)
		for (held = 0; held < 2; held++)
			for (mid = 0; mid < 2; mid++)
				for (ho = 0; ho < 2; ho++) {
					m = at((enum fsm_state)s, OUT_NONE, 0,
					    0, 0);
					m.held = held;
					m.midroll = mid;
					m.handover = ho;
					assert_int_equal(fsm_finishing(&m),
					    held && !ho && (s == ST_ROLLOUT ||
					    (mid && (s == ST_CANCEL ||
					    s == ST_DRAIN))));
				}
	m = at(ST_ROLLOUT, OUT_NONE, 0, 0, 0);
	assert_int_equal(fsm_abandoned(&m), OUT_INTERRUPTED);
	m.held = 1;
	assert_int_equal(fsm_abandoned(&m), OUT_RESTORE_FAILED);
	m = at(ST_DRAIN, OUT_NONE, 0, 0, 0);
	m.held = m.midroll = 1;
	assert_int_equal(fsm_abandoned(&m), OUT_RESTORE_FAILED);
}

static void
test_locked(void **state)
{
	struct fsm	m;

	(void)state;
	fsm_init(&m, 0, 0, 0);
	assert_int_equal(fsm_feed(&m, IN_OK), ST_LOCK);
	assert_int_equal(fsm_feed(&m, IN_LOCKED), ST_END);
	assert_int_equal(m.outcome, OUT_LOCKED);
	assert_int_not_equal(fsm_exit_code(OUT_LOCKED), 0);
}

/* Runs inputs from a fresh machine; checks each state on the way. */
static void
run(struct fsm *m, const enum fsm_input *in, const enum fsm_state *want,
    size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		enum fsm_state r = fsm_feed(m, in[i]);
		if (r != want[i])
			fail_msg("step %zu: %s, want %s", i, fsm_state_name(r),
			    fsm_state_name(want[i]));
	}
}

#define RUN(m, ins, wants) do {						\
	assert_int_equal(sizeof(ins) / sizeof(ins)[0],			\
	    sizeof(wants) / sizeof(wants)[0]);				\
	run((m), (ins), (wants), sizeof(ins) / sizeof(ins)[0]);	\
} while (0)

static void
test_happy_path(void **state)
{
	struct fsm		m;
	const enum fsm_input	in[] = { IN_OK, IN_OK, IN_OK, IN_OK, IN_OK,
				    IN_OK, IN_OK };
	const enum fsm_state	want[] = { ST_LOCK, ST_CANCEL, ST_DRAIN,
				    ST_RESTART, ST_ROLLOUT, ST_VERIFY, ST_END };

	(void)state;
	fsm_init(&m, 0, 0, 0);
	RUN(&m, in, want);
	assert_int_equal(m.outcome, OUT_OK);
	assert_int_equal(m.forced, 0);
	assert_int_equal(fsm_exit_code(m.outcome), 0);
}

/* Failures and timeouts before RESTART: RESTORE, then ABORTED; from
 * RESTART, through INFLIGHT once it found the PATCH did not land. */
static void
test_abort_before_restart(void **state)
{
	enum fsm_state	 stops[] = { ST_CANCEL, ST_DRAIN, ST_RESTART };
	enum fsm_input	 bad[] = { IN_FAIL, IN_TIMEOUT, IN_INTERRUPT };
	size_t		 i, j;

	(void)state;
	for (i = 0; i < 3; i++)
		for (j = 0; j < 3; j++) {
			struct fsm m;
			fsm_init(&m, 0, 0, 0);
			while (m.state != stops[i])
				assert_int_not_equal(fsm_feed(&m, IN_OK),
				    ST_END);
			if (stops[i] == ST_RESTART) {
				assert_int_equal(fsm_feed(&m, bad[j]),
				    ST_INFLIGHT);
				assert_false(after_restart(m.state));
				assert_int_equal(fsm_feed(&m, IN_FAIL),
				    ST_RESTORE);
			} else
				assert_int_equal(fsm_feed(&m, bad[j]),
				    ST_RESTORE);
			assert_int_equal(m.outcome, OUT_NONE);
			assert_false(after_restart(m.state));
			assert_int_equal(fsm_feed(&m, IN_OK), ST_END);
			assert_int_equal(m.outcome, bad[j] == IN_INTERRUPT ?
			    OUT_INTERRUPTED : OUT_ABORTED);
		}
}

static void
test_restore_fails(void **state)
{
	enum fsm_outcome pend[] = { OUT_ABORTED, OUT_INTERRUPTED,
			    OUT_ROLLOUT_FAILED };
	size_t		 i, j;

	(void)state;
	for (i = 0; i < 3; i++)
		for (j = 0; j < NINPUTS; j++) {
			struct fsm m = at(ST_RESTORE, pend[i], 0, 0, 0);
			enum fsm_state r = fsm_feed(&m, all_inputs[j]);
			assert_int_equal(r, ST_END);
			assert_int_equal(m.outcome, all_inputs[j] == IN_OK ?
			    pend[i] : all_inputs[j] == IN_LOST ? OUT_LEASE_LOST :
			    OUT_RESTORE_FAILED);
		}
	/* through a real path: cancel fails, restore fails */
	{
		struct fsm m;
		fsm_init(&m, 0, 0, 0);
		fsm_feed(&m, IN_OK);
		fsm_feed(&m, IN_OK);
		assert_int_equal(fsm_feed(&m, IN_FAIL), ST_RESTORE);
		assert_int_equal(fsm_feed(&m, IN_FAIL), ST_END);
		assert_int_equal(m.outcome, OUT_RESTORE_FAILED);
		assert_int_equal(fsm_exit_code(m.outcome), 9);
	}
}

static void
test_drain_timeout_force(void **state)
{
	struct fsm	m;

	(void)state;
	fsm_init(&m, 0, 0, 1);
	fsm_feed(&m, IN_OK);
	fsm_feed(&m, IN_OK);
	assert_int_equal(fsm_feed(&m, IN_OK), ST_DRAIN);
	assert_int_equal(m.forced, 0);
	assert_int_equal(fsm_feed(&m, IN_TIMEOUT), ST_RESTART);
	assert_int_equal(m.forced, 1);
	assert_int_equal(fsm_feed(&m, IN_OK), ST_ROLLOUT);
	assert_true(after_restart(m.state));
	assert_int_equal(fsm_feed(&m, IN_OK), ST_VERIFY);
	assert_int_equal(fsm_feed(&m, IN_OK), ST_END);
	assert_int_equal(m.outcome, OUT_OK);
	assert_int_equal(m.forced, 1);

	/* force does not turn a failure or an interrupt into a restart */
	m = at(ST_DRAIN, OUT_NONE, 0, 0, 1);
	assert_int_equal(fsm_feed(&m, IN_FAIL), ST_RESTORE);
	assert_int_equal(m.pending, OUT_ABORTED);
	assert_int_equal(m.forced, 0);
	m = at(ST_DRAIN, OUT_NONE, 0, 0, 1);
	assert_int_equal(fsm_feed(&m, IN_INTERRUPT), ST_RESTORE);
	assert_int_equal(m.pending, OUT_INTERRUPTED);
	assert_int_equal(m.forced, 0);
	/* without force a timeout aborts */
	m = at(ST_DRAIN, OUT_NONE, 0, 0, 0);
	assert_int_equal(fsm_feed(&m, IN_TIMEOUT), ST_RESTORE);
	assert_int_equal(m.forced, 0);
	assert_int_equal(fsm_feed(&m, IN_OK), ST_END);
	assert_int_equal(m.outcome, OUT_ABORTED);
	/* drain-only with force: a timeout never restarts */
	m = at(ST_DRAIN, OUT_NONE, 0, 1, 1);
	assert_int_equal(fsm_feed(&m, IN_TIMEOUT), ST_RESTORE);
	assert_int_equal(m.pending, OUT_ABORTED);
	assert_int_equal(m.forced, 0);
}

static void
test_drain_only(void **state)
{
	struct fsm		m;
	const enum fsm_input	in[] = { IN_OK, IN_OK, IN_OK, IN_OK };
	const enum fsm_state	want[] = { ST_LOCK, ST_CANCEL, ST_DRAIN,
				    ST_END };

	(void)state;
	fsm_init(&m, 0, 1, 0);
	RUN(&m, in, want);
	assert_int_equal(m.outcome, OUT_DRAINED);
	assert_int_equal(fsm_exit_code(m.outcome), 0);
	fsm_init(&m, 0, 1, 1);
	RUN(&m, in, want);
	assert_int_equal(m.outcome, OUT_DRAINED);
}

static void
test_rollout_fails(void **state)
{
	enum fsm_input	bad[] = { IN_FAIL, IN_TIMEOUT };
	size_t		i;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct fsm m;
		fsm_init(&m, 0, 0, 0);
		while (m.state != ST_ROLLOUT)
			assert_int_not_equal(fsm_feed(&m, IN_OK), ST_END);
		assert_true(after_restart(m.state));
		assert_int_equal(fsm_feed(&m, bad[i]), ST_RESTORE);
		assert_int_equal(m.pending, OUT_ROLLOUT_FAILED);
		assert_int_equal(fsm_feed(&m, IN_OK), ST_END);
		assert_int_equal(m.outcome, OUT_ROLLOUT_FAILED);
		assert_int_equal(fsm_exit_code(m.outcome), 6);
	}
	/* restoring after a failed rollout can fail too */
	{
		struct fsm m = at(ST_ROLLOUT, OUT_NONE, 0, 0, 0);
		fsm_feed(&m, IN_TIMEOUT);
		assert_int_equal(fsm_feed(&m, IN_TIMEOUT), ST_END);
		assert_int_equal(m.outcome, OUT_RESTORE_FAILED);
	}
}

static void
test_verify_fails(void **state)
{
	struct fsm	m;

	(void)state;
	fsm_init(&m, 0, 0, 0);
	while (m.state != ST_VERIFY)
		assert_int_not_equal(fsm_feed(&m, IN_OK), ST_END);
	assert_true(after_restart(m.state));
	assert_int_equal(fsm_feed(&m, IN_FAIL), ST_END);
	assert_int_equal(m.outcome, OUT_VERIFY_FAILED);
	assert_int_equal(fsm_exit_code(m.outcome), 7);
}

struct jump_case {
	enum fsm_state		 to;
	enum fsm_outcome	 pending;
	enum fsm_input		 then;
	enum fsm_state		 next;
	enum fsm_outcome	 outcome;	/* once at END; OUT_NONE: not */
};

/* A jump lands where it says, and the machine goes on from there. */
static void
test_jump(void **state)
{
	static const struct jump_case cases[] = {
		/* --undrain, --recover before the restart: RESTORE ends OK */
		{ ST_RESTORE, OUT_OK,	IN_OK,	 ST_END,     OUT_OK },
		/* ... and fails as a restore fails */
		{ ST_RESTORE, OUT_OK,	IN_FAIL, ST_END,     OUT_RESTORE_FAILED },
		/* a GIVEBACK's pending outcome carried by the recovery */
		{ ST_RESTORE, OUT_ROLLOUT_FAILED, IN_OK, ST_END,
		    OUT_ROLLOUT_FAILED },
		/* --recover after the restart: the rollout, then VERIFY */
		{ ST_ROLLOUT, OUT_OK,	IN_OK,	 ST_VERIFY,  OUT_NONE },
		{ ST_ROLLOUT, OUT_OK,	IN_FAIL, ST_RESTORE, OUT_NONE },
		/* the lease regained: DRAIN entered again */
		{ ST_DRAIN,   OUT_NONE,	IN_OK,	 ST_RESTART, OUT_NONE },
	};
	struct fsm	m;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct jump_case *c = &cases[i];
		fsm_init(&m, 0, 0, 0);
		fsm_jump(&m, c->to, c->pending);
		assert_int_equal(m.state, c->to);
		assert_int_equal(m.pending, c->pending);
		if (fsm_feed(&m, c->then) != c->next || m.outcome != c->outcome)
			fail_msg("case %zu: %s then %d: %s, %s", i,
			    fsm_state_name(c->to), c->then,
			    fsm_state_name(m.state),
			    fsm_outcome_name(m.outcome));
	}
	/* a run stopped before it started: interrupted, and stays ended */
	fsm_init(&m, 0, 0, 0);
	fsm_unstarted(&m);
	assert_int_equal(m.state, ST_END);
	assert_int_equal(m.outcome, OUT_INTERRUPTED);
	assert_int_equal(fsm_feed(&m, IN_OK), ST_END);
	assert_int_equal(m.outcome, OUT_INTERRUPTED);
}

static void
test_end_is_absorbing(void **state)
{
	size_t		 i, o;

	(void)state;
	for (o = OUT_OK; o < NOUTCOMES; o++)
		for (i = 0; i < NINPUTS; i++) {
			struct fsm m = at(ST_END, OUT_ABORTED, 0, 0, 0);
			m.outcome = (enum fsm_outcome)o;
			assert_int_equal(fsm_feed(&m, all_inputs[i]), ST_END);
			assert_int_equal(m.outcome, o);
			assert_int_equal(m.pending, OUT_ABORTED);
		}
}

static void
test_exit_codes(void **state)
{
	const enum fsm_outcome ok[] = { OUT_OK, OUT_DRY_RUN, OUT_NOTHING,
				    OUT_SKIPPED, OUT_DRAINED };
	const enum fsm_outcome bad[] = { OUT_LOCKED, OUT_PREFLIGHT,
				    OUT_INTERRUPTED, OUT_ABORTED,
				    OUT_VERIFY_FAILED, OUT_ROLLOUT_FAILED,
				    OUT_RESTORE_FAILED };
	size_t		 i, j;

	(void)state;
	for (i = 0; i < 5; i++)
		assert_int_equal(fsm_exit_code(ok[i]), 0);
	for (i = 0; i < 7; i++) {
		int c = fsm_exit_code(bad[i]);
		assert_true(c > 0 && c < 126);	/* not a shell's own codes */
		/* 1 is a generic error (usage, OUT_NONE), 2 usage */
		assert_true(c != 1 && c != 2);
		for (j = 0; j < i; j++)
			assert_int_not_equal(c, fsm_exit_code(bad[j]));
	}
	/* a run that never ended is an error, not a success */
	assert_int_not_equal(fsm_exit_code(OUT_NONE), 0);
	/* the values drain-and-rollout(1) documents */
	assert_int_equal(fsm_exit_code(OUT_PREFLIGHT), 3);
	assert_int_equal(fsm_exit_code(OUT_LOCKED), 4);
	assert_int_equal(fsm_exit_code(OUT_ABORTED), 5);
	assert_int_equal(fsm_exit_code(OUT_ROLLOUT_FAILED), 6);
	assert_int_equal(fsm_exit_code(OUT_VERIFY_FAILED), 7);
	assert_int_equal(fsm_exit_code(OUT_INTERRUPTED), 8);
	assert_int_equal(fsm_exit_code(OUT_RESTORE_FAILED), 9);
	/* a lost lease may leave a worker drained, as a failed restore */
	assert_int_equal(fsm_exit_code(OUT_LEASE_LOST), 9);
}

static void
test_severity(void **state)
{
	/* increasing severity, as fsm.h lists them */
	const enum fsm_outcome order[] = { OUT_NONE, OUT_OK, OUT_DRY_RUN,
	    OUT_NOTHING, OUT_SKIPPED, OUT_DRAINED, OUT_LOCKED, OUT_PREFLIGHT,
	    OUT_INTERRUPTED, OUT_ABORTED, OUT_VERIFY_FAILED,
	    OUT_ROLLOUT_FAILED, OUT_RESTORE_FAILED, OUT_LEASE_LOST };
	size_t		 i;

	(void)state;
	assert_int_equal(sizeof order / sizeof order[0], NOUTCOMES);
	for (i = 1; i < NOUTCOMES; i++)
		assert_true(order[i - 1] < order[i]);
	for (i = 0; i < NOUTCOMES - 1; i++)
		assert_true(order[i] < OUT_LEASE_LOST);
	/* every success is less severe than every failure */
	for (i = OUT_OK; i <= OUT_LEASE_LOST; i++) {
		size_t j;
		for (j = OUT_OK; j <= OUT_LEASE_LOST; j++)
			if (fsm_exit_code(i) == 0 && fsm_exit_code(j) != 0)
				assert_true(i < j);
	}
}

static void
test_names(void **state)
{
	const char	*names[NOUTCOMES];
	int		 i, j;

	(void)state;
	for (i = 0; i < NSTATES; i++) {
		const char *n = fsm_state_name((enum fsm_state)i);
		assert_non_null(n);
		assert_true(n[0] != '\0');
		assert_string_not_equal(n, "?");
		for (j = 0; j < i; j++)
			assert_string_not_equal(n,
			    fsm_state_name((enum fsm_state)j));
	}
	for (i = 0; i < NOUTCOMES; i++) {
		names[i] = fsm_outcome_name((enum fsm_outcome)i);
		assert_non_null(names[i]);
		assert_true(names[i][0] != '\0');
		assert_string_not_equal(names[i], "?");
		for (j = 0; j < i; j++)
			assert_string_not_equal(names[i], names[j]);
	}
	assert_string_equal(fsm_state_name(ST_DRAIN), "drain");
	assert_string_equal(fsm_outcome_name(OUT_OK), "ok");
	assert_string_equal(fsm_outcome_name(OUT_RESTORE_FAILED),
	    "restore-failed");
	/* out of range is not a crash and not NULL */
	assert_non_null(fsm_state_name((enum fsm_state)(NSTATES + 3)));
	assert_non_null(fsm_outcome_name((enum fsm_outcome)(NOUTCOMES + 3)));
}

/*
 * Exhaustive walk: every input sequence of length <= 8 from a fresh
 * machine, under every flag combination. Invariants:
 *  - RESTART is entered only from DRAIN, with IN_OK (not drain-only) or
 *    IN_TIMEOUT with force (and then forced is set);
 *  - forced implies force, was set at DRAIN, and never in drain-only;
 *  - RESTORE is entered only after CANCEL was reached, from
 *    CANCEL..ROLLOUT;
 *  - outcome is set exactly when the state is END, never OUT_NONE there;
 *  - DRY_RUN only with dry_run, DRAINED only with drain_only; a dry run
 *    never leaves RESOLVE except to END;
 *  - ROLLOUT_FAILED / VERIFY_FAILED / OK only after RESTART succeeded.
 */
struct walk {
	int	dry, only, force;
	long	visited;
	int	outcomes[NOUTCOMES];
	int	reached[NSTATES];
};

struct hist {
	int	drained_ok;	/* DRAIN -> RESTART happened */
	int	cancel_seen;
	int	restart_ok;	/* RESTART -> ROLLOUT happened */
};

static void
walk(struct walk *w, const struct fsm *m, struct hist h, int depth,
    enum fsm_input *path)
{
	size_t	i;

	for (i = 0; i < NINPUTS; i++) {
		struct fsm	 n = *m;
		struct hist	 nh = h;
		enum fsm_input	 in = all_inputs[i];
		enum fsm_state	 from = m->state, to;

		path[depth] = in;
		to = fsm_feed(&n, in);
		w->visited++;
		assert_int_equal(to, n.state);
		w->reached[to] = 1;
		if (from == ST_END) {
			assert_int_equal(to, ST_END);
			assert_int_equal(n.outcome, m->outcome);
			continue;
		}
		if (to == ST_RESTART && from != ST_RESTART) {
			int ok = from == ST_DRAIN && ((in == IN_OK &&
			    !w->only) || (in == IN_TIMEOUT && w->force &&
			    !w->only && n.forced));
			if (!ok)
				fail_msg("RESTART reached from %s with input "
				    "%d (dry %d only %d force %d depth %d)",
				    fsm_state_name(from), (int)in, w->dry,
				    w->only, w->force, depth);
			nh.drained_ok = 1;
		}
		if (to == ST_CANCEL)
			nh.cancel_seen = 1;
		if ((from == ST_RESTART || from == ST_INFLIGHT) &&
		    to == ST_ROLLOUT)
			nh.restart_ok = 1;	/* INFLIGHT: it landed */
		if (from == ST_INFLIGHT && to == ST_ROLLOUT)
			assert_true(n.restarting && nh.drained_ok);
		if (to == ST_RESTART || to == ST_ROLLOUT || to == ST_VERIFY)
			assert_true(nh.drained_ok);
		if (n.forced) {
			assert_true(w->force);
			assert_false(w->only);
			assert_true(nh.drained_ok);
		}
		if (m->forced)
			assert_true(n.forced);	/* never cleared */
		if (to == ST_RESTORE && from != ST_RESTORE) {
			assert_true(nh.cancel_seen);
			assert_true((from >= ST_CANCEL && from <= ST_ROLLOUT) ||
			    from == ST_INFLIGHT);
			assert_int_not_equal(n.pending, OUT_NONE);
		}
		if (w->dry)
			assert_true(to == ST_END);
		if (to != ST_END) {
			assert_int_equal(n.outcome, OUT_NONE);
			if (depth + 1 < 8)
				walk(w, &n, nh, depth + 1, path);
			continue;
		}
		assert_int_not_equal(n.outcome, OUT_NONE);
		w->outcomes[n.outcome]++;
		if (n.outcome == OUT_DRY_RUN)
			assert_true(w->dry);
		if (n.outcome == OUT_DRAINED) {
			assert_true(w->only);
			assert_false(nh.drained_ok);
		}
		if (n.outcome == OUT_OK || n.outcome == OUT_VERIFY_FAILED ||
		    n.outcome == OUT_ROLLOUT_FAILED)
			assert_true(nh.restart_ok);
		if (w->only)
			assert_false(nh.drained_ok);
		/* END absorbs: one more input to check, no deeper */
		if (depth + 1 < 8)
			walk(w, &n, nh, depth + 1, path);
	}
}

static void
test_walk_no_restart_without_drain(void **state)
{
	enum fsm_input	 path[8];
	int		 seen[NOUTCOMES];
	int		 f, o;

	(void)state;
	memset(seen, 0, sizeof seen);
	for (f = 0; f < 8; f++) {
		struct walk	w;
		struct hist	h = { 0, 0, 0 };
		struct fsm	m;

		memset(&w, 0, sizeof w);
		w.dry = f & 1;
		w.only = (f >> 1) & 1;
		w.force = (f >> 2) & 1;
		fsm_init(&m, w.dry, w.only, w.force);
		walk(&w, &m, h, 0, path);
		assert_true(w.visited > 0);
		if (!w.dry && !w.only)
			assert_true(w.reached[ST_RESTART] &&
			    w.reached[ST_VERIFY]);
		if (w.only)
			assert_false(w.reached[ST_RESTART]);
		for (o = 0; o < NOUTCOMES; o++)
			seen[o] += w.outcomes[o];
	}
	/* the walk reached every outcome but OUT_NONE (and OUT_NOTHING:
	 * IN_NOTHING is not walked; test_nothing covers it) */
	assert_int_equal(seen[OUT_NONE], 0);
	for (o = OUT_OK; o < NOUTCOMES; o++)
		if (seen[o] == 0 && o != OUT_NOTHING)
			fail_msg("outcome %s never reached",
			    fsm_outcome_name((enum fsm_outcome)o));
}

static void
test_init(void **state)
{
	struct fsm	m;

	(void)state;
	memset(&m, 0x5a, sizeof m);
	fsm_init(&m, 1, 0, 1);
	assert_int_equal(m.state, ST_RESOLVE);
	assert_int_equal(m.outcome, OUT_NONE);
	assert_int_equal(m.pending, OUT_NONE);
	assert_int_equal(m.dry_run, 1);
	assert_int_equal(m.drain_only, 0);
	assert_int_equal(m.force, 1);
	assert_int_equal(m.forced, 0);
	assert_int_equal(m.handover, 0);
	assert_int_equal(m.shed, 0);
	assert_int_equal(m.restarting, 0);
}

/*
 * INFLIGHT: a PATCH of the run's own may have landed or still land. Each
 * row: whether RESTART was entered, --handover, the pending outcome, the
 * input -> the next state, and its outcome (END) or pending.
 */
static void
test_inflight_edges(void **state)
{
	static const struct {
		int		 restarting, handover;
		enum fsm_outcome pending;
		enum fsm_input	 in;
		enum fsm_state	 to;
		enum fsm_outcome out;
	} t[] = {
		/* the restart landed: follow the rollout */
		{ 1, 0, OUT_ABORTED, IN_OK, ST_ROLLOUT, OUT_NONE },
		{ 1, 1, OUT_ABORTED, IN_OK, ST_ROLLOUT, OUT_NONE },
		/* landed, but the run was interrupted: stop, journal kept */
		{ 1, 0, OUT_INTERRUPTED, IN_OK, ST_END, OUT_INTERRUPTED },
		{ 1, 0, OUT_ABORTED, IN_INTERRUPT, ST_END, OUT_INTERRUPTED },
		{ 1, 1, OUT_INTERRUPTED, IN_OK, ST_END, OUT_INTERRUPTED },
		/* nothing of ours can land: restore, or give back */
		{ 1, 0, OUT_INTERRUPTED, IN_FAIL, ST_RESTORE, OUT_INTERRUPTED },
		{ 1, 0, OUT_ABORTED, IN_FAIL, ST_RESTORE, OUT_ABORTED },
		{ 1, 1, OUT_ABORTED, IN_FAIL, ST_GIVEBACK, OUT_ABORTED },
		{ 1, 1, OUT_INTERRUPTED, IN_FAIL, ST_GIVEBACK, OUT_INTERRUPTED },
		/* the restart refused (409), nothing landed: the census
		 * again; with --handover, from DETACH or interrupted: as
		 * IN_FAIL */
		{ 1, 0, OUT_ABORTED, IN_MORE, ST_DRAIN, OUT_ABORTED },
		{ 1, 1, OUT_ABORTED, IN_MORE, ST_GIVEBACK, OUT_ABORTED },
		{ 0, 0, OUT_ABORTED, IN_MORE, ST_RESTORE, OUT_ABORTED },
		{ 1, 0, OUT_INTERRUPTED, IN_MORE, ST_RESTORE,
		    OUT_INTERRUPTED },
		/* from DETACH (its pause): no restart was sent */
		{ 0, 1, OUT_ABORTED, IN_OK, ST_GIVEBACK, OUT_ABORTED },
		{ 0, 1, OUT_INTERRUPTED, IN_INTERRUPT, ST_GIVEBACK,
		    OUT_INTERRUPTED },
		{ 0, 1, OUT_ABORTED, IN_FAIL, ST_GIVEBACK, OUT_ABORTED },
		/* cannot tell: left drained, --recover finds out */
		{ 1, 0, OUT_ABORTED, IN_TIMEOUT, ST_END, OUT_RESTORE_FAILED },
		{ 1, 1, OUT_ABORTED, IN_TIMEOUT, ST_END, OUT_RESTORE_FAILED },
		{ 1, 0, OUT_ABORTED, IN_SKIP, ST_END, OUT_RESTORE_FAILED },
		{ 1, 0, OUT_ABORTED, IN_LOCKED, ST_END, OUT_RESTORE_FAILED },
		{ 1, 0, OUT_ABORTED, IN_NOTHING, ST_END, OUT_RESTORE_FAILED },
		{ 1, 0, OUT_ABORTED, IN_LOST, ST_END, OUT_LEASE_LOST },
	};
	size_t		i;
	struct fsm	m;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		m = at(ST_INFLIGHT, t[i].pending, 0, 0, 0);
		m.restarting = t[i].restarting;
		m.handover = t[i].handover;
		if (fsm_feed(&m, t[i].in) != t[i].to)
			fail_msg("row %zu: went to %s, want %s", i,
			    fsm_state_name(m.state), fsm_state_name(t[i].to));
		if (t[i].to == ST_END)
			assert_int_equal(m.outcome, t[i].out);
		else if (t[i].to != ST_ROLLOUT)
			assert_int_equal(m.pending, t[i].out);
	}
	/* held (the pause in flight): a refusal is no way back to DRAIN */
	m = at(ST_INFLIGHT, OUT_ROLLOUT_FAILED, 0, 0, 0);
	m.restarting = m.held = 1;
	assert_int_equal(fsm_feed(&m, IN_MORE), ST_RESTORE);
	/* entering RESTART arms it; an interrupt never reaches INFLIGHT */
	m = at(ST_DRAIN, OUT_NONE, 0, 0, 0);
	assert_int_equal(fsm_feed(&m, IN_OK), ST_RESTART);
	assert_true(m.restarting);
	m = at(ST_DETACH, OUT_NONE, 0, 0, 0);
	m.handover = 1;
	assert_int_equal(fsm_feed(&m, IN_FAIL), ST_INFLIGHT);
	assert_false(m.restarting);
	assert_true(fsm_restoring(ST_INFLIGHT));
	assert_string_equal(fsm_state_name(ST_INFLIGHT), "inflight");
}

/* ---- --handover ------------------------------------------------------ */

/* The handover path's edges (handover set, no other flag). */
static const struct edge handover[] = {
	{ ST_LOCK, IN_OK,		ST_DETACH,   OUT_NONE, OUT_NONE },
	{ ST_DETACH, IN_OK,		ST_RESTART,  OUT_NONE, OUT_NONE },
	{ ST_DETACH, IN_FAIL,		ST_INFLIGHT, OUT_NONE, OUT_ABORTED },
	{ ST_DETACH, IN_TIMEOUT,	ST_INFLIGHT, OUT_NONE, OUT_ABORTED },
	{ ST_DETACH, IN_INTERRUPT,	ST_INFLIGHT, OUT_NONE, OUT_INTERRUPTED },
	{ ST_DETACH, IN_LOST,		ST_END,      OUT_LEASE_LOST, OUT_NONE },
	{ ST_RESTART, IN_OK,		ST_ROLLOUT,  OUT_NONE, OUT_NONE },
	{ ST_RESTART, IN_FAIL,		ST_INFLIGHT, OUT_NONE, OUT_ABORTED },
	{ ST_RESTART, IN_INTERRUPT,	ST_INFLIGHT, OUT_NONE, OUT_INTERRUPTED },
	{ ST_ROLLOUT, IN_OK,		ST_VERIFY,   OUT_NONE, OUT_NONE },
	{ ST_ROLLOUT, IN_FAIL,		ST_GIVEBACK, OUT_NONE, OUT_ROLLOUT_FAILED },
	{ ST_ROLLOUT, IN_TIMEOUT,	ST_GIVEBACK, OUT_NONE, OUT_ROLLOUT_FAILED },
	{ ST_ROLLOUT, IN_INTERRUPT,	ST_END,      OUT_INTERRUPTED, OUT_NONE },
	{ ST_VERIFY, IN_OK,		ST_CANCEL,   OUT_NONE, OUT_NONE },
	{ ST_VERIFY, IN_FAIL,		ST_GIVEBACK, OUT_NONE, OUT_VERIFY_FAILED },
	{ ST_VERIFY, IN_TIMEOUT,	ST_GIVEBACK, OUT_NONE, OUT_VERIFY_FAILED },
	{ ST_VERIFY, IN_INTERRUPT,	ST_END,      OUT_INTERRUPTED, OUT_NONE },
	{ ST_CANCEL, IN_OK,		ST_DRAIN,    OUT_NONE, OUT_NONE },
	{ ST_CANCEL, IN_FAIL,		ST_RESTORE,  OUT_NONE, OUT_ABORTED },
	{ ST_DRAIN, IN_OK,		ST_RETIRE,   OUT_NONE, OUT_NONE },
	{ ST_DRAIN, IN_TIMEOUT,		ST_RESTORE,  OUT_NONE, OUT_ABORTED },
	{ ST_DRAIN, IN_INTERRUPT,	ST_RESTORE,  OUT_NONE, OUT_INTERRUPTED },
	{ ST_RETIRE, IN_OK,		ST_HISTORY,  OUT_NONE, OUT_NONE },
	{ ST_RETIRE, IN_FAIL,		ST_RESTORE,  OUT_NONE, OUT_ABORTED },
	{ ST_RETIRE, IN_INTERRUPT,	ST_RESTORE,  OUT_NONE, OUT_INTERRUPTED },
	{ ST_HISTORY, IN_OK,		ST_END,      OUT_OK, OUT_NONE },
	{ ST_HISTORY, IN_FAIL,		ST_END,      OUT_ABORTED, OUT_NONE },
	{ ST_HISTORY, IN_INTERRUPT,	ST_END,      OUT_INTERRUPTED, OUT_NONE },
	{ ST_HISTORY, IN_LOST,		ST_END,      OUT_LEASE_LOST, OUT_NONE },
};

static void
test_handover_edges(void **state)
{
	size_t		i;
	enum fsm_state	r;

	(void)state;
	for (i = 0; i < sizeof handover / sizeof handover[0]; i++) {
		const struct edge *e = &handover[i];
		struct fsm m = at(e->from, OUT_NONE, 0, 0, 0);
		m.handover = 1;
		r = fsm_feed(&m, e->in);
		if (r != e->to)
			fail_msg("handover: %s + input %d: went to %s, want %s",
			    fsm_state_name(e->from), (int)e->in,
			    fsm_state_name(r), fsm_state_name(e->to));
		assert_int_equal(m.outcome, e->to == ST_END ? e->outcome :
		    OUT_NONE);
		if (e->to == ST_RESTORE || e->to == ST_GIVEBACK ||
		    e->to == ST_INFLIGHT)
			assert_int_equal(m.pending, e->pending);
		assert_int_equal(m.handover, 1);
	}
}

static void
test_handover_giveback(void **state)
{
	struct fsm	m;
	int		o;

	(void)state;
	for (o = OUT_OK; o < NOUTCOMES; o++) {
		m = at(ST_GIVEBACK, (enum fsm_outcome)o, 0, 0, 0);
		m.handover = 1;
		assert_int_equal(fsm_feed(&m, IN_OK), ST_END);
		assert_int_equal(m.outcome, o);
		m = at(ST_GIVEBACK, (enum fsm_outcome)o, 0, 0, 0);
		m.handover = 1;
		assert_int_equal(fsm_feed(&m, IN_FAIL), ST_END);
		assert_int_equal(m.outcome, OUT_RESTORE_FAILED);
	}
	assert_true(fsm_restoring(ST_GIVEBACK));
	assert_true(fsm_restoring(ST_RESTORE));
	assert_false(fsm_restoring(ST_DETACH));
	assert_string_equal(fsm_state_name(ST_DETACH), "detach");
	assert_string_equal(fsm_state_name(ST_RETIRE), "retire");
	assert_string_equal(fsm_state_name(ST_HISTORY), "history");
	assert_string_equal(fsm_state_name(ST_GIVEBACK), "giveback");
	assert_string_equal(fsm_state_name(ST_END), "end");
}

/* Which states end the first contact (retry.h): every one that acts. */
static void
test_changes(void **state)
{
	int	s;

	(void)state;
	for (s = 0; s <= ST_END; s++)
		assert_int_equal(fsm_changes((enum fsm_state)s),
		    s != ST_RESOLVE && s != ST_LOCK && s != ST_END);
	assert_false(fsm_changes(ST_RESOLVE));
	assert_false(fsm_changes(ST_LOCK));
	assert_true(fsm_changes(ST_CANCEL));
	assert_true(fsm_changes(ST_DETACH));
	assert_true(fsm_changes(ST_RESTORE));
	assert_false(fsm_changes(ST_END));
}

static void
test_handover_happy_path(void **state)
{
	const enum fsm_state path[] = { ST_LOCK, ST_DETACH, ST_RESTART,
		ST_ROLLOUT, ST_VERIFY, ST_CANCEL, ST_DRAIN, ST_RETIRE,
		ST_HISTORY, ST_END };
	struct fsm	m;
	size_t		i;

	(void)state;
	fsm_init(&m, 0, 0, 0);
	assert_int_equal(m.handover, 0);
	m.handover = 1;
	for (i = 0; i < sizeof path / sizeof path[0]; i++)
		assert_int_equal(fsm_feed(&m, IN_OK), path[i]);
	assert_int_equal(m.outcome, OUT_OK);
	/* forced at the drain timeout: the old pods go anyway */
	m = at(ST_DRAIN, OUT_NONE, 0, 0, 1);
	m.handover = 1;
	assert_int_equal(fsm_feed(&m, IN_TIMEOUT), ST_RETIRE);
	assert_true(m.forced);
}

/*
 * Exhaustive walk of the handover machine (every input sequence up to 9):
 * the old workers' consumers are cancelled (CANCEL) only after a new
 * worker was verified; the restart only after DETACH; GIVEBACK only before
 * CANCEL, RESTORE only after it; OK only through HISTORY.
 */
struct hwalk {
	int	verified, cancelled, detached, history;
};

static void
hwalk(const struct fsm *m, struct hwalk h, int depth, int *reached)
{
	size_t	i;

	for (i = 0; i < NINPUTS; i++) {
		struct fsm	n = *m;
		struct hwalk	nh = h;
		enum fsm_state	from = m->state, to;

		to = fsm_feed(&n, all_inputs[i]);
		reached[to] = 1;
		if (from == ST_END)
			continue;
		if (from == ST_VERIFY && to == ST_CANCEL)
			nh.verified = 1;
		if (to == ST_CANCEL)
			assert_true(nh.verified);
		if (to == ST_CANCEL)
			nh.cancelled = 1;
		if (from == ST_DETACH && to == ST_RESTART)
			nh.detached = 1;
		if (to == ST_RESTART)
			assert_true(from == ST_DETACH && all_inputs[i] == IN_OK);
		if (to == ST_GIVEBACK && from != ST_GIVEBACK)
			assert_false(nh.cancelled);
		if (to == ST_RESTORE && from != ST_RESTORE)
			assert_true(nh.cancelled);
		if (to == ST_RETIRE)
			assert_true(from == ST_DRAIN);
		if (from == ST_HISTORY)
			nh.history = 1;
		if (to == ST_END && n.outcome == OUT_OK)
			assert_true(nh.history && nh.detached &&
			    nh.verified);
		if (to != ST_END && depth + 1 < 9)
			hwalk(&n, nh, depth + 1, reached);
	}
}

static void
test_handover_walk(void **state)
{
	struct hwalk	h = { 0, 0, 0, 0 };
	int		reached[NSTATES];
	struct fsm	m;
	int		s;

	(void)state;
	memset(reached, 0, sizeof reached);
	fsm_init(&m, 0, 0, 0);
	m.handover = 1;
	hwalk(&m, h, 0, reached);
	for (s = 0; s < NSTATES; s++)
		if (s != ST_RESOLVE && !reached[s])
			fail_msg("handover: %s never reached",
			    fsm_state_name((enum fsm_state)s));
}

/* A handover machine at s, pending, with shed. */
static struct fsm
shed_at(enum fsm_state s, enum fsm_outcome pending, int shed, int force)
{
	struct fsm	m = at(s, pending, 0, 0, force);

	m.handover = 1;
	m.shed = shed;
	return m;
}

/*
 * A GIVEBACK that sheds (fsm.shed 1: old pods the controller would stop,
 * left detached): CANCEL, DRAIN, RETIRE, HISTORY as after a handover, but
 * the run ends in the failure that led to GIVEBACK, or a worse one.
 */
static void
test_handover_shed(void **state)
{
	const enum fsm_state path[] = { ST_CANCEL, ST_DRAIN, ST_RETIRE,
		ST_HISTORY, ST_END };
	struct fsm	m;
	size_t		i;

	(void)state;
	m = shed_at(ST_GIVEBACK, OUT_ROLLOUT_FAILED, 1, 0);
	for (i = 0; i < sizeof path / sizeof path[0]; i++) {
		assert_int_equal(fsm_feed(&m, IN_OK), path[i]);
		assert_int_equal(m.shed, 2);
		assert_int_equal(m.pending, OUT_ROLLOUT_FAILED);
	}
	assert_int_equal(m.outcome, OUT_ROLLOUT_FAILED);
	/* a recovery's GIVEBACK restores consumers first, then sheds */
	m = shed_at(ST_RESTORE, OUT_VERIFY_FAILED, 1, 0);
	assert_int_equal(fsm_feed(&m, IN_OK), ST_CANCEL);
	assert_int_equal(m.shed, 2);
	assert_int_equal(m.pending, OUT_VERIFY_FAILED);
	/* GIVEBACK failing still fails as before */
	m = shed_at(ST_GIVEBACK, OUT_ROLLOUT_FAILED, 1, 0);
	assert_int_equal(fsm_feed(&m, IN_FAIL), ST_END);
	assert_int_equal(m.outcome, OUT_RESTORE_FAILED);
	/* a failure while shedding: RESTORE, the worse outcome kept */
	m = shed_at(ST_DRAIN, OUT_ROLLOUT_FAILED, 2, 0);
	assert_int_equal(fsm_feed(&m, IN_TIMEOUT), ST_RESTORE);
	assert_int_equal(m.pending, OUT_ROLLOUT_FAILED);
	assert_int_equal(fsm_feed(&m, IN_OK), ST_END);
	assert_int_equal(m.outcome, OUT_ROLLOUT_FAILED);
	m = shed_at(ST_CANCEL, OUT_INTERRUPTED, 2, 0);
	assert_int_equal(fsm_feed(&m, IN_FAIL), ST_RESTORE);
	assert_int_equal(m.pending, OUT_ABORTED);
	m = shed_at(ST_RETIRE, OUT_ABORTED, 2, 0);
	assert_int_equal(fsm_feed(&m, IN_INTERRUPT), ST_RESTORE);
	assert_int_equal(m.pending, OUT_ABORTED);
	m = shed_at(ST_HISTORY, OUT_VERIFY_FAILED, 2, 0);
	assert_int_equal(fsm_feed(&m, IN_FAIL), ST_END);
	assert_int_equal(m.outcome, OUT_VERIFY_FAILED);
	m = shed_at(ST_HISTORY, OUT_INTERRUPTED, 2, 0);
	assert_int_equal(fsm_feed(&m, IN_FAIL), ST_END);
	assert_int_equal(m.outcome, OUT_ABORTED);
	/* forced at the drain timeout: the shed pods go anyway */
	m = shed_at(ST_DRAIN, OUT_ROLLOUT_FAILED, 2, 1);
	assert_int_equal(fsm_feed(&m, IN_TIMEOUT), ST_RETIRE);
	/* without shed, RESTORE ends as before */
	m = shed_at(ST_RESTORE, OUT_ABORTED, 0, 0);
	assert_int_equal(fsm_feed(&m, IN_OK), ST_END);
	assert_int_equal(m.outcome, OUT_ABORTED);
}

/*
 * Every input sequence (up to 9) from a GIVEBACK that sheds: never OK,
 * never a milder outcome than the GIVEBACK's, never a restart or another
 * GIVEBACK; CANCEL only once shedding (shed 2).
 */
static void
shed_walk(const struct fsm *m, enum fsm_outcome floor, int depth)
{
	size_t	i;

	for (i = 0; i < NINPUTS; i++) {
		struct fsm	n = *m;
		enum fsm_state	from = m->state, to;

		to = fsm_feed(&n, all_inputs[i]);
		if (from == ST_END)
			continue;
		assert_true(to != ST_RESTART && to != ST_ROLLOUT &&
		    to != ST_VERIFY && to != ST_DETACH);
		if (to == ST_GIVEBACK)
			assert_int_equal(from, ST_GIVEBACK);
		if (to == ST_CANCEL)
			assert_int_equal(n.shed, 2);
		if (to == ST_END)
			assert_true(n.outcome >= floor ||
			    n.outcome == OUT_LEASE_LOST);
		if (to != ST_END && depth + 1 < 9)
			shed_walk(&n, floor, depth + 1);
	}
}

static void
test_handover_shed_walk(void **state)
{
	const enum fsm_outcome pend[] = { OUT_INTERRUPTED, OUT_ABORTED,
		OUT_VERIFY_FAILED, OUT_ROLLOUT_FAILED };
	struct fsm	m;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof pend / sizeof pend[0]; i++) {
		m = shed_at(ST_GIVEBACK, pend[i], 1, 0);
		shed_walk(&m, pend[i], 0);
	}
}

/* A run abandoned where it is (a second signal): the exit status says
 * whether a worker may be left without consumers. */
static void
test_abandoned(void **state)
{
	static const struct {
		enum fsm_state	 st;
		int		 handover, shed;
		enum fsm_outcome outcome, want;
	} t[] = {
		{ ST_RESOLVE, 0, 0, OUT_NONE, OUT_INTERRUPTED },
		{ ST_LOCK, 0, 0, OUT_NONE, OUT_INTERRUPTED },
		{ ST_CANCEL, 0, 0, OUT_NONE, OUT_RESTORE_FAILED },
		{ ST_DRAIN, 0, 0, OUT_NONE, OUT_RESTORE_FAILED },
		{ ST_RESTART, 0, 0, OUT_NONE, OUT_RESTORE_FAILED },
		{ ST_INFLIGHT, 0, 0, OUT_NONE, OUT_RESTORE_FAILED },
		{ ST_RESTORE, 0, 0, OUT_NONE, OUT_RESTORE_FAILED },
		{ ST_ROLLOUT, 0, 0, OUT_NONE, OUT_INTERRUPTED },
		{ ST_VERIFY, 0, 0, OUT_NONE, OUT_INTERRUPTED },
		{ ST_DETACH, 1, 0, OUT_NONE, OUT_RESTORE_FAILED },
		{ ST_RESTART, 1, 0, OUT_NONE, OUT_RESTORE_FAILED },
		{ ST_INFLIGHT, 1, 0, OUT_NONE, OUT_RESTORE_FAILED },
		{ ST_GIVEBACK, 1, 0, OUT_NONE, OUT_RESTORE_FAILED },
		{ ST_ROLLOUT, 1, 0, OUT_NONE, OUT_INTERRUPTED },
		/* handover after the restart: the new workers consume */
		{ ST_CANCEL, 1, 0, OUT_NONE, OUT_INTERRUPTED },
		{ ST_DRAIN, 1, 0, OUT_NONE, OUT_INTERRUPTED },
		{ ST_RETIRE, 1, 0, OUT_NONE, OUT_INTERRUPTED },
		{ ST_HISTORY, 1, 0, OUT_NONE, OUT_INTERRUPTED },
		/* shedding after a GIVEBACK: the rollout had failed */
		{ ST_CANCEL, 1, 2, OUT_NONE, OUT_RESTORE_FAILED },
		{ ST_DRAIN, 1, 2, OUT_NONE, OUT_RESTORE_FAILED },
		{ ST_END, 0, 0, OUT_OK, OUT_OK },
		{ ST_END, 0, 0, OUT_INTERRUPTED, OUT_INTERRUPTED },
		{ ST_END, 1, 0, OUT_RESTORE_FAILED, OUT_RESTORE_FAILED },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct fsm m;
		fsm_init(&m, 0, 0, 0);
		m.state = t[i].st;
		m.handover = t[i].handover;
		m.shed = t[i].shed;
		m.outcome = t[i].outcome;
		if (fsm_abandoned(&m) != t[i].want)
			fail_msg("%s handover %d shed %d: got %s, want %s",
			    fsm_state_name(t[i].st), t[i].handover, t[i].shed,
			    fsm_outcome_name(fsm_abandoned(&m)),
			    fsm_outcome_name(t[i].want));
		/* abandoned there (a second signal): END, that outcome */
		fsm_abandon(&m);
		assert_int_equal(m.state, ST_END);
		assert_int_equal(m.outcome, t[i].want);
	}
}

/* The nth signal: interrupt the runs, wait for the loop's last operations
 * once every run ended, or exit at once; and the outcome it exits with. */
static void
test_signals(void **state)
{
	static const struct {
		int		 nth, ended;
		enum fsm_signal	 want;
	} t[] = {
		{ 1, 0, FSM_SIG_INTERRUPT },
		{ 1, 1, FSM_SIG_WAIT },
		{ 2, 0, FSM_SIG_EXIT },
		{ 2, 1, FSM_SIG_EXIT },
		{ 3, 1, FSM_SIG_EXIT },
	};
	static const struct {
		enum fsm_outcome worst;
		int		 ended;
		enum fsm_outcome want;
	} x[] = {
		/* every run ended: a webhook cut short changes no run */
		{ OUT_NONE, 1, OUT_NONE },
		{ OUT_OK, 1, OUT_OK },
		{ OUT_LOCKED, 1, OUT_LOCKED },
		{ OUT_INTERRUPTED, 1, OUT_INTERRUPTED },
		{ OUT_RESTORE_FAILED, 1, OUT_RESTORE_FAILED },
		/* runs in flight: at least interrupted */
		{ OUT_NONE, 0, OUT_INTERRUPTED },
		{ OUT_OK, 0, OUT_INTERRUPTED },
		{ OUT_PREFLIGHT, 0, OUT_INTERRUPTED },
		{ OUT_INTERRUPTED, 0, OUT_INTERRUPTED },
		{ OUT_ROLLOUT_FAILED, 0, OUT_ROLLOUT_FAILED },
		{ OUT_RESTORE_FAILED, 0, OUT_RESTORE_FAILED },
		{ OUT_LEASE_LOST, 0, OUT_LEASE_LOST },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		if (fsm_signal(t[i].nth, t[i].ended) != t[i].want)
			fail_msg("signal %d ended %d: got %d, want %d",
			    t[i].nth, t[i].ended,
			    fsm_signal(t[i].nth, t[i].ended), t[i].want);
	for (i = 0; i < sizeof x / sizeof x[0]; i++)
		if (fsm_exit_outcome(x[i].worst, x[i].ended) != x[i].want)
			fail_msg("%s ended %d: got %s, want %s",
			    fsm_outcome_name(x[i].worst), x[i].ended,
			    fsm_outcome_name(fsm_exit_outcome(x[i].worst,
			    x[i].ended)), fsm_outcome_name(x[i].want));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_table_complete),
		cmocka_unit_test(test_every_transition_plain),
		cmocka_unit_test(test_every_transition_flags),
		cmocka_unit_test(test_dry_run),
		cmocka_unit_test(test_skip),
		cmocka_unit_test(test_nothing),
		cmocka_unit_test(test_more),
		cmocka_unit_test(test_more_paths),
		cmocka_unit_test(test_held),
		cmocka_unit_test(test_finishing),
		cmocka_unit_test(test_locked),
		cmocka_unit_test(test_happy_path),
		cmocka_unit_test(test_abort_before_restart),
		cmocka_unit_test(test_restore_fails),
		cmocka_unit_test(test_drain_timeout_force),
		cmocka_unit_test(test_drain_only),
		cmocka_unit_test(test_rollout_fails),
		cmocka_unit_test(test_verify_fails),
		cmocka_unit_test(test_jump),
		cmocka_unit_test(test_end_is_absorbing),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_severity),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_walk_no_restart_without_drain),
		cmocka_unit_test(test_handover_edges),
		cmocka_unit_test(test_inflight_edges),
		cmocka_unit_test(test_handover_giveback),
		cmocka_unit_test(test_handover_happy_path),
		cmocka_unit_test(test_handover_walk),
		cmocka_unit_test(test_changes),
		cmocka_unit_test(test_handover_shed),
		cmocka_unit_test(test_handover_shed_walk),
		cmocka_unit_test(test_abandoned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
