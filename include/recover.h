/*
 * recover.h -- --recover (agent/recover.c): RESOLVE's work for a run that
 * died. A recovery takes the lease, reads the journal (journal.h) and picks
 * up where the dead run was.
 */
#ifndef RECOVER_H
#define RECOVER_H

struct run;

/*
 * The lease first, then the journal, then the Deployment: jumps to the
 * state that finishes or undoes the dead run's work (RESTORE, ROLLOUT, or a
 * --handover's), or ends the run (nothing to recover, a failure).
 */
void	recover_resolve(struct run *);

#endif
