/*
 * recover.h -- --recover (agent/recover.c): RESOLVE's work for a run that
 * died. A recovery takes the lease, reads the journal (journal.h) and picks
 * up where the dead run was.
 */
#ifndef RECOVER_H
#define RECOVER_H

#include "landed.h"

struct run;

/*
 * What a recovery does, decided from plain facts (pure): first from the
 * journal alone (recover_start()), then with the Deployment as read
 * (recover_choice()).
 */
enum recover_step {
	RECOVER_NOTHING,	/* no journal: no interrupted run to recover */
	RECOVER_DRAINED,	/* left drained on purpose by --drain-only:
				   --undrain's to give back, not ours */
	RECOVER_READ,		/* read the Deployment, then recover_choice() */
	RECOVER_WAIT,		/* a PATCH the dead run sent may still land:
				   read the Deployment again once it cannot */
	RECOVER_RESTORE,	/* not restarted: re-add the consumers */
	RECOVER_ROLLOUT,	/* restarted: wait for the rollout, verify */
	RECOVER_ROLLOUT_HELD,	/* restarted, the rollout held (paused) to
				   drain old-template workers: drain them
				   again, resume, then as ROLLOUT */
	RECOVER_HO_GIVEBACK_AGAIN, /* --handover, its GIVEBACK had made its
				   plan: finish it, ending as it would have */
	RECOVER_HO_GIVEBACK,	/* --handover, not restarted: give the old
				   pods back (GIVEBACK) */
	RECOVER_HO_RETIRE,	/* --handover, restarted, the old workers
				   drained (it was in RETIRE or HISTORY):
				   delete the old pods, recreate the history */
	RECOVER_HO_ROLLOUT,	/* --handover, restarted, not drained yet:
				   finish it from ROLLOUT */
};

/*
 * journal: a journal was found; state: its "state" field (NULL none).
 * RECOVER_NOTHING, RECOVER_DRAINED or RECOVER_READ.
 */
enum recover_step recover_start(int journal, const char *state);
/*
 * fate: the journalled restart PATCH's (landed.h: PATCH_LANDED restarted;
 * PATCH_WAIT it may still land; else it did not); handover: the journal
 * has a --handover record; giving_back: that record has GIVEBACK's plan;
 * held: the journal's held is "1" (in place only: the run had paused the
 * rollout); state: the journal's state (NULL none). A PATCH that may still land is
 * waited for before anything else.
 */
enum recover_step recover_choice(enum patch_fate fate, int handover,
	    int giving_back, int held, const char *state);

/*
 * The lease first, then the journal, then the Deployment: jumps to the
 * state that finishes or undoes the dead run's work (RESTORE, ROLLOUT, or a
 * --handover's), or ends the run (nothing to recover, a failure).
 */
void	recover_resolve(struct run *);

#endif
