/* fsm.c -- the drain state machine's transitions; see include/fsm.h. */
#include "fsm.h"

void
fsm_init(struct fsm *m, int dry_run, int drain_only, int force)
{
	m->state = ST_RESOLVE;
	m->outcome = OUT_NONE;
	m->pending = OUT_NONE;
	m->dry_run = dry_run;
	m->drain_only = drain_only;
	m->force = force;
	m->forced = 0;
	m->handover = 0;
	m->shed = 0;
	m->restarting = 0;
	m->held = 0;
	m->midroll = 0;
	m->lost = 0;
}

/* RESTART: from now on its PATCH may land (INFLIGHT's IN_OK). */
static enum fsm_state
restart(struct fsm *m)
{
	m->restarting = 1;
	return m->state = ST_RESTART;
}

static enum fsm_state
end(struct fsm *m, enum fsm_outcome o)
{
	/* a worker of the old template went with its tasks: never success */
	if (m->lost && o < OUT_ROLLOUT_FAILED)
		o = OUT_ROLLOUT_FAILED;
	m->outcome = o;
	return m->state = ST_END;
}

static enum fsm_state
restore(struct fsm *m, enum fsm_outcome o)
{
	/* shedding after a failed handover: that failure stays the outcome */
	if (m->shed && m->pending > o)
		o = m->pending;
	m->pending = o;
	return m->state = ST_RESTORE;
}

static enum fsm_state
giveback(struct fsm *m, enum fsm_outcome o)
{
	m->pending = o;
	return m->state = ST_GIVEBACK;
}

/* A PATCH of ours may still land: INFLIGHT finds out before restoring. */
static enum fsm_state
inflight(struct fsm *m, enum fsm_outcome o)
{
	m->pending = o;
	return m->state = ST_INFLIGHT;
}

static enum fsm_outcome
abort_outcome(enum fsm_input in)
{
	return in == IN_INTERRUPT ? OUT_INTERRUPTED : OUT_ABORTED;
}

/* Given back: drain the old workers the controller would stop. */
static enum fsm_state
shed(struct fsm *m)
{
	m->shed = 2;
	return m->state = ST_CANCEL;
}

enum fsm_state
fsm_feed(struct fsm *m, enum fsm_input in)
{
	if (in == IN_LOST && m->state != ST_END)
		return end(m, OUT_LEASE_LOST);
	if (in == IN_VANISHED) {
		if (m->midroll && m->state != ST_END)
			m->lost = 1;
		return m->state;
	}
	/* more workers to drain means something to DRAIN, or to ROLLOUT in
	 * place; holding and resuming the rollout something to ROLLOUT */
	if (in == IN_MORE && !(m->state == ST_DRAIN && !m->drain_only) &&
	    !(m->state == ST_ROLLOUT && !m->handover) &&
	    !(m->state == ST_INFLIGHT && m->restarting && !m->handover &&
	    !m->held && m->pending != OUT_INTERRUPTED))
		in = IN_FAIL;
	if ((in == IN_HOLD || in == IN_RESUMED) &&
	    (m->state != ST_ROLLOUT || m->handover))
		in = IN_FAIL;
	/* held: the old-template workers' drain ends first */
	if (in == IN_INTERRUPT && fsm_finishing(m)) {
		if (m->pending < OUT_INTERRUPTED)
			m->pending = OUT_INTERRUPTED;
		return m->state;
	}
	switch (m->state) {
	case ST_RESOLVE:
		if (in == IN_OK)
			return m->dry_run ? end(m, OUT_DRY_RUN) :
			    (m->state = ST_LOCK);
		if (in == IN_SKIP)
			return end(m, OUT_SKIPPED);
		if (in == IN_NOTHING)
			return end(m, OUT_NOTHING);
		return end(m, in == IN_INTERRUPT ? OUT_INTERRUPTED :
		    OUT_PREFLIGHT);
	case ST_LOCK:
		if (in == IN_OK)
			return m->state = m->handover ? ST_DETACH : ST_CANCEL;
		if (in == IN_LOCKED)
			return end(m, OUT_LOCKED);
		return end(m, in == IN_INTERRUPT ? OUT_INTERRUPTED :
		    OUT_PREFLIGHT);
	case ST_CANCEL:
		if (in == IN_OK)
			return m->state = ST_DRAIN;
		if (m->midroll)
			return restore(m, OUT_ROLLOUT_FAILED);
		return restore(m, abort_outcome(in));
	case ST_DRAIN:
		if (in == IN_MORE)
			return m->state = ST_CANCEL;
		if (m->midroll) {
			/* back to the rollout it holds (forced: anyway) */
			if (in == IN_TIMEOUT && m->force)
				m->forced = 1;
			else if (in != IN_OK)
				return restore(m, OUT_ROLLOUT_FAILED);
			m->midroll = 0;
			return m->state = ST_ROLLOUT;
		}
		if (in == IN_OK)
			return m->drain_only ? end(m, OUT_DRAINED) :
			    m->handover ? (m->state = ST_RETIRE) : restart(m);
		if (in == IN_TIMEOUT && m->force && !m->drain_only) {
			m->forced = 1;
			return m->handover ? (m->state = ST_RETIRE) : restart(m);
		}
		return restore(m, abort_outcome(in));
	case ST_RESTART:
		if (in == IN_OK)
			return m->state = ST_ROLLOUT;
		return inflight(m, abort_outcome(in));
	case ST_INFLIGHT:
		/* IN_OK: the restart landed; IN_INTERRUPT: it did, and the run
		 * was interrupted; IN_FAIL: nothing of ours can land any more */
		if ((in == IN_OK || in == IN_INTERRUPT) && !m->restarting)
			in = IN_FAIL;	/* no restart was sent (DETACH) */
		/* refused (409), nothing landed: the census again */
		if (in == IN_MORE)
			return m->state = ST_DRAIN;
		if (in == IN_OK && m->pending != OUT_INTERRUPTED)
			return m->state = ST_ROLLOUT;
		if (in == IN_OK || in == IN_INTERRUPT)
			return end(m, OUT_INTERRUPTED);
		if (in == IN_FAIL)
			return m->handover ? giveback(m, m->pending) :
			    restore(m, m->pending);
		/* cannot tell: workers stay drained, the journal kept */
		return end(m, OUT_RESTORE_FAILED);
	case ST_ROLLOUT:
		if (in == IN_HOLD) {
			m->held = 1;
			return m->state;
		}
		if (in == IN_MORE) {
			m->held = m->midroll = 1;
			return m->state = ST_CANCEL;
		}
		if (in == IN_RESUMED) {
			m->held = 0;
			return m->pending == OUT_INTERRUPTED ?
			    end(m, OUT_INTERRUPTED) : m->state;
		}
		if (in == IN_OK)
			return m->state = ST_VERIFY;
		if (in == IN_INTERRUPT)
			return end(m, OUT_INTERRUPTED);
		/* the old pod may survive a failed rollout: give it back */
		if (m->handover)
			return giveback(m, OUT_ROLLOUT_FAILED);
		/* held: the pause may still land; resumed once none can */
		if (m->held)
			return inflight(m, OUT_ROLLOUT_FAILED);
		return restore(m, OUT_ROLLOUT_FAILED);
	case ST_VERIFY:
		if (in == IN_OK)
			return m->handover ? (m->state = ST_CANCEL) :
			    end(m, OUT_OK);
		if (in == IN_INTERRUPT)
			return end(m, OUT_INTERRUPTED);
		/* handover: the old workers never stopped; keep them */
		if (m->handover)
			return giveback(m, OUT_VERIFY_FAILED);
		return end(m, OUT_VERIFY_FAILED);
	case ST_DETACH:
		if (in == IN_OK)
			return restart(m);
		return inflight(m, abort_outcome(in));
	case ST_RETIRE:
		if (in == IN_OK)
			return m->state = ST_HISTORY;
		/* an old pod not deleted: its worker consumes again */
		return restore(m, abort_outcome(in));
	case ST_HISTORY:
		if (in == IN_OK)
			return end(m, m->shed ? m->pending : OUT_OK);
		/* every worker runs: only the history is missing */
		if (m->shed && m->pending > abort_outcome(in))
			return end(m, m->pending);
		return end(m, in == IN_INTERRUPT ? OUT_INTERRUPTED :
		    OUT_ABORTED);
	case ST_GIVEBACK:
		if (in == IN_OK)
			return m->shed == 1 ? shed(m) : end(m, m->pending);
		return end(m, OUT_RESTORE_FAILED);
	case ST_RESTORE:
		if (in == IN_OK)
			return m->shed == 1 ? shed(m) : end(m, m->pending);
		return end(m, OUT_RESTORE_FAILED);
	case ST_END:
		break;
	}
	return m->state;
}

const char *
fsm_state_name(enum fsm_state s)
{
	static const char *names[] = {
		"resolve", "lock", "cancel", "drain", "restart", "rollout",
		"verify", "restore", "detach", "retire", "history",
		"giveback", "inflight", "end",
	};

	return s <= ST_END ? names[s] : "?";
}

const char *
fsm_outcome_name(enum fsm_outcome o)
{
	static const char *names[] = {
		"none", "ok", "dry-run", "nothing-to-do", "skipped", "drained", "locked", "preflight-failed",
		"interrupted", "aborted", "verify-failed", "rollout-failed",
		"restore-failed", "lease-lost",
	};

	return o <= OUT_LEASE_LOST ? names[o] : "?";
}

int
fsm_exit_code(enum fsm_outcome o)
{
	switch (o) {
	case OUT_OK:
	case OUT_DRY_RUN:
	case OUT_NOTHING:
	case OUT_SKIPPED:
	case OUT_DRAINED:
		return 0;
	case OUT_PREFLIGHT:
		return 3;
	case OUT_LOCKED:
		return 4;
	case OUT_ABORTED:
		return 5;
	case OUT_ROLLOUT_FAILED:
		return 6;
	case OUT_VERIFY_FAILED:
		return 7;
	case OUT_INTERRUPTED:
		return 8;
	case OUT_RESTORE_FAILED:
	case OUT_LEASE_LOST:
		return 9;
	case OUT_NONE:
		break;
	}
	return 1;
}

int
fsm_changes(enum fsm_state s)
{
	return s != ST_RESOLVE && s != ST_LOCK && s != ST_END;
}

void
fsm_jump(struct fsm *m, enum fsm_state st, enum fsm_outcome pending)
{
	m->state = st;
	m->pending = pending;
}

void
fsm_unstarted(struct fsm *m)
{
	m->state = ST_END;
	m->outcome = OUT_INTERRUPTED;
}

int
fsm_finishing(const struct fsm *m)
{
	return m->held && !m->handover && (m->state == ST_ROLLOUT ||
	    ((m->state == ST_CANCEL || m->state == ST_DRAIN) && m->midroll));
}

int
fsm_restoring(enum fsm_state s)
{
	return s == ST_END || s == ST_RESTORE || s == ST_GIVEBACK ||
	    s == ST_INFLIGHT;
}

enum fsm_outcome
fsm_abandoned(const struct fsm *f)
{
	switch (f->state) {
	case ST_END:
		return f->outcome;
	case ST_CANCEL:
	case ST_DRAIN:
		/* with --handover, after the restart: new workers consume */
		return f->handover && !f->shed ? OUT_INTERRUPTED :
		    OUT_RESTORE_FAILED;
	case ST_RESTART:
	case ST_INFLIGHT:
	case ST_RESTORE:
	case ST_DETACH:
	case ST_GIVEBACK:
		return OUT_RESTORE_FAILED;
	case ST_ROLLOUT:
		/* held: the Deployment stays paused */
		return f->held ? OUT_RESTORE_FAILED : OUT_INTERRUPTED;
	case ST_RESOLVE:
	case ST_LOCK:
	case ST_VERIFY:
	case ST_RETIRE:
	case ST_HISTORY:
		break;
	}
	return OUT_INTERRUPTED;
}

void
fsm_abandon(struct fsm *f)
{
	f->outcome = fsm_abandoned(f);
	f->state = ST_END;
}

enum fsm_signal
fsm_signal(int nth, int ended)
{
	if (nth > 1)
		return FSM_SIG_EXIT;
	return ended ? FSM_SIG_WAIT : FSM_SIG_INTERRUPT;
}

enum fsm_outcome
fsm_exit_outcome(enum fsm_outcome worst, int ended)
{
	if (ended || worst > OUT_INTERRUPTED)
		return worst;
	return OUT_INTERRUPTED;
}
