/*
 * target.h -- what a run is about to act on, as every run, --dry-run and
 * --status name it first, and as every JSON report carries it ("target"):
 * the kubeconfig context (and its cluster and files), the API server, the
 * namespace, and the Redis and Flower endpoints.
 *
 * Pure: built from plain strings. Endpoints are shown as scheme://host:port
 * (the API server) or host:port (Redis, Flower): never a user, a password,
 * a path, a query (a URL's secrets).
 */
#ifndef TARGET_H
#define TARGET_H

struct json_t;

struct target {
	const char	*context;	/* NULL: in-cluster */
	const char	*cluster;	/* the context's cluster, or NULL */
	const char	*source;	/* "kubeconfig FILE[, FILE]" or
					   "in-cluster service account" */
	const char	*server;	/* the API server's URL */
	const char	*namespace;
	const char	*redis;		/* "host:port/db" (broker_where()) */
	const char	*flower_url;	/* Flower's URL, or NULL */
};

/*
 * "context C (cluster K, kubeconfig F), API https://h:6443, namespace N,
 * Redis h:6379 db 0, Flower h:5555", malloc'd.
 */
char		*target_words(const struct target *);
/*
 * {"context", "cluster", "kubeconfig": source, "server", "namespace",
 *  "redis": "host:port", "redis_db", "flower": "host:port"}; absent
 * values are null.
 */
struct json_t	*target_json(const struct target *);

#endif
