/*
 * cmd-hold.c -- --hold DEPLOYMENT --reason TEXT [--until D|TIME] and
 * --release DEPLOYMENT: set and remove the drain-and-rollout/hold
 * annotation (hold.h) with a JSON merge PATCH of the Deployment's metadata.
 * Neither touches the pod template: a hold restarts nothing.
 */
#include <ev.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "hold.h"
#include "report.h"
#include "run.h"

static int	cmd_hold_exec(struct ev_loop *, struct opts *, int, char **);
static int	cmd_release_exec(struct ev_loop *, struct opts *, int, char **);

const struct cmd_entry cmd_hold_entry = {
	"--hold",
	"--hold DEPLOYMENT --reason TEXT [--until DURATION|TIME]",
	{ 1, 1 },
	CMD_O_REASON | CMD_O_UNTIL,
	0,
	cmd_hold_exec,
};

const struct cmd_entry cmd_release_entry = {
	"--release",
	"--release DEPLOYMENT",
	{ 1, 1 },
	0,
	0,
	cmd_release_exec,
};

/* Who holds: user@host. */
static char *
holder(void)
{
	struct passwd	*pw = getpwuid(getuid());
	char		 host[256];

	if (gethostname(host, sizeof host) == -1)
		snprintf(host, sizeof host, "unknown");
	host[sizeof host - 1] = '\0';
	if (pw != NULL)
		return xasprintf("%s@%s", pw->pw_name, host);
	return xasprintf("uid %ld@%s", (long)getuid(), host);
}

/*
 * Set up the context and read the deployment's hold; returns the state,
 * or -1 (logged; *rc set) if the deployment cannot be read.
 */
static int
current_hold(struct ctx *c, struct ev_loop *loop, struct opts *o,
    const char *name, struct hold *h, int *rc)
{
	struct cmd_kube	 k = { 0 };
	int		 st;
	const char	*bare;

	*rc = fsm_exit_code(OUT_PREFLIGHT);
	kube_target_split(name, &bare);
	if (!dns1123_subdomain(bare)) {
		log_err("\"%s\" is not a valid %s name (a DNS-1123 "
		    "subdomain: lower-case letters, digits, '-' and '.', at "
		    "most 253)",
		    bare, kube_target_kind(name));
		return -1;
	}
	if (cmd_ctx(c, loop, o) == -1) {
		*rc = EXIT_USAGE;
		return -1;
	}
	kube_get_deployment(&c->kube, name, ev_now(loop) + 60, cmd_kube_cb, &k);
	if (cmd_kube_wait(c, &k) == -1) {
		log_err("%s", k.err);
		ctx_free(c);
		return -1;
	}
	st = hold_of(k.obj, now_wall(), h);
	json_decref(k.obj);
	return st;
}

/* PATCH the annotation (value NULL: remove it, which only --release asks);
 * 0, or -1 logged. With --dry-run, nothing is sent. */
static int
annotate(struct ctx *c, const char *name, const char *value, int release)
{
	struct cmd_kube	k = { 0 };

	if ((value == NULL) != release) {
		log_err("%s: internal error: no hold value to write; nothing "
		    "sent", name);
		return -1;
	}
	if (c->o->dry_run)
		return 0;
	kube_annotate(&c->kube, name, HOLD_ANNOTATION, value,
	    ev_now(c->loop) + 60, cmd_kube_cb, &k);
	if (cmd_kube_wait(c, &k) == -1) {
		log_err("%s", k.err);
		return -1;
	}
	json_decref(k.obj);
	return 0;
}

/*
 * -o json: the deployment's entry: its outcome (a usage error has none),
 * what was done, the hold in place after it (hj, stolen; NULL: none).
 */
static int
hold_report(const char *name, struct opts *o, int rc, const char *done,
    json_t *hj, double t0)
{
	enum fsm_outcome	 out;
	json_t			*e;

	if (!report_json_on() || rc == EXIT_USAGE) {
		json_decref(hj);
		return rc;
	}
	out = rc != EXIT_OK ? OUT_PREFLIGHT : o->dry_run ? OUT_DRY_RUN :
	    OUT_OK;
	e = report_json_entry(name, out, rc == EXIT_OK ? done : NULL,
	    now_wall() - t0);
	json_object_set_new(e, "hold", hj != NULL ? hj : json_null());
	report_json_deployment(e);
	return rc;
}

typedef int hold_fn(struct ev_loop *, struct opts *, const char *, char *,
    size_t, json_t **);
static hold_fn	hold_set, hold_release;

/* Run fn on the deployment named, and report it. */
static int
hold_cmd(hold_fn *fn, struct ev_loop *loop, struct opts *o, char **argv)
{
	double	 t0 = now_wall();
	char	 done[1024] = "";
	json_t	*hj = NULL;
	int	 rc;

	rc = fn(loop, o, argv[0], done, sizeof done, &hj);
	return hold_report(argv[0], o, rc, done, hj, t0);
}

static int
cmd_hold_exec(struct ev_loop *loop, struct opts *o, int argc, char **argv)
{
	(void)argc;
	return hold_cmd(hold_set, loop, o, argv);
}

static int
cmd_release_exec(struct ev_loop *loop, struct opts *o, int argc, char **argv)
{
	(void)argc;
	return hold_cmd(hold_release, loop, o, argv);
}

/* --hold: what was done in done, the hold now in place in *hj. */
static int
hold_set(struct ev_loop *loop, struct opts *o, const char *name, char *done,
    size_t donelen, json_t **hj)
{
	struct ctx	 c;
	struct hold	 h, now_h;
	double		 now = now_wall(), until = 0;
	char		 err[256], *by, *value, *d;
	int		 st, rc;

	if (o->hold_reason == NULL || *o->hold_reason == '\0') {
		log_err("--hold needs --reason TEXT: say why, for whoever finds "
		    "it held");
		return EXIT_USAGE;
	}
	if (o->hold_until != NULL &&
	    hold_until_parse(o->hold_until, now, &until, err, sizeof err) == -1) {
		log_err("%s", err);
		return EXIT_USAGE;
	}
	/* checked before anything is sent: a hold in place stays */
	by = holder();
	if (hold_text_check("--reason", o->hold_reason, err, sizeof err) == -1 ||
	    hold_text_check("the holder (user@host)", by, err,
	    sizeof err) == -1) {
		log_err("%s; nothing changed", err);
		free(by);
		return EXIT_USAGE;
	}
	value = hold_value(o->hold_reason, by, now, until);
	free(by);
	if ((st = current_hold(&c, loop, o, name, &h, &rc)) == -1) {
		free(value);
		return rc;
	}
	if (st != HOLD_NONE) {
		d = hold_describe(&h);
		log_warn("%s: replacing its %shold: %s", name,
		    st == HOLD_EXPIRED ? "expired " : "", d);
		free(d);
		hold_free(&h);
	}
	rc = annotate(&c, name, value, 0) == -1 ?
	    fsm_exit_code(OUT_PREFLIGHT) : EXIT_OK;
	if (rc == EXIT_OK) {
		hold_parse(value, now, &now_h);
		d = hold_describe(&now_h);
		snprintf(done, donelen, "%s%s", o->dry_run ? "dry run, "
		    "nothing changed: would be " : "", d);
		log_info("%s: %s; drains by selector skip it and drains "
		    "that name it refuse (--ignore-hold overrides); release it "
		    "with --release %s", name, done, name);
		*hj = hold_json(&now_h, HOLD_ACTIVE);
		free(d);
		hold_free(&now_h);
	}
	free(value);
	ctx_free(&c);
	return rc;
}

/* --release: what was done in done; *hj the hold left (a dry run's). */
static int
hold_release(struct ev_loop *loop, struct opts *o, const char *name,
    char *done, size_t donelen, json_t **hj)
{
	struct ctx	 c;
	struct hold	 h;
	char		*d;
	int		 st, rc;

	if ((st = current_hold(&c, loop, o, name, &h, &rc)) == -1)
		return rc;
	if (st == HOLD_NONE) {
		snprintf(done, donelen, "not held; nothing to release");
		log_info("%s: %s", name, done);
		ctx_free(&c);
		return EXIT_OK;
	}
	d = hold_describe(&h);
	rc = annotate(&c, name, NULL, 1) == -1 ?
	    fsm_exit_code(OUT_PREFLIGHT) : EXIT_OK;
	if (rc == EXIT_OK) {
		snprintf(done, donelen, "%s; it was %s%s", o->dry_run ?
		    "dry run, nothing changed: would be released" : "released",
		    d, st == HOLD_EXPIRED ? " (expired)" : "");
		log_info("%s: %s", name, done);
		if (o->dry_run)
			*hj = hold_json(&h, st);
	}
	free(d);
	hold_free(&h);
	ctx_free(&c);
	return rc;
}
