/*
 * handover.h -- --handover's record as the other states and the end of a
 * run use it (agent/handover.c). The handover's own states (DETACH,
 * RETIRE, HISTORY, GIVEBACK) are st-handover.c; the record, r->ho, is
 * described there.
 */
#ifndef HANDOVER_H
#define HANDOVER_H

#include <stddef.h>

struct run;

/*
 * DRAIN, --handover: worker wi holds nothing: delete its (old) pod once
 * every worker of the run on it holds nothing (pod_workers_done()) and no
 * worker the run does not track is online there; an operation of DRAIN.
 */
void	handover_drained(struct run *, size_t wi);
/* Whether GIVEBACK's plan sheds pod (leaves it detached, to be drained). */
int	handover_shed_has(struct run *, const char *pod);
/* CANCEL after a GIVEBACK (fsm.shed): keep only the workers to drain. */
void	handover_shed_workers(struct run *);
/* At the end of a run that shed (fsm.shed): the cause of the GIVEBACK is
 * the run's error again, before what failed after it. */
void	handover_shed_end(struct run *);
/*
 * A recovery of a --handover run: the journal's record (JSON) becomes the
 * run's (r->ho), with its workers, the pods still detached: 0; -1 if it is
 * not JSON (the run fails, nothing changed).
 */
int	handover_load(struct run *, const char *record);

#endif
