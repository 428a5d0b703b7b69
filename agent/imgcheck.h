/*
 * imgcheck.h -- RESOLVE's reads for --only-stale and the OpenShift image
 * triggers (imgcheck.c), fed to the pure decisions of stale.h. Private to
 * the driver, like runpriv.h: the state files call it, it calls no state.
 */
#ifndef IMGCHECK_H
#define IMGCHECK_H

struct json_t;
struct run;
struct imgcheck;

/*
 * RESOLVE read the workload: its containers and triggers kept (r->img),
 * and, for a drain or --status, one warning if an unpaused trigger would
 * roll it out without a drain (naming the trigger, its tag and
 * `oc set triggers ... --manual`).
 */
void	imgcheck_workload(struct run *, struct json_t *workload);
/*
 * RESOLVE listed the pods. Without --only-stale (or outside a drain and
 * --status): then(r) at once. With it: each container's ImageStreamTag is
 * read (counted operations of the state), the verdict logged with the
 * running and current digests; a workload that does not roll (up to
 * date; unknown without --stale-unknown roll) ends the run there
 * (IN_NOTHING: no lease, nothing changed; with --pause-triggers and an
 * unpaused trigger, the lease is taken to pause it first), else then(r).
 * --status always goes on; so does a drain that found the journal of a
 * run that died (skipping it would leave its workers drained).
 */
void	imgcheck_pods(struct run *, struct json_t *pods,
	    void (*then)(struct run *));
/*
 * After LOCK took the lease, with --pause-triggers: the workload is read
 * again and every unpaused trigger paused (a merge PATCH of the
 * annotation conditional on the resourceVersion read, the journal
 * written first); then(r) once done, at once if there is none. A run
 * never writes "paused": false.
 */
void	imgcheck_pause(struct run *, void (*then)(struct run *));
/*
 * For the restart PATCH: [{"name", "image"}] of the containers whose
 * trigger names an ImageStreamTag whose image (dockerImageReference) the
 * template does not hold yet (a paused trigger does not write it), when
 * the verdict rolls the workload; NULL if none. Borrowed.
 */
struct json_t *imgcheck_images(struct run *);
/* What the report says of a run the verdict ended, or NULL. */
const char *imgcheck_words(struct run *);
/* The verdict for -o json ({"verdict", "running", "current", "why",
 * "paused_triggers"}), a new object, or NULL if none was taken. */
struct json_t *imgcheck_json(struct run *);
void	imgcheck_free(struct imgcheck *);

#endif
