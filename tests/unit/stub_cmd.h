/*
 * stub_cmd.h -- for a unit test that links a command file (cmd.h): the
 * commands' shared runner lives in main.c, outside the library; the test
 * never calls it. Include once, after <cmocka.h>.
 */
#ifndef STUB_CMD_H
#define STUB_CMD_H

struct ctx;
struct ev_loop;
struct opts;
int	cmd_ctx(struct ctx *, struct ev_loop *, struct opts *);
int	cmd_run(struct ctx *);

int
cmd_ctx(struct ctx *c, struct ev_loop *loop, struct opts *o)
{
	(void)c;
	(void)loop;
	(void)o;
	fail();
	return -1;
}

int
cmd_run(struct ctx *c)
{
	(void)c;
	fail();
	return -1;
}

#endif
