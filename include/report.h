/*
 * report.h -- what the operator sees: state changes and progress on stderr
 * (timestamped when not a terminal), the final summary on stdout (and the
 * plan of --dry-run, its output), the JSON report (-o json, with the
 * target), Prometheus metrics (--metrics-file) and webhook
 * notifications (--notify-url).
 */
#ifndef REPORT_H
#define REPORT_H

#include "fsm.h"

struct run;
struct ctx;

/*
 * On a terminal (stderr a tty, no -v/-q), a live block at the bottom shows
 * one line per deployment in flight: state, tasks left, backlog, elapsed;
 * log lines scroll above it. Elsewhere plain timestamped lines only.
 */
void	report_live_start(struct ctx *);
/*
 * Name what the runs act on (target.h), first: logged; with --dry-run (text),
 * also the first line of the plan on stdout.
 */
void	report_target(struct ctx *);
void	report_live_redraw(void);
void	report_state(struct run *);
/* Pure: what a run does in a state ("draining: waiting for running and
 * prefetched tasks"). */
const char *report_state_words(enum fsm_state);
void	report_progress(struct run *, int force);
void	report_outcome(struct run *);
/* Each run's outcome: -o json's entries, or the table (not on a tty). */
void	report_outcomes(struct ctx *);
/* report_outcomes(), then the metrics file and the webhook. */
void	report_summary(struct ctx *);

/*
 * -o json: every command prints one document on stdout, and nothing else
 * there (drain-and-rollout(1), JSON OUTPUT, is its schema):
 *   {"version": REPORT_JSON_VERSION, "command", "dry_run", "exit_status",
 *    "target" (target_json(), null before it is known), "deployments"
 *    ([run_json()...]), "error" (the first error logged, or null), and
 *    a command's own keys}.
 * main() begins it once the options are read and ends it with the exit
 * status it returns; in between the commands add to it. Without -o json
 * these do nothing.
 */
#define REPORT_JSON_VERSION	1
struct json_t;
void	report_json_begin(const char *command, int dry_run);
int	report_json_on(void);
/* Set a key of the document (the value is stolen), e.g. --status's. */
void	report_json_set(const char *key, struct json_t *);
/* Append an entry to "deployments" (stolen). */
void	report_json_deployment(struct json_t *);
/* Print the document with its exit status, free it; returns rc. */
int	report_json_end(int rc);
/*
 * One entry of "deployments" for a command that runs no state machine
 * (--hold, --release): its name, the target's namespace, outcome
 * (fsm_outcome_name()), exit code and message (NULL: the first error
 * logged); state null, workers []; seconds to the millisecond.
 */
struct json_t *report_json_entry(const char *name, enum fsm_outcome outcome,
	    const char *message, double seconds);
/*
 * Pure: the message of an outcome as the summary shows it: the error
 * (err, if any) for a failure or a skip, else what the run did (words).
 */
const char *outcome_message(enum fsm_outcome outcome, const char *err, const char *words);

#endif
