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
	NULL,
};

const struct cmd_entry cmd_release_entry = {
	"--release",
	"--release DEPLOYMENT",
	{ 1, 1 },
	0,
	0,
	cmd_release_exec,
	NULL,
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


/* --hold or --release, from its start to its end. */
static struct {
	struct ctx	 c;
	struct opts	*o;
	const char	*name;		/* the deployment named */
	int		 release;	/* --release, else --hold */
	double		 t0;		/* when it started (wall clock) */
	double		 now, until;	/* --hold: the hold's start, end */
	char		*value;		/* --hold: the annotation to write */
	struct hold	 h;		/* the hold in place before */
	int		 st;		/* its hold_of() state */
	char		 done[1024];	/* what was done */
	json_t		*hj;		/* the hold in place after (-o json) */
} hc;

/*
 * The command's end, with its exit code: -o json: the deployment's entry:
 * its outcome (a usage error has none), what was done, the hold in place
 * after it (NULL: none). Returns rc.
 */
static int
hold_report(int rc)
{
	enum fsm_outcome	 out;
	json_t			*e;

	free(hc.value);
	hc.value = NULL;
	hold_free(&hc.h);
	if (!report_json_on() || rc == EXIT_USAGE) {
		json_decref(hc.hj);
		return rc;
	}
	out = rc != EXIT_OK ? OUT_PREFLIGHT : hc.o->dry_run ? OUT_DRY_RUN :
	    OUT_OK;
	e = report_json_entry(hc.name, out, rc == EXIT_OK ? hc.done : NULL,
	    now_wall() - hc.t0);
	json_object_set_new(e, "hold", hc.hj != NULL ? hc.hj : json_null());
	report_json_deployment(e);
	return rc;
}

static void
hold_end(struct ctx *c, int rc)
{
	cmd_done(c, hold_report(rc));
}

/* The PATCH answered (or, with --dry-run, not sent): what was done. */
static void
annotated(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct ctx	*c = arg;
	struct hold	 now_h;
	char		*d;

	(void)obj;
	if (e != KUBE_OK) {
		log_err("%s", err);
		hold_end(c, fsm_exit_code(OUT_PREFLIGHT));
		return;
	}
	if (!hc.release) {
		hold_parse(hc.value, hc.now, &now_h);
		d = hold_describe(&now_h);
		snprintf(hc.done, sizeof hc.done, "%s%s", hc.o->dry_run ?
		    "dry run, nothing changed: would be " : "", d);
		log_info("%s: %s; drains by selector skip it and drains "
		    "that name it refuse (--ignore-hold overrides); release it "
		    "with --release %s", hc.name, hc.done, hc.name);
		hc.hj = hold_json(&now_h, HOLD_ACTIVE);
		free(d);
		hold_free(&now_h);
	} else {
		d = hold_describe(&hc.h);
		snprintf(hc.done, sizeof hc.done, "%s; it was %s%s",
		    hc.o->dry_run ? "dry run, nothing changed: would be "
		    "released" : "released", d, hc.st == HOLD_EXPIRED ?
		    " (expired)" : "");
		log_info("%s: %s", hc.name, hc.done);
		if (hc.o->dry_run)
			hc.hj = hold_json(&hc.h, hc.st);
		free(d);
	}
	hold_end(c, EXIT_OK);
}

/* PATCH the annotation (hc.value NULL: remove it, which only --release
 * asks). With --dry-run, nothing is sent. */
static void
annotate(struct ctx *c)
{
	if ((hc.value == NULL) != hc.release) {
		log_err("%s: internal error: no hold value to write; nothing "
		    "sent", hc.name);
		hold_end(c, fsm_exit_code(OUT_PREFLIGHT));
		return;
	}
	if (hc.o->dry_run) {
		annotated(KUBE_OK, NULL, NULL, c);
		return;
	}
	kube_annotate(&c->kube, hc.name, HOLD_ANNOTATION, hc.value,
	    ev_now(c->loop) + 60, annotated, c);
}

/* The deployment read: its hold now. */
static void
got(enum kube_err e, json_t *obj, const char *err, void *arg)
{
	struct ctx	*c = arg;
	char		*d;

	if (e != KUBE_OK) {
		log_err("%s", err);
		hold_end(c, fsm_exit_code(OUT_PREFLIGHT));
		return;
	}
	hc.st = hold_of(obj, now_wall(), &hc.h);
	if (!hc.release) {
		if (hc.st != HOLD_NONE) {
			d = hold_describe(&hc.h);
			log_warn("%s: replacing its %shold: %s", hc.name,
			    hc.st == HOLD_EXPIRED ? "expired " : "", d);
			free(d);
		}
	} else if (hc.st == HOLD_NONE) {
		snprintf(hc.done, sizeof hc.done, "not held; nothing to "
		    "release");
		log_info("%s: %s", hc.name, hc.done);
		hold_end(c, EXIT_OK);
		return;
	}
	annotate(c);
}

static void
get(struct ctx *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	kube_get_deployment(&c->kube, hc.name, ev_now(c->loop) + 60, got, c);
}

/* The deployment's name, then the context, then its hold (got()). */
static int
hold_start(struct ev_loop *loop)
{
	const char	*bare;
	int		 rc;

	kube_target_split(hc.name, &bare);
	if (!dns1123_subdomain(bare)) {
		log_err("\"%s\" is not a valid %s name (a DNS-1123 "
		    "subdomain: lower-case letters, digits, '-' and '.', at "
		    "most 253)",
		    bare, kube_target_kind(hc.name));
		return hold_report(fsm_exit_code(OUT_PREFLIGHT));
	}
	if ((rc = cmd_ctx(&hc.c, loop, hc.o, 0, NULL, get)) != CMD_STARTED)
		return hold_report(rc);
	return CMD_STARTED;
}

static int
cmd_hold_exec(struct ev_loop *loop, struct opts *o, int argc, char **argv)
{
	char	 err[256], *by;

	(void)argc;
	hc.o = o;
	hc.name = argv[0];
	hc.t0 = hc.now = now_wall();
	if (o->hold_reason == NULL || *o->hold_reason == '\0') {
		log_err("--hold needs --reason TEXT: say why, for whoever finds "
		    "it held");
		return hold_report(EXIT_USAGE);
	}
	if (o->hold_until != NULL && hold_until_parse(o->hold_until, hc.now,
	    &hc.until, err, sizeof err) == -1) {
		log_err("%s", err);
		return hold_report(EXIT_USAGE);
	}
	/* checked before anything is sent: a hold in place stays */
	by = holder();
	if (hold_text_check("--reason", o->hold_reason, err, sizeof err) == -1 ||
	    hold_text_check("the holder (user@host)", by, err,
	    sizeof err) == -1) {
		log_err("%s; nothing changed", err);
		free(by);
		return hold_report(EXIT_USAGE);
	}
	hc.value = hold_value(o->hold_reason, by, hc.now, hc.until);
	free(by);
	return hold_start(loop);
}

static int
cmd_release_exec(struct ev_loop *loop, struct opts *o, int argc, char **argv)
{
	(void)argc;
	hc.o = o;
	hc.name = argv[0];
	hc.release = 1;
	hc.t0 = now_wall();
	return hold_start(loop);
}
