/*
 * stale.h -- is a workload's image stale? (--only-stale), and the OpenShift
 * image triggers that roll it out without a drain (--pause-triggers).
 * Pure: no I/O; the driver (agent/imgcheck.c) reads the facts and feeds
 * them here.
 *
 * A container's image reference resolves, in this order:
 *   1. an image.openshift.io/triggers entry for the container names an
 *      ImageStreamTag (VIA_TRIGGER);
 *   2. its image is the integrated registry's HOST/NS/STREAM[:TAG]
 *      (VIA_REGISTRY), or a short STREAM[:TAG] that the namespace's
 *      ImageStream resolves when its lookupPolicy.local is true, or the
 *      workload's template has alpha.image.policy.openshift.io/
 *      resolve-names: '*' (VIA_SHORT);
 *   3. it is pinned by digest, NAME@sha256:<64 hex> (VIA_DIGEST): that.
 * Anything else (a plain tag on another registry) resolves to nothing
 * (VIA_NONE), and so does an ImageStreamTag that cannot be read (404,
 * 403, no image).
 * The current image of a tag is the ImageStreamTag's image.metadata.name
 * (sha256:<64 hex>); a pod runs status.containerStatuses[].imageID, of
 * which only the digest is compared (the registry part differs between
 * pull-through and the source).
 */
#ifndef STALE_H
#define STALE_H

#include <stddef.h>

struct json_t;

#define STALE_REGISTRY	"image-registry.openshift-image-registry.svc:5000"
#define TRIGGERS_ANNOTATION	"image.openshift.io/triggers"
#define RESOLVE_NAMES_ANNOTATION "alpha.image.policy.openshift.io/resolve-names"

/* "sha256:" and 64 lower-case hex digits, and its NUL */
#define DIGEST_LEN	(7 + 64 + 1)

/* One entry of the image.openshift.io/triggers annotation. */
struct image_trigger {
	char	*from;		/* from.name: "STREAM:TAG" */
	char	*ns;		/* from.namespace; NULL: the workload's */
	char	*container;	/* the container fieldPath names
				   (containers[?(@.name=="X")].image), or
				   NULL with index >= 0 (containers[N].image) */
	long	 index;
	int	 paused;	/* "paused": true or "true" */
};

struct image_triggers {
	struct image_trigger	*v;
	size_t			 n;
};

/*
 * Parse the annotation's JSON array (text may be NULL or "": none). An
 * entry whose from.kind is not ImageStreamTag, or whose fieldPath names
 * no container's image (init containers, env...), is not kept. paused
 * may be a boolean or the string "true"/"false" (any case); absent:
 * false. 0, or -1 and err (not JSON, not an array, an entry without
 * from.name, a paused of another type); t is then empty.
 */
int	triggers_parse(const char *text, struct image_triggers *t, char *err,
	    size_t errlen);
void	triggers_free(struct image_triggers *);
/* The entry for container name (at index idx of the template), or NULL. */
const struct image_trigger *triggers_for(const struct image_triggers *,
	    const char *name, long idx);
/*
 * The annotation with every entry's "paused" set to true, the rest of
 * each entry kept as it was (a new string, compact JSON); *changed: how
 * many entries were unpaused. NULL and err if text does not parse
 * (triggers_parse()'s rules).
 */
char	*triggers_pause_all(const char *text, size_t *changed, char *err,
	    size_t errlen);

/* An image reference as a container names it. */
enum ref_kind {
	REF_REGISTRY,	/* the integrated registry's HOST/NS/STREAM:TAG */
	REF_SHORT,	/* STREAM:TAG: no registry, one path component */
	REF_DIGEST,	/* anything@sha256:<64 hex> */
	REF_EXTERNAL,	/* a tag on another registry */
};

struct image_ref {
	enum ref_kind	 kind;
	char		 ns[64];	/* REF_REGISTRY */
	char		 stream[256];	/* REF_REGISTRY, REF_SHORT */
	char		 tag[129];	/* "latest" when none is written */
	char		 digest[DIGEST_LEN];	/* REF_DIGEST */
};

/*
 * Parse a container's image as the container runtime reads it: an
 * optional registry host (the first component if it holds a '.' or ':'
 * or is "localhost"), the path, an optional :TAG, an optional @DIGEST.
 * 0, or -1 and err (empty, a bad tag or digest).
 */
int	image_ref_parse(const char *image, struct image_ref *, char *err,
	    size_t errlen);

/* The sha256 digest an imageID (or a pull spec) names: "sha256:<64 hex>"
 * copied to out, 0; -1 if it names none. */
int	image_digest(const char *image_id, char out[DIGEST_LEN]);

enum stale_via {
	VIA_TRIGGER,
	VIA_REGISTRY,
	VIA_SHORT,
	VIA_DIGEST,
	VIA_NONE,
};

/* What one container's reference resolves through. */
struct stale_lookup {
	enum stale_via	 via;
	char		 ns[64];	/* the ImageStreamTag's namespace */
	char		 ist[400];	/* its name, STREAM:TAG */
	char		 digest[DIGEST_LEN];	/* VIA_DIGEST */
	char		 why[300];	/* VIA_NONE: why, in words */
};

/*
 * The resolution of container name (index idx, image) of a workload in
 * namespace ns, with its triggers (may be NULL), in the order above.
 * A trigger wins even when the image field holds a digest (the trigger
 * writes it). Pure; always fills l.
 */
void	stale_lookup_of(const char *name, long idx, const char *image,
	    const struct image_triggers *, const char *ns,
	    struct stale_lookup *l);

/*
 * The current digest from an ImageStreamTag object (ist), for a lookup
 * l: its image.metadata.name; for VIA_SHORT only if its
 * lookupPolicy.local is true or resolve_names (the template's
 * resolve-names '*'). 0 and out; -1 and why (no image, lookup not
 * local, a malformed digest).
 */
int	stale_tag_digest(struct json_t *ist, const struct stale_lookup *l,
	    int resolve_names, char out[DIGEST_LEN], char *why, size_t whylen);

/* One container of the template, resolved: current NULL if unknown. */
struct stale_container {
	const char	*name;
	const char	*current;	/* "sha256:..." or NULL */
	const char	*why;		/* unknown: why */
};

/* One container of a running pod. */
struct stale_running {
	const char	*pod;
	const char	*container;
	const char	*image_id;	/* containerStatuses[].imageID */
};

enum stale_verdict {
	STALE_UP_TO_DATE,	/* every running container runs its current
				   image */
	STALE_STALE,		/* one runs another image than its current */
	STALE_UNKNOWN,		/* neither can be told: why says */
};

struct stale_result {
	enum stale_verdict	 verdict;
	char			 running[13];	/* 12 hex of the deciding
						   container's running digest,
						   or "-" */
	char			 current[13];	/* its current one, or "-" */
	char			 why[400];	/* in words */
};

/*
 * The verdict, from the template's containers (c, nc) and what the
 * running pods run (p, np: pods being deleted, and containers whose
 * imageID names no digest yet, left out by the caller or here): STALE if
 * any running container of a known current image runs another digest;
 * else UNKNOWN if a container's current image is unknown, or no running
 * container shows a digest; else UP_TO_DATE. Pure.
 */
enum stale_verdict stale_decide(const struct stale_container *c, size_t nc,
	    const struct stale_running *p, size_t np, struct stale_result *);

/* Whether a verdict rolls the workload: STALE; UNKNOWN if unknown_roll. */
int	stale_rolls(enum stale_verdict, int unknown_roll);
const char *stale_verdict_name(enum stale_verdict);

#endif
