/*
 * stub_cmd.h -- for a unit test that links a command file (cmd.h): the
 * commands' shared runner lives in main.c, outside the library; the test
 * never calls it. Include once, after <cmocka.h>.
 */
#ifndef STUB_CMD_H
#define STUB_CMD_H

#include "cmd.h"

int
cmd_ctx(struct ctx *c, struct ev_loop *loop, struct opts *o, int argc,
    char **argv, cmd_step *then)
{
	(void)c;
	(void)loop;
	(void)o;
	(void)argc;
	(void)argv;
	(void)then;
	fail();
	return -1;
}

void
cmd_runs(struct ctx *c, cmd_end *then)
{
	(void)c;
	(void)then;
	fail();
}

void
cmd_done(struct ctx *c, int rc)
{
	(void)c;
	(void)rc;
	fail();
}

#endif
