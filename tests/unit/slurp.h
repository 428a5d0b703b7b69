/*
 * slurp.h -- for a unit test that reads the shared fixtures: slurp() a
 * file (up to 1 MiB) or fail the test. Include after <cmocka.h>.
 */
#ifndef SLURP_H
#define SLURP_H

#include "util.h"

static char *
slurp(const char *path, size_t *len)
{
	char	 err[256];
	char	*s = read_file(path, 1 << 20, len, err, sizeof err);

	if (s == NULL)
		fail_msg("%s", err);
	return s;
}

#endif
