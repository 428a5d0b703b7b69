/*
 * target.c -- what a run acts on, in words and as JSON; see target.h.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "target.h"
#include "util.h"

/* "host:port" and the db of a broker_where() string. */
static char *
redis_hostport(const char *where, long *db)
{
	const char	*slash;

	*db = -1;
	if (where == NULL)
		return NULL;
	if ((slash = strrchr(where, '/')) == NULL)
		return xstrdup(where);
	*db = atol(slash + 1);
	return xasprintf("%.*s", (int)(slash - where), where);
}

char *
target_words(const struct target *t)
{
	char	*server = t->server ? http_url_origin(t->server, 1) : NULL;
	char	*flower = t->flower_url ? http_url_origin(t->flower_url, 0) :
	    NULL;
	char	*ctx, *redis, *s;
	long	 db;

	redis = redis_hostport(t->redis, &db);
	if (t->context != NULL)
		ctx = xasprintf("context %s (cluster %s%s%s)", t->context,
		    t->cluster ? t->cluster : "?", t->source ? ", " : "",
		    t->source ? t->source : "");
	else
		ctx = xstrdup(t->source ? t->source :
		    "in-cluster service account");
	s = xasprintf("%s, API %s, namespace %s, Redis %s db %ld, Flower %s",
	    ctx, server ? server : "?", t->namespace ? t->namespace : "?",
	    redis ? redis : "?", db < 0 ? 0 : db, flower ? flower : "none");
	free(ctx);
	free(server);
	free(flower);
	free(redis);
	return s;
}

json_t *
target_json(const struct target *t)
{
	char	*server = t->server ? http_url_origin(t->server, 1) : NULL;
	char	*flower = t->flower_url ? http_url_origin(t->flower_url, 0) :
	    NULL;
	char	*redis;
	long	 db;
	json_t	*o;

	redis = redis_hostport(t->redis, &db);
	o = json_pack("{s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:o,s:s?}",
	    "context", t->context, "cluster", t->cluster,
	    "kubeconfig", t->source, "server", server,
	    "namespace", t->namespace, "redis", redis,
	    "redis_db", db < 0 ? json_null() : json_integer(db),
	    "flower", flower);
	free(server);
	free(flower);
	free(redis);
	return o;
}
