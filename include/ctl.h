/*
 * ctl.h -- worker control, by Flower or by Celery remote control on the
 * broker, behind one interface.
 *
 * The drain code asks: which workers are online (status), what does worker
 * W hold (refresh), and cancel/add a consumer. Through Flower these are the
 * HTTP calls of flower.h; through the broker they are pidbox broadcasts
 * (ping, active_queues + active + reserved + scheduled, cancel_consumer,
 * add_consumer) answered on a reply queue (pidbox.h).
 *
 * Path choice: --control flower|broker|auto (default auto). In auto mode
 * the Flower path is used until Flower is down or its API cannot control
 * workers (Flower 1.x with auth: 405; Flower 2.1 read-only: 403); then that
 * call is made again over the broker and every later call too, for every
 * run of the process (calls already out when the switch came included),
 * and the switch is logged once. Down is: no connection could be made
 * within CTL_FLOWER_PATIENCE (refused, reset, DNS, connect timeout), 5xx
 * until then, or no answer at all within the request timeout. A Flower
 * that accepted the request and answers late (it serialises control calls,
 * and many runs at once queue behind each other) is not down: its answer
 * is waited for, up to the request timeout.
 *
 * Over the broker, status is a broadcast ping collected for 1 s; the
 * process has at most one out, and every status call made meanwhile (any
 * run) joins it and gets its answer.
 */
#ifndef CTL_H
#define CTL_H

#include "flower.h"

struct pidbox;

/* run.c sets it as flower.patience in auto mode (flower.h) */
#define CTL_FLOWER_PATIENCE	4.0

struct ccall;

enum ctl_via { VIA_FLOWER, VIA_BROKER };
enum ctl_mode { CTL_AUTO, CTL_FLOWER, CTL_BROKER };

struct ctl {
	enum ctl_mode	 mode;
	enum ctl_via	 via;
	struct flower	*flower;
	struct pidbox	*pidbox;	/* NULL: no broker path */
	struct ccall	*ping;		/* status calls waiting for the ping
					   that is out (private) */
};

const char	*ctl_via_name(const struct ctl *);
void	ctl_status(struct ctl *, double deadline, flower_status_cb *, void *);
void	ctl_refresh(struct ctl *, const char *worker, double deadline,
	    flower_snap_cb *, void *);
void	ctl_consumer(struct ctl *, int add, const char *worker,
	    const char *queue, double deadline, flower_done_cb *, void *);

#endif
