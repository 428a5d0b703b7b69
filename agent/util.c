/* util.c -- logging, durations, strings; see include/util.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static enum log_level	log_lvl = LOG_INFO;
static int		log_stamps;
static int		log_journal;	/* stderr is the journal's stream */
static void		(*hook_before)(void), (*hook_after)(void);
static void		(*hook_err)(const char *);

size_t
tty_cols(int fd)
{
	struct winsize	ws;

	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

int
signal_ignored_at_start(int signum)
{
	struct sigaction	sa;

	if (signum == SIGTERM || sigaction(signum, NULL, &sa) == -1)
		return 0;
	return !(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_IGN;
}

void
log_err_hook(void (*fn)(const char *))
{
	hook_err = fn;
}

double
seconds_ms(double s)
{
	if (!isfinite(s) || s <= 0)
		return 0;
	return round(s * 1000) / 1000;
}

void
log_hooks(void (*before)(void), void (*after)(void))
{
	hook_before = before;
	hook_after = after;
}

size_t
line_fit(char *out, size_t outlen, const char *head, const char *body,
    const char *tail, size_t cols)
{
	size_t	hl = strlen(head), bl = strlen(body), tl = strlen(tail);
	size_t	max = cols > 1 ? cols - 1 : 0, keep, left, right, n;

	if (outlen == 0)
		return 0;
	if (max > outlen - 1)
		max = outlen - 1;
	if (tl > max)
		tl = max;
	if (bl > 0 && hl + 1 + bl + 1 + tl <= max) {
		n = (size_t)snprintf(out, outlen, "%s %s %s", head, body,
		    tail);
		return n;
	}
	/* the body, cut in its middle, needs at least "a...b" */
	if (bl > 0 && hl + 1 + 5 + 1 + tl <= max) {
		keep = max - hl - 2 - tl - 3;
		left = (keep + 1) / 2;
		right = keep - left;
		n = (size_t)snprintf(out, outlen, "%s %.*s...%s %s", head,
		    (int)left, body, body + bl - right, tail);
		return n;
	}
	/* no body, or no room for it: HEAD cut at its end, then TAIL */
	keep = max > tl + 1 ? max - tl - 1 : 0;
	if (hl > keep)
		hl = keep;
	if (hl == 0)
		return (size_t)snprintf(out, outlen, "%.*s", (int)tl, tail);
	return (size_t)snprintf(out, outlen, "%.*s %.*s", (int)hl, head,
	    (int)tl, tail);
}

int
journal_stream_is(const char *value, unsigned long long dev,
    unsigned long long ino)
{
	unsigned long long	d, i;
	char			*end;

	if (value == NULL || !isdigit((unsigned char)*value))
		return 0;
	errno = 0;
	d = strtoull(value, &end, 10);
	if (errno != 0 || *end != ':' || !isdigit((unsigned char)end[1]))
		return 0;
	i = strtoull(end + 1, &end, 10);
	if (errno != 0 || *end != '\0')
		return 0;
	return d == dev && i == ino;
}

void
log_init(enum log_level lvl, int timestamps)
{
	struct stat	st;

	log_lvl = lvl;
	log_journal = fstat(STDERR_FILENO, &st) == 0 &&
	    journal_stream_is(getenv("JOURNAL_STREAM"), st.st_dev, st.st_ino);
	log_stamps = timestamps && !log_journal;
}

enum log_level
log_level(void)
{
	return log_lvl;
}

static void
vlog(enum log_level lvl, const char *prefix, const char *fmt, va_list ap)
{
	char	ts[32], msg[1024];
	va_list	aq;

	if (lvl == LOG_ERR && hook_err != NULL) {
		va_copy(aq, ap);
		vsnprintf(msg, sizeof msg, fmt, aq);
		va_end(aq);
		hook_err(msg);
	}
	if (lvl > log_lvl)
		return;
	if (hook_before != NULL)
		hook_before();
	if (log_journal)	/* sd-daemon(3)'s priority prefix */
		fprintf(stderr, "<%d>", lvl == LOG_ERR ? 3 : lvl == LOG_WARN ?
		    4 : lvl == LOG_INFO ? 6 : 7);
	else if (log_stamps)
		fprintf(stderr, "%s ", rfc3339(now_wall(), ts, sizeof ts));
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	if (hook_after != NULL)
		hook_after();
	fflush(stderr);
}

#define LOGFN(name, lvl, prefix)			\
void							\
name(const char *fmt, ...)				\
{							\
	va_list ap;					\
	va_start(ap, fmt);				\
	vlog(lvl, prefix, fmt, ap);			\
	va_end(ap);					\
}
LOGFN(log_err, LOG_ERR, "error: ")
LOGFN(log_warn, LOG_WARN, "warning: ")
LOGFN(log_info, LOG_INFO, "")
LOGFN(log_debug, LOG_DEBUG, "debug: ")

static size_t
count_char(const char *s, size_t n, char c)
{
	size_t	i, k = 0;

	for (i = 0; i < n; i++)
		k += s[i] == c;
	return k;
}

int
duration_parse(const char *s, double *out)
{
	double	 total = 0, v;
	char	*end;
	size_t	 n;

	if (s == NULL || *s == '\0')
		return -1;
	while (*s != '\0') {
		/* decimal only: strtod would also take hex and exponents */
		n = strspn(s, "0123456789.");
		if (n == 0 || count_char(s, n, '.') > 1)
			return -1;
		errno = 0;
		v = strtod(s, &end);
		if (errno != 0 || end != s + n)
			return -1;
		s = end;
		switch (*s) {
		case 'h':
			v *= 3600;
			s++;
			break;
		case 'm':
			if (s[1] == 's') {	/* milliseconds */
				v /= 1000;
				s += 2;
			} else {
				v *= 60;
				s++;
			}
			break;
		case 's':
			s++;
			break;
		default:	/* "30", "1h30": 30 what? */
			return -1;
		}
		total += v;
	}
	if (!(total > 0) || total > 30 * 86400.0)
		return -1;
	*out = total;
	return 0;
}

const char *
duration_fmt(double s, char *buf, size_t len)
{
	long	t;

	if (s < 0)
		s = 0;
	if (s < 10)
		snprintf(buf, len, "%.1fs", s);
	else if (s < 60)
		snprintf(buf, len, "%.0fs", s);
	else if (s < 3600) {
		t = (long)(s + 0.5);
		snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
	} else {
		t = (long)(s / 60 + 0.5);
		snprintf(buf, len, "%ldh%02ldm", t / 60, t % 60);
	}
	return buf;
}

double
now_wall(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

const char *
rfc3339(double t, char *buf, size_t len)
{
	time_t		tt = (time_t)t;
	struct tm	tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

int
rfc3339_parse(const char *s, double *t)
{
	struct tm	 tm;
	const char	*p;
	double		 frac = 0;
	long		 off = 0;
	int		 oh, om, n;

	memset(&tm, 0, sizeof tm);
	if (strlen(s) < 20 || (s[10] != 'T' && s[10] != 't') ||
	    (p = strptime(s, "%Y-%m-%d", &tm)) != s + 10 ||
	    (p = strptime(s + 11, "%H:%M:%S", &tm)) != s + 19)
		return -1;
	if (*p == '.') {
		n = (int)strspn(p + 1, "0123456789");
		if (n == 0)
			return -1;
		frac = strtod(p, NULL);
		p += 1 + n;
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if ((*p == '+' || *p == '-') && strlen(p) == 6 &&
	    isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
	    p[3] == ':' && isdigit((unsigned char)p[4]) &&
	    isdigit((unsigned char)p[5])) {
		oh = (p[1] - '0') * 10 + p[2] - '0';
		om = (p[4] - '0') * 10 + p[5] - '0';
		if (oh > 23 || om > 59)
			return -1;
		off = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
		p += 6;
	} else
		return -1;
	if (*p != '\0' || tm.tm_sec > 60)
		return -1;
	*t = (double)timegm(&tm) - off + frac;
	return 0;
}

void *
xmalloc(size_t n)
{
	void	*p = malloc(n ? n : 1);

	if (p == NULL) {
		fputs("drain-and-rollout: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *
xcalloc(size_t n, size_t sz)
{
	void	*p = calloc(n ? n : 1, sz ? sz : 1);

	if (p == NULL) {
		fputs("drain-and-rollout: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL) {
		fputs("drain-and-rollout: out of memory\n", stderr);
		abort();
	}
	return p;
}

char *
xstrdup(const char *s)
{
	size_t	 n = strlen(s) + 1;
	char	*p = xmalloc(n);

	memcpy(p, s, n);
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*p;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0) {
		fputs("drain-and-rollout: out of memory\n", stderr);
		abort();
	}
	va_end(ap);
	return p;
}

int
dns1123_label(const char *s)
{
	size_t	n = strlen(s), i;

	if (n == 0 || n > 63)
		return 0;
	for (i = 0; i < n; i++) {
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i])
		    || s[i] == '-'))
			return 0;
	}
	return s[0] != '-' && s[n - 1] != '-';
}

int
dns1123_subdomain(const char *s)
{
	size_t	n = strlen(s), i, start = 0;
	char	label[64];

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i <= n; i++) {
		if (s[i] != '.' && s[i] != '\0')
			continue;
		if (i - start == 0 || i - start > 63)
			return 0;
		memcpy(label, s + start, i - start);
		label[i - start] = '\0';
		if (!dns1123_label(label))
			return 0;
		start = i + 1;
	}
	return 1;
}

int
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

FILE *
open_regular(const char *path, int secret, char *err, size_t errlen)
{
	struct stat	 st;
	FILE		*f;
	int		 fd;

	/* O_NONBLOCK: opening a FIFO without a writer would wait forever */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	if (secret && (st.st_mode & (S_IRGRP | S_IROTH)))
		log_warn("%s can be read by its %s: it holds a secret; "
		    "chmod 600 it", path, st.st_mode & S_IROTH ?
		    "every user" : "group");
	if ((f = fdopen(fd, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

static char *
read_whole(const char *path, size_t max, int secret, size_t *lenp, char *err,
    size_t errlen)
{
	FILE		*f;
	struct stat	 st;
	char		*buf;
	size_t		 n;

	if ((f = open_regular(path, secret, err, errlen)) == NULL)
		return NULL;
	if (fstat(fileno(f), &st) == -1 || (size_t)st.st_size > max) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
		fclose(f);
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	n = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	if (lenp != NULL)
		*lenp = n;
	return buf;
}

char *
read_file(const char *path, size_t max, size_t *lenp, char *err,
    size_t errlen)
{
	return read_whole(path, max, 0, lenp, err, errlen);
}

char *
read_secret_file(const char *path, size_t max, char *err, size_t errlen)
{
	return read_whole(path, max, 1, NULL, err, errlen);
}

/*
 * The length of the well-formed UTF-8 character at s (at most n bytes), or
 * 0 if the bytes there do not start one (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF).
 */
static size_t
utf8_char(const unsigned char *s, size_t n)
{
	size_t	len, i;
	unsigned char lo = 0x80, hi = 0xbf;

	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if (s[i] < lo || s[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
	}
	return len;
}

size_t
utf8_prefix(const char *s, size_t max)
{
	size_t	n = strnlen(s, max), i = 0, k;

	while (i < n) {
		if ((k = utf8_char((const unsigned char *)s + i, n - i)) == 0) {
			/* a cut character at the end goes; a bad byte stays */
			if (n - i < 4 && utf8_char((const unsigned char *)s + i,
			    strnlen(s + i, 4)) > n - i)
				return i;
			k = 1;
		}
		i += k;
	}
	return n;
}

size_t
utf8_valid(const char *s)
{
	size_t	n = strlen(s), i = 0, k;

	while (i < n && (k = utf8_char((const unsigned char *)s + i,
	    n - i)) != 0)
		i += k;
	return i;
}

char *
utf8_clean(const char *s)
{
	size_t	 n = strlen(s), i = 0, o = 0, k;
	char	*out = xmalloc(3 * n + 1);	/* each bad byte: 3 bytes */

	while (i < n) {
		if ((k = utf8_char((const unsigned char *)s + i, n - i)) == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);	/* U+FFFD */
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, s + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
	return out;
}

char *
utf8_excerpt(const char *s, size_t max)
{
	size_t	 n = strcspn(s, "\r\n");
	char	*cut, *out;

	if (n > max)
		n = utf8_prefix(s, max);
	cut = xmalloc(n + 1);
	memcpy(cut, s, n);
	cut[n] = '\0';
	out = utf8_clean(cut);
	free(cut);
	return out;
}

char *
utf8_cap(const char *s, size_t max)
{
	size_t	 n = strnlen(s, max + 1);
	char	*cut, *out;

	if (n <= max)
		return utf8_clean(s);
	n = utf8_prefix(s, max);
	cut = xmalloc(n + 4);
	memcpy(cut, s, n);
	memcpy(cut + n, "...", 4);
	out = utf8_clean(cut);
	free(cut);
	return out;
}

/* A copy of s with a backslash before every byte of special. */
static char *
escape_chars(const char *s, const char *special, int newline)
{
	char	*out = xmalloc(2 * strlen(s) + 1), *p = out;

	for (; *s != '\0'; s++) {
		if (newline && *s == '\n') {
			*p++ = '\\';
			*p++ = 'n';
			continue;
		}
		if (strchr(special, *s) != NULL)
			*p++ = '\\';
		*p++ = *s;
	}
	*p = '\0';
	return out;
}

char *
prom_label_escape(const char *s)
{
	return escape_chars(s, "\\\"", 1);
}

char *
redis_glob_escape(const char *s)
{
	return escape_chars(s, "\\*?[]", 0);
}

void
chomp(char *s)
{
	size_t	n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

void
strv_add(struct strv *sv, const char *s)
{
	/* room doubles at each power of two: appending n strings is O(n) */
	if ((sv->n & (sv->n - 1)) == 0)
		sv->v = xrealloc(sv->v, (sv->n ? 2 * sv->n : 1) * sizeof *sv->v);
	sv->v[sv->n++] = xstrdup(s);
}

struct ent {
	const char	*s;
	size_t		 i;
};

static int
ent_cmp(const void *a, const void *b)
{
	const struct ent	*x = a, *y = b;
	int			 c = strcmp(x->s, y->s);

	if (c != 0)
		return c;
	return (x->i > y->i) - (x->i < y->i);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void
strv_unique(struct strv *out, const struct strv *in, const struct strv *skip)
{
	const char	**sk;
	struct ent	 *e;
	char		 *keep;
	size_t		  i, k = 0, nsk = out->n + (skip ? skip->n : 0);

	sk = xcalloc(nsk, sizeof *sk);
	for (i = 0; i < out->n; i++)
		sk[k++] = out->v[i];
	for (i = 0; skip != NULL && i < skip->n; i++)
		sk[k++] = skip->v[i];
	qsort(sk, nsk, sizeof *sk, str_cmp);
	e = xcalloc(in->n, sizeof *e);
	for (i = 0; i < in->n; i++) {
		e[i].s = in->v[i];
		e[i].i = i;
	}
	qsort(e, in->n, sizeof *e, ent_cmp);
	keep = xcalloc(in->n, 1);
	for (i = 0; i < in->n; i++) {
		if (i > 0 && strcmp(e[i].s, e[i - 1].s) == 0)
			continue;	/* a later copy */
		if (bsearch(&e[i].s, sk, nsk, sizeof *sk, str_cmp) == NULL)
			keep[e[i].i] = 1;
	}
	for (i = 0; i < in->n; i++)
		if (keep[i])
			strv_add(out, in->v[i]);
	free(keep);
	free(e);
	free(sk);
}

int
strv_has(const struct strv *sv, const char *s)
{
	size_t	i;

	for (i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return 1;
	return 0;
}

void
strv_free(struct strv *sv)
{
	size_t	i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

char *
strv_join(const struct strv *sv, const char *sep)
{
	size_t	 len = 1, i, sl = strlen(sep);
	char	*out, *p;

	for (i = 0; i < sv->n; i++)
		len += strlen(sv->v[i]) + sl;
	p = out = xmalloc(len);
	for (i = 0; i < sv->n; i++) {
		if (i > 0) {
			memcpy(p, sep, sl);
			p += sl;
		}
		memcpy(p, sv->v[i], strlen(sv->v[i]));
		p += strlen(sv->v[i]);
	}
	*p = '\0';
	return out;
}

size_t
edit_distance(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b), i, j, d;
	size_t	*pp = xcalloc(lb + 1, sizeof *pp);	/* row i - 2 */
	size_t	*prev = xcalloc(lb + 1, sizeof *prev);	/* row i - 1 */
	size_t	*cur = xcalloc(lb + 1, sizeof *cur), *t;

	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			d = prev[j - 1] + (a[i - 1] != b[j - 1]);
			if (prev[j] + 1 < d)
				d = prev[j] + 1;
			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && pp[j - 2] + 1 < d)
				d = pp[j - 2] + 1;	/* neighbours swapped */
			cur[j] = d;
		}
		t = pp;
		pp = prev;
		prev = cur;
		cur = t;
	}
	d = prev[lb];
	free(pp);
	free(prev);
	free(cur);
	return d;
}

size_t
closest_names(const char *name, const struct strv *cands, size_t max,
    struct strv *out)
{
	size_t	 limit = strlen(name) / 3 > 2 ? strlen(name) / 3 : 2;
	size_t	*dist, i, d, best, n = 0;
	size_t	 far = (size_t)-1;

	if (cands->n == 0 || max == 0 || *name == '\0')
		return 0;
	dist = xcalloc(cands->n, sizeof *dist);
	for (i = 0; i < cands->n; i++) {
		d = edit_distance(name, cands->v[i]);
		if (d == 0)
			d = far;	/* the name itself is no suggestion */
		else if (d > limit && strstr(cands->v[i], name) == NULL &&
		    strstr(name, cands->v[i]) == NULL)
			d = far;
		dist[i] = d;
	}
	while (n < max) {
		best = cands->n;
		for (i = 0; i < cands->n; i++)
			if (dist[i] != far && (best == cands->n ||
			    dist[i] < dist[best]))
				best = i;
		if (best == cands->n)
			break;
		strv_add(out, cands->v[best]);
		dist[best] = far;
		n++;
	}
	free(dist);
	return n;
}
