/*
 * report.h -- what the operator sees: state changes and progress on stderr
 * (timestamped when not a terminal), the final summary on stdout (and the
 * plan of --dry-run, its output), the JSON report (-o json, with the
 * target), Prometheus metrics (--metrics-file) and webhook
 * notifications (--notify-url).
 */
#ifndef REPORT_H
#define REPORT_H

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
void	report_progress(struct run *, int force);
void	report_outcome(struct run *);
void	report_summary(struct ctx *);

#endif
