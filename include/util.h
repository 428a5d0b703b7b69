/*
 * util.h -- small helpers shared by every module: logging, durations,
 * bounded strings, time.
 *
 * Logging: everything goes to stderr. On a terminal lines are plain; when
 * stderr is not a terminal (journald, a pipe) each line starts with an
 * RFC 3339 UTC timestamp so logs sort and grep well. Secrets must never be
 * passed to these functions.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_QUIET = 0, LOG_ERR = 1, LOG_WARN, LOG_INFO, LOG_DEBUG };

void	log_init(enum log_level, int timestamps);
/* Called around every log line (the live status block redraws itself). */
void	log_hooks(void (*before)(void), void (*after)(void));
enum log_level log_level(void);
void	log_err(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));

/*
 * Parse a duration: a positive decimal number with a unit s, m or h
 * ("90s", "30m", "1h", "1.5h"), or "1h30m" sequences; a bare number is
 * seconds. Returns 0 and the value in seconds, or -1 if malformed, zero or
 * negative, or larger than 30 days.
 */
int	duration_parse(const char *, double *seconds);
/* "1h02m", "3m05s", "4.2s" into buf. */
const char *duration_fmt(double seconds, char *buf, size_t len);

/* Wall clock, seconds since the epoch. */
double	now_wall(void);
/* RFC 3339 UTC with seconds ("2026-11-25T19:14:58Z") into buf (>= 21). */
const char *rfc3339(double t, char *buf, size_t len);

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

/* DNS-1123 label: 1..63 of [a-z0-9-], starting and ending alphanumeric. */
int	dns1123_label(const char *);

/* Read a whole file (at most max bytes) into a NUL-terminated buffer. */
char	*read_file(const char *path, size_t max, size_t *len, char *err,
	    size_t errlen);
/* Trim trailing whitespace/newlines in place. */
void	chomp(char *);

/* A growable array of strings. */
struct strv {
	char	**v;
	size_t	  n;
};
void	strv_add(struct strv *, const char *);
int	strv_has(const struct strv *, const char *);
void	strv_free(struct strv *);
char	*strv_join(const struct strv *, const char *sep);

#endif
