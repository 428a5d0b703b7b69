/*
 * http.h -- HTTP requests driven by libcurl's multi interface on the libev
 * loop (the pattern of curl's evhiperfifo.c example).
 *
 * One struct http per loop. http_do() starts a request and returns at once
 * (at most 8 are out at once, the others wait their turn, and their
 * timeout starts when they are sent; at most 8 connections per server);
 * the callback runs on the loop when the request has finished for good:
 * after a response that is not retried, after a transport error that is not
 * retried, or when the retry deadline has passed. It never runs inside
 * http_do(), which never returns NULL (a request that cannot even start
 * fails on the loop).
 *
 * Retries (for idempotent or explicitly retryable requests): connection
 * errors and timeouts, HTTP 500/502/503/504, 429 (honouring Retry-After)
 * and, if retry_conflict is set, 409, as retry.h decides: capped
 * exponential backoff with jitter until the request's deadline (or its
 * patience); a server that refuses the connection or whose name does not
 * resolve, for a few seconds only until http_set_changed(); after it,
 * every retry is logged (the request, the cause, the attempt).
 *
 * Response bodies are capped at max_body bytes (default HTTP_MAX_BODY,
 * 8 MiB): a larger body fails the request with HTTP_ETOOBIG. Secrets (bearer
 * token, basic password, client key) are handed to curl only; never logged.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>

/* The default cap of a response body; remote-control replies have it too. */
#define HTTP_MAX_BODY	(8u << 20)

struct ev_loop;
struct http;
struct http_xfer;

enum http_err {
	HTTP_OK = 0,		/* a response arrived; see status */
	HTTP_ECONNECT,		/* could not connect / DNS / refused */
	HTTP_ETIMEOUT,		/* no complete answer in time */
	HTTP_ETLS,		/* TLS handshake or verification failed */
	HTTP_ETOOBIG,		/* body larger than max_body */
	HTTP_EOTHER,
};

struct http_tls {
	const char	*ca_file;
	const char	*ca_pem;
	size_t		 ca_pem_len;
	const char	*cert_file;
	const char	*cert_pem;
	size_t		 cert_pem_len;
	const char	*key_file;
	const char	*key_pem;
	size_t		 key_pem_len;
	int		 insecure;
	/*
	 * Verify the server's certificate as this name (and send it as SNI)
	 * while connecting to the URL's host: the URL's host is replaced by
	 * server_name, CURLOPT_CONNECT_TO maps server_name:port back to the
	 * URL's host:port, and the Host header keeps the URL's authority.
	 */
	const char	*server_name;
};

struct http_req {
	const char		*method;	/* "GET", "POST", "PATCH" */
	const char		*url;
	const char		*content_type;	/* for a body */
	const char		*body;
	const char		*bearer;	/* Authorization: Bearer */
	const char		*user;		/* preemptive Basic auth */
	const char		*password;
	const struct http_tls	*tls;
	/*
	 * A proxy URL for libcurl (CURLOPT_PROXY: http://, https://,
	 * socks5h://...), used for every host (no_proxy does not apply); an
	 * https:// proxy is verified with the request's CA and insecure
	 * setting. NULL: libcurl's default (the *_proxy environment).
	 */
	const char		*proxy;
	double			 timeout;	/* per attempt, seconds */
	double			 deadline;	/* ev_now() limit for retries; 0: none */
	/*
	 * ev_now() limit for reaching the server, before deadline (0: none):
	 * no attempt starts after it, and an attempt still connecting then
	 * fails. An attempt whose connection was made waits for its answer
	 * as before (timeout, deadline): a server that cannot be reached is
	 * given up at patience, one that answers slowly is not.
	 */
	double			 patience;
	int			 retry;		/* retry transient failures */
	int			 retry_conflict; /* also retry 409 */
	size_t			 max_body;	/* 0: HTTP_MAX_BODY */
	int			 secret_url;	/* never log the URL (a webhook) */
	/*
	 * A stream (a Kubernetes watch): what arrives of a 2xx body is
	 * handed to on_data and not kept (the response's body then holds
	 * only what came after on_data's last turn; a body of another status
	 * is kept as usual). on_data runs on the loop, after libcurl's
	 * callbacks, so it may start and cancel requests, not its own; it
	 * returns 0 to go on, else the transfer stops and fails
	 * (HTTP_EOTHER, "stopped by the receiver"). max_body bounds what
	 * waits for it.
	 */
	int			(*on_data)(const char *, size_t, void *arg);
};

struct http_resp {
	enum http_err	 err;
	long		 status;
	char		*body;		/* NUL-terminated, owned by http */
	size_t		 len;
	const char	*errmsg;	/* for err != HTTP_OK */
	int		 attempts;
	double		 seconds;	/* of the last attempt */
	double		 started;	/* ev_now() the last attempt was sent */
};

typedef void http_cb(const struct http_resp *, void *arg);

struct http	*http_new(struct ev_loop *);
void		 http_free(struct http *);
/* Start a request; copies everything it needs from req. */
struct http_xfer *http_do(struct http *, const struct http_req *, http_cb *,
		    void *arg);
/*
 * Cancel a request that has not called back yet; its callback never runs
 * (its transfer, if one is out, is removed from the multi handle and
 * closed). A request the server already received may still be processed
 * there: http_last_start() says when its last attempt went out.
 */
void		 http_cancel(struct http_xfer *);
/* ev_now() when the request's last attempt started, 0 if none has. */
double		 http_last_start(const struct http_xfer *);
/*
 * Something was changed (a consumer cancelled, a lease taken): from now on
 * an unreachable server is waited for as patiently as a slow one, and
 * every retry is logged (retry.h).
 */
void		 http_set_changed(struct http *, int changed);
/* Requests started so far (for the "requests per worker" benchmark). */
unsigned long	 http_count(const struct http *);

/* A short human phrase for a failed response ("connection refused", ...). */
const char	*http_describe(const struct http_resp *, char *buf, size_t len);

/*
 * A URL as any output may show it: scheme, host, port and path only (no
 * user, password, query or fragment), malloc'd. Every URL printed, logged,
 * reported or stored goes through it; a URL that is a secret as a whole
 * (the webhook's) is never shown at all.
 */
char		*http_url_shown(const char *url);

/*
 * The URL's origin: "scheme://host:port" (with_scheme) or "host:port", the
 * port its scheme's when not given; never a user, password, path or query.
 * malloc'd; "(an invalid URL)" if it does not parse.
 */
char		*http_url_origin(const char *url, int with_scheme);

/* The URL's port, or its scheme's (80, 443); 0 if it has none. */
int		 http_url_port(const char *url);

/* Percent-encode s for a URL path segment or query value (malloc'd). */
char		*http_escape(const char *s);

#endif
