/*
 * imgcheck.c -- RESOLVE's image facts for --only-stale, and the image
 * triggers (--pause-triggers); see imgcheck.h. It reads through the kube
 * client and feeds stale.h's pure functions; it decides nothing itself.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgcheck.h"
#include "journal.h"
#include "lease.h"
#include "stale.h"
#include "runpriv.h"

#define PAUSE_TRIES	3	/* reads again after a conflicting write */

struct imgcheck {
	json_t			*containers;	/* [{"name", "image"}] */
	char			*triggers;	/* the annotation as read */
	struct image_triggers	 trig;
	int			 resolve_names;
	size_t			 n;
	struct stale_lookup	*l;		/* per container */
	char			(*cur)[DIGEST_LEN];
	char			**why;		/* unknown: why; else NULL */
	json_t			*images;	/* imgcheck_images() */
	json_t			*running;	/* [{"pod", "container",
						   "imageID"}] */
	int			 out;		/* tag reads out */
	void			(*then)(struct run *);
	int			 decided;
	int			 ended;		/* the verdict ended the run */
	struct stale_result	 res;
	char			 words[600];
	/* --pause-triggers */
	void			(*pause_then)(struct run *);
	char			*pause_text;	/* the annotation to write */
	char			*pause_rv;
	char			*paused;	/* the triggers it paused */
	int			 tries;
};

void
imgcheck_free(struct imgcheck *m)
{
	size_t	i;

	if (m == NULL)
		return;
	json_decref(m->containers);
	json_decref(m->running);
	json_decref(m->images);
	free(m->triggers);
	triggers_free(&m->trig);
	for (i = 0; i < m->n; i++)
		free(m->why[i]);
	free(m->why);
	free(m->l);
	free(m->cur);
	free(m->pause_text);
	free(m->pause_rv);
	free(m->paused);
	free(m);
}

static const char *
annotation(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(
	    json_object_get(obj, "metadata"), "annotations"), key));
}

/* "etl:latest (container worker), ..." of the unpaused triggers; NULL if none */
static char *
unpaused_words(const struct image_triggers *t)
{
	struct strv	 v = { 0 };
	char		*s, *one;
	size_t		 i;

	for (i = 0; i < t->n; i++) {
		if (t->v[i].paused)
			continue;
		if (t->v[i].container != NULL)
			one = xasprintf("ImageStreamTag %s%s%s (container %s)",
			    t->v[i].ns ? t->v[i].ns : "", t->v[i].ns ? "/" : "",
			    t->v[i].from, t->v[i].container);
		else
			one = xasprintf("ImageStreamTag %s%s%s (container #%ld)",
			    t->v[i].ns ? t->v[i].ns : "", t->v[i].ns ? "/" : "",
			    t->v[i].from, t->v[i].index);
		strv_add(&v, one);
		free(one);
	}
	s = v.n > 0 ? strv_join(&v, ", ") : NULL;
	strv_free(&v);
	return s;
}

void
imgcheck_workload(struct run *r, json_t *obj)
{
	struct imgcheck	*m;
	json_t		*tmpl = json_object_get(json_object_get(obj, "spec"),
			    "template"), *c;
	const char	*bare, *rn;
	char		 err[300], *u;
	size_t		 i;

	if (r->mode != RUN_DRAIN && r->mode != RUN_STATUS)
		return;
	imgcheck_free(r->img);
	r->img = m = xcalloc(1, sizeof *m);
	m->containers = json_array();
	json_array_foreach(json_object_get(json_object_get(tmpl, "spec"),
	    "containers"), i, c)
		json_array_append_new(m->containers, json_pack("{s:s?,s:s?}",
		    "name", json_string_value(json_object_get(c, "name")),
		    "image", json_string_value(json_object_get(c, "image"))));
	rn = annotation(tmpl, RESOLVE_NAMES_ANNOTATION);
	if (rn == NULL)
		rn = annotation(obj, RESOLVE_NAMES_ANNOTATION);
	m->resolve_names = rn != NULL && strcmp(rn, "*") == 0;
	if (annotation(obj, TRIGGERS_ANNOTATION) != NULL)
		m->triggers = xstrdup(annotation(obj, TRIGGERS_ANNOTATION));
	kube_target_split(r->name, &bare);
	if (triggers_parse(m->triggers, &m->trig, err, sizeof err) == -1) {
		log_warn("%s: cannot read its image triggers: %s; if OpenShift "
		    "can, it may roll it out without a drain (see oc set "
		    "triggers %s/%s)", r->name, err, kube_target_kind(r->name),
		    bare);
		return;
	}
	if ((u = unpaused_words(&m->trig)) == NULL)
		return;
	log_warn("%s: OpenShift rolls it out by itself when %s moves (an "
	    "image trigger, not paused): a plain rollout, no drain, running "
	    "tasks lost. Pause it: oc set triggers %s/%s --manual%s", r->name,
	    u, kube_target_kind(r->name), bare,
	    r->ctx->o->pause_triggers && r->mode == RUN_DRAIN &&
	    !r->fsm.dry_run ? " (--pause-triggers does it once the lease is "
	    "held)" : ", or run with --pause-triggers");
	free(u);
}

/* What the running pods run (those being deleted left out). */
static json_t *
running_of(json_t *pods)
{
	json_t		*out = json_array(), *p, *cs;
	const char	*pod;
	size_t		 i, j;

	json_array_foreach(json_object_get(pods, "items"), i, p) {
		json_t *md = json_object_get(p, "metadata");
		if (json_object_get(md, "deletionTimestamp") != NULL)
			continue;
		pod = json_string_value(json_object_get(md, "name"));
		json_array_foreach(json_object_get(json_object_get(p, "status"),
		    "containerStatuses"), j, cs)
			json_array_append_new(out, json_pack("{s:s?,s:s?,s:s?}",
			    "pod", pod, "container", json_string_value(
			    json_object_get(cs, "name")), "imageID",
			    json_string_value(json_object_get(cs, "imageID"))));
	}
	return out;
}

static void
skip_end(struct run *r)
{
	run_next(r, IN_NOTHING);
}

/* An up-to-date workload's triggers, with --pause-triggers: leased. */
static void
skip_locked(struct run *r, int ok)
{
	if (ok == 1)
		imgcheck_pause(r, skip_end);
	else if (ok == 0) {
		log_warn("%s: another run holds its lease: its image triggers "
		    "were not paused", r->name);
		skip_end(r);
	} else
		run_next(r, IN_FAIL);
}

static int
unpaused(const struct imgcheck *m)
{
	size_t	i;

	for (i = 0; m != NULL && i < m->trig.n; i++)
		if (!m->trig.v[i].paused)
			return 1;
	return 0;
}

static void
decide(struct run *r)
{
	struct imgcheck		*m = r->img;
	struct stale_container	*c = xcalloc(m->n + 1, sizeof *c);
	struct stale_running	*p;
	size_t			 i, np = json_array_size(m->running);
	json_t			*x;
	int			 roll;

	p = xcalloc(np + 1, sizeof *p);
	for (i = 0; i < m->n; i++) {
		c[i].name = json_string_value(json_object_get(json_array_get(
		    m->containers, i), "name"));
		c[i].current = m->why[i] == NULL ? m->cur[i] : NULL;
		c[i].why = m->why[i];
	}
	json_array_foreach(m->running, i, x) {
		p[i].pod = json_string_value(json_object_get(x, "pod"));
		p[i].container = json_string_value(json_object_get(x,
		    "container"));
		p[i].image_id = json_string_value(json_object_get(x, "imageID"));
	}
	stale_decide(c, m->n, p, np, &m->res);
	free(c);
	free(p);
	m->decided = 1;
	log_info("%s: image: running %s, current %s: %s (%s)", r->name,
	    m->res.running, m->res.current, stale_verdict_name(m->res.verdict),
	    m->res.why);
	roll = stale_rolls(m->res.verdict, r->ctx->o->stale_unknown_roll);
	if (!roll && r->journal != NULL && r->mode == RUN_DRAIN) {
		/* skipping would leave what a dead run drained drained */
		log_warn("%s: a previous run left its journal (workers it "
		    "drained may still consume nothing): rolled all the same, "
		    "to finish what it began", r->name);
		roll = 1;
	}
	json_array_foreach(imgcheck_images(r), i, x)
		log_info("%s: the restart also sets container %s's image to %s "
		    "(its image trigger did not: paused)", r->name,
		    json_string_value(json_object_get(x, "name")),
		    json_string_value(json_object_get(x, "image")));
	if (roll || r->mode == RUN_STATUS) {
		m->then(r);
		return;
	}
	m->ended = 1;
	if (m->res.verdict == STALE_UP_TO_DATE)
		snprintf(m->words, sizeof m->words, "up to date (running %s, "
		    "current %s): nothing changed", m->res.running,
		    m->res.current);
	else
		snprintf(m->words, sizeof m->words, "image unknown, not rolled "
		    "(%s); --stale-unknown roll rolls it: nothing changed",
		    m->res.why);
	if (r->mode == RUN_DRAIN && !r->fsm.dry_run &&
	    r->ctx->o->pause_triggers && unpaused(m)) {
		/* up to date, but OpenShift would roll the next import */
		lease_take(r, skip_locked);
		return;
	}
	run_next(r, IN_NOTHING);
}

/* Container i follows a trigger: the tag's pull spec, if the template
 * holds another one, for the restart to write. */
static void
trigger_image(struct run *r, size_t i, const char *ref)
{
	struct imgcheck	*m = r->img;
	json_t		*c = json_array_get(m->containers, i);
	const char	*now = json_string_value(json_object_get(c, "image"));

	if (ref == NULL || (now != NULL && strcmp(now, ref) == 0))
		return;
	if (m->images == NULL)
		m->images = json_array();
	json_array_append_new(m->images, json_pack("{s:O,s:s}", "name",
	    json_object_get(c, "name"), "image", ref));
}

json_t *
imgcheck_images(struct run *r)
{
	struct imgcheck	*m = r->img;

	return m != NULL && m->decided && m->res.verdict == STALE_STALE ?
	    m->images : NULL;
}

static void
got_tag(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	size_t			 i;
	struct run		*r = op_done(arg, &i, NULL);
	struct imgcheck		*m;
	const struct stale_lookup *l;
	char			 why[300];

	if (r == NULL || (m = r->img) == NULL)
		return;
	m->out--;
	l = &m->l[i];
	if (e == KUBE_OK) {
		if (stale_tag_digest(obj, l, m->resolve_names, m->cur[i], why,
		    sizeof why) == -1)
			m->why[i] = xstrdup(why);
		else if (l->via == VIA_TRIGGER)
			trigger_image(r, i, json_string_value(json_object_get(
			    json_object_get(obj, "image"),
			    "dockerImageReference")));
	} else if (e == KUBE_ENOTFOUND)
		m->why[i] = xasprintf("ImageStreamTag %s in namespace %s: not "
		    "found (404)%s", l->ist, l->ns, l->via == VIA_SHORT ?
		    ": the short name is not an ImageStream's, it is pulled "
		    "from another registry" : "");
	else if (e == KUBE_EFORBIDDEN)
		m->why[i] = xasprintf("ImageStreamTag %s in namespace %s: "
		    "forbidden (403): the account needs get on imagestreamtags "
		    "in API group image.openshift.io", l->ist, l->ns);
	else {
		run_abort(r, "%s", err);
		return;
	}
	if (m->out == 0 && r->err[0] == '\0')
		decide(r);
}

void
imgcheck_pods(struct run *r, json_t *pods, void (*then)(struct run *))
{
	struct imgcheck	*m = r->img;
	json_t		*c;
	size_t		 i;

	if (m == NULL || !r->ctx->o->only_stale) {
		then(r);
		return;
	}
	m->then = then;
	json_decref(m->running);
	m->running = running_of(pods);
	m->n = json_array_size(m->containers);
	m->l = xcalloc(m->n + 1, sizeof *m->l);
	m->cur = xcalloc(m->n + 1, sizeof *m->cur);
	m->why = xcalloc(m->n + 1, sizeof *m->why);
	json_array_foreach(m->containers, i, c) {
		const char *img = json_string_value(json_object_get(c, "image"));
		stale_lookup_of(json_string_value(json_object_get(c, "name")),
		    (long)i, img ? img : "", &m->trig, r->ctx->kube.ns, &m->l[i]);
		switch (m->l[i].via) {
		case VIA_DIGEST:
			memcpy(m->cur[i], m->l[i].digest, DIGEST_LEN);
			break;
		case VIA_NONE:
			m->why[i] = xstrdup(m->l[i].why);
			break;
		default:
			m->out++;
		}
	}
	for (i = 0; i < m->n; i++)
		if (m->l[i].via != VIA_DIGEST && m->l[i].via != VIA_NONE)
			kube_get_imagestreamtag(&r->ctx->kube, m->l[i].ns,
			    m->l[i].ist, r->state_deadline, got_tag,
			    op_new(r, i, 0));
	if (m->out == 0)
		decide(r);
}

const char *
imgcheck_words(struct run *r)
{
	return r->img != NULL && r->img->ended ? r->img->words : NULL;
}

json_t *
imgcheck_json(struct run *r)
{
	struct imgcheck	*m = r->img;

	if (m == NULL || (!m->decided && m->paused == NULL))
		return NULL;
	return json_pack("{s:s?,s:s?,s:s?,s:s?,s:s?}", "verdict", m->decided ?
	    stale_verdict_name(m->res.verdict) : NULL, "running", m->decided ?
	    m->res.running : NULL, "current", m->decided ? m->res.current :
	    NULL, "why", m->decided ? m->res.why : NULL, "paused_triggers",
	    m->paused);
}

/* ---- --pause-triggers ------------------------------------------------ */

static void	pause_read(struct run *);

static void
paused_cb(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run	*r = op_done(arg, NULL, NULL);
	struct imgcheck	*m;
	const char	*bare;

	(void)obj;
	if (r == NULL || (m = r->img) == NULL)
		return;
	if (e == KUBE_ECONFLICT && ++m->tries < PAUSE_TRIES) {
		/* changed since read: read it again, never write it blind */
		pause_read(r);
		return;
	}
	if (e != KUBE_OK) {
		run_abort(r, "cannot pause the image triggers: %s; nothing "
		    "else was changed", err);
		return;
	}
	kube_target_split(r->name, &bare);
	log_info("%s: paused its image trigger(s) %s, as oc set triggers "
	    "--manual does: OpenShift no longer rolls it out by itself "
	    "(oc set triggers %s/%s --auto resumes them)", r->name, m->paused,
	    kube_target_kind(r->name), bare);
	m->pause_then(r);
}

/* The journal has the run, its lease checked: send the PATCH. */
static void
pause_send(struct run *r)
{
	struct imgcheck	*m = r->img;

	kube_annotate_at(&r->ctx->kube, r->name, TRIGGERS_ANNOTATION,
	    m->pause_text, m->pause_rv, r->state_deadline, paused_cb,
	    op_new(r, 0, 0));
}

static void
pause_got(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct run		*r = op_done(arg, NULL, NULL);
	struct imgcheck		*m;
	struct image_triggers	 t;
	const char		*text, *rv;
	char			 why[300], *s;
	size_t			 changed;

	if (r == NULL || (m = r->img) == NULL)
		return;
	if (e != KUBE_OK) {
		run_abort(r, "%s", err);
		return;
	}
	text = annotation(obj, TRIGGERS_ANNOTATION);
	rv = json_string_value(json_object_get(json_object_get(obj,
	    "metadata"), "resourceVersion"));
	if (text == NULL || rv == NULL) {	/* removed meanwhile */
		m->pause_then(r);
		return;
	}
	if (triggers_parse(text, &t, why, sizeof why) == -1 ||
	    (s = triggers_pause_all(text, &changed, why, sizeof why)) == NULL) {
		run_abort(r, "cannot pause the image triggers: %s; nothing "
		    "was changed", why);
		return;
	}
	free(m->paused);
	m->paused = unpaused_words(&t);
	triggers_free(&t);
	if (changed == 0) {		/* paused meanwhile */
		free(s);
		m->pause_then(r);
		return;
	}
	free(m->pause_text);
	free(m->pause_rv);
	m->pause_text = s;
	m->pause_rv = xstrdup(rv);
	journal_write(r, pause_send);
}

static void
pause_read(struct run *r)
{
	kube_get_deployment(&r->ctx->kube, r->name, r->state_deadline,
	    pause_got, op_new(r, 0, 0));
}

void
imgcheck_pause(struct run *r, void (*then)(struct run *))
{
	struct imgcheck	*m = r->img;

	if (m == NULL || !r->ctx->o->pause_triggers || r->mode != RUN_DRAIN ||
	    r->fsm.dry_run || !unpaused(m)) {
		then(r);
		return;
	}
	m->pause_then = then;
	m->tries = 0;
	pause_read(r);
}
