/*
 * util.h -- small helpers shared by every module: logging, durations,
 * bounded strings, time.
 *
 * Logging: everything goes to stderr. On a terminal lines are plain; when
 * stderr is not a terminal (journald, a pipe) each line starts with an
 * RFC 3339 UTC timestamp so logs sort and grep well. When stderr is the
 * journal's stream (systemd sets JOURNAL_STREAM to its "DEVICE:INODE"), each
 * line starts with its syslog priority instead ("<3>" error, "<4>"
 * warning, "<6>" information, "<7>" debug: sd-daemon(3)), so that
 * `journalctl -p err` finds the errors, and carries no second timestamp.
 * Secrets must never be passed to these functions.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum log_level { LOG_QUIET = 0, LOG_ERR = 1, LOG_WARN, LOG_INFO, LOG_DEBUG };

void	log_init(enum log_level, int timestamps);
/*
 * "HEAD BODY TAIL" into out, at most cols - 1 bytes (a line that fills the
 * last column wraps on some terminals): BODY is cut in its middle ("...")
 * first, then HEAD at its end; TAIL is kept whole unless it alone is too
 * long. For ASCII text, one byte a column. Returns strlen(out).
 */
size_t	line_fit(char *out, size_t outlen, const char *head, const char *body,
	    const char *tail, size_t cols);
/* The columns of the terminal fd is; 80 if it does not say. */
size_t	tty_cols(int fd);
/* 1 if JOURNAL_STREAM's value names that device and inode, else 0. */
int	journal_stream_is(const char *value, unsigned long long dev,
	    unsigned long long ino);
/* Called around every log line (the live status block redraws itself). */
void	log_hooks(void (*before)(void), void (*after)(void));
enum log_level log_level(void);
void	log_err(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
/*
 * Whether a signal other than SIGTERM was ignored when the program started
 * (nohup ignores SIGHUP, a non-interactive shell's background job SIGINT
 * and SIGQUIT): it stays ignored, as the shell's conventions want.
 */
int	signal_ignored_at_start(int signum);
/* Called with the text of every error logged (-o json keeps the first),
 * whatever the level shown; NULL: none. */
void	log_err_hook(void (*fn)(const char *msg));
/* Pure: seconds rounded to the millisecond (a JSON report's durations);
 * a negative or non-finite value is 0. */
double	seconds_ms(double seconds);

/*
 * Parse a duration: a positive decimal number with a unit s, m or h
 * ("90s", "30m", "1h", "1.5h", "250ms"), or "1h30m" sequences; every number
 * needs its unit ("30" is refused: seconds or minutes?). Returns 0 and the
 * value in seconds, or -1 if malformed, zero or negative, or larger than
 * 30 days.
 */
int	duration_parse(const char *, double *seconds);
/* "1h02m", "3m05s", "4.2s" into buf. */
const char *duration_fmt(double seconds, char *buf, size_t len);

/* Wall clock, seconds since the epoch. */
double	now_wall(void);
/* RFC 3339 UTC with seconds ("2026-11-25T19:14:58Z") into buf (>= 21). */
const char *rfc3339(double t, char *buf, size_t len);
/*
 * Parse an RFC 3339 time ("2026-11-25T19:14:58Z", "...58.5+01:00"; a
 * lower-case t or z too). Returns 0 and seconds since the epoch, or -1.
 */
int	rfc3339_parse(const char *, double *t);

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

/* DNS-1123 label: 1..63 of [a-z0-9-], starting and ending alphanumeric. */
int	dns1123_label(const char *);
/*
 * DNS-1123 subdomain, what Kubernetes takes for a Deployment's or a
 * StatefulSet's name: 1..253 bytes, dot-separated DNS-1123 labels.
 */
int	dns1123_subdomain(const char *);

/*
 * How the pure parsers and loaders report an error: a one-line reason into
 * err (errlen bytes; err may be NULL or errlen 0), and -1 returned, as in
 * `return errf(err, errlen, "...", ...)`.
 */
int	errf(char *err, size_t errlen, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * Read a whole file (at most max bytes) into a NUL-terminated buffer.
 * Only a regular file is read: it is opened without blocking (a FIFO would
 * hang the open or the read) and refused after fstat() if it is anything
 * else. A secret file that its group or others may read is warned about
 * (log_warn), naming the file, never its content. On failure NULL and
 * "PATH: reason" in err.
 */
char	*read_file(const char *path, size_t max, size_t *len, char *err,
	    size_t errlen);
/* read_file() with secret set. */
char	*read_secret_file(const char *path, size_t max, char *err,
	    size_t errlen);
/* Open path for reading as read_file() does: the stream, or NULL and err. */
FILE	*open_regular(const char *path, int secret, char *err, size_t errlen);

/*
 * UTF-8. utf8_prefix(): the length of the longest prefix of s of at most max
 * bytes that does not end inside a character (to cut text). utf8_clean(): a
 * malloc'd copy of s that is valid UTF-8, every byte that does not belong
 * to a well-formed character replaced by U+FFFD (what jansson accepts).
 */
size_t	utf8_prefix(const char *s, size_t max);
/* The length of the longest prefix of s that is well-formed UTF-8: strlen(s)
 * when all of it is, else the offset of the first byte that is not. */
size_t	utf8_valid(const char *s);
char	*utf8_clean(const char *s);
/* The first line of s, at most max bytes cut as utf8_prefix(), cleaned. */
char	*utf8_excerpt(const char *s, size_t max);
/*
 * Text quoted from a server or another program, bounded: s cut as
 * utf8_prefix() to at most max of its bytes, "..." after a cut, cleaned
 * as utf8_clean() (allocated).
 */
char	*utf8_cap(const char *s, size_t max);

/* A label value of the Prometheus text format: \, \" and \n escaped. */
char	*prom_label_escape(const char *s);
/* s matched literally in a Redis glob pattern (SCAN MATCH): *?[]\ escaped. */
char	*redis_glob_escape(const char *s);
/* Trim trailing whitespace/newlines in place. */
void	chomp(char *);

/* A growable array of strings. */
struct strv {
	char	**v;
	size_t	  n;
};
void	strv_add(struct strv *, const char *);
/* Linear: for small sets; strv_unique() for large ones. */
int	strv_has(const struct strv *, const char *);
/*
 * Append to out each string of in that is neither in skip nor already in
 * out or earlier in in, keeping in's order. O(n log n) (sorted copies).
 */
void	strv_unique(struct strv *out, const struct strv *in,
	    const struct strv *skip);
void	strv_free(struct strv *);
char	*strv_join(const struct strv *, const char *sep);
/*
 * The edit distance of a and b, bytes: insertions, deletions,
 * substitutions and swaps of neighbours count one each (optimal string
 * alignment), so "TIMEUOT" is one edit from "TIMEOUT".
 */
size_t	 edit_distance(const char *a, const char *b);
/*
 * The names of cands closest to name, for "did you mean": those within an
 * edit distance of max(2, strlen(name) / 3), or
 * containing name or contained in it, nearest first (ties in cands'
 * order), at most max, appended to out. Returns how many.
 */
size_t	 closest_names(const char *name, const struct strv *cands, size_t max,
	    struct strv *out);

#endif
