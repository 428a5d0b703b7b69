/*
 * fuzz_flower.c -- libFuzzer target for the Flower answer parsers
 * (include/worker.h): flower_parse_workers() for a fixed worker name and
 * flower_parse_status() on the same input. Built by tests/fuzz/run.sh;
 * seeds in tests/fuzz/corpus/flower (their worker is the one below).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"

#define NAME	"ecal-bulk@pod-bbb"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_list(const struct task_list *tl, int scheduled)
{
	size_t	 i;
	char	*d, *id = NULL;

	for (i = 0; i < tl->n; i++) {
		if (tl->v[i].id == NULL || tl->v[i].name == NULL)
			__builtin_trap();
		if (!scheduled && tl->v[i].eta != NULL)
			__builtin_trap();
	}
	d = tasks_describe(tl, 1795633970.0);
	/* an id is shown whole up to TASK_TEXT_MAX bytes, else cut there */
	if (tl->n > 0 && d != NULL) {
		size_t n = strlen(tl->v[0].id);
		id = strndup(tl->v[0].id, n > TASK_TEXT_MAX ?
		    TASK_TEXT_MAX - 4 : n);
	}
	if (d == NULL || (tl->n > 0 && (id == NULL || strstr(d, id) == NULL)))
		__builtin_trap();
	free(id);
	free(d);
}

static void
workers(const char *body, size_t len)
{
	struct worker_snap	s;
	char			err[256];
	size_t			i;

	err[0] = '\0';
	if (flower_parse_workers(body, len, NAME, &s, err, sizeof err) == 0) {
		if (s.name == NULL || strcmp(s.name, NAME) != 0)
			__builtin_trap();
		if (!s.have_queues && s.queues.n != 0)
			__builtin_trap();
		for (i = 0; i < s.queues.n; i++)
			if (s.queues.v[i] == NULL)
				__builtin_trap();
		check_list(&s.active, 0);
		check_list(&s.reserved, 0);
		check_list(&s.scheduled, 1);
		(void)worker_drained(&s);
		worker_snap_free(&s);
	} else if (err[0] == '\0' || s.name != NULL || s.queues.v != NULL ||
	    s.active.v != NULL || s.reserved.v != NULL ||
	    s.scheduled.v != NULL)
		__builtin_trap();
}

static void
status(const char *body, size_t len)
{
	struct worker_status	*ws;
	size_t			 n, i;
	char			 err[256];

	err[0] = '\0';
	if (flower_parse_status(body, len, &ws, &n, err, sizeof err) == 0) {
		if (ws == NULL)
			__builtin_trap();
		for (i = 0; i < n; i++)
			if (ws[i].name == NULL || (ws[i].online != 0 &&
			    ws[i].online != 1))
				__builtin_trap();
		worker_status_free(ws, n);
	} else if (err[0] == '\0' || ws != NULL || n != 0)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	workers((const char *)data, size);
	status((const char *)data, size);
	return 0;
}
