/*
 * cmd_stubs.h -- for a unit test linking the command table (cmd.h): the
 * commands' shared runner lives in main.c, and is never called in a unit
 * test. Include once, after cmocka.h and cmd.h.
 */
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
