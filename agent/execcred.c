/*
 * execcred.c -- kubeconfig exec credential plugins on the libev loop; see
 * include/execcred.h.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "execcred.h"
#include "util.h"

#define MAX_OUTPUT	(1024 * 1024)
#define MAX_MARGIN	10.0

extern char **environ;

/* client-go's installHintVerboseHelp */
#define INSTALL_HELP \
	"\n\nIt looks like you are trying to use a client-go credential " \
	"plugin that is not installed.\n\nTo learn more about this " \
	"feature, consult the documentation available at:\n      " \
	"https://kubernetes.io/docs/reference/access-authn-authz/" \
	"authentication/#client-go-credential-plugins"

struct waiter {
	struct waiter	*next;
	execcred_cb	*cb;
	void		*arg;
};

struct execcred {
	struct ev_loop		*loop;
	const struct kube_creds	*creds;
	double			 timeout;	/* --request-timeout */
	double			 limit;		/* this run's: execcred_limit() */
	struct kube_exec_cred	 cred;
	unsigned long		 gen;		/* of cred; 0: none */
	double			 obtained;	/* when cred arrived */
	char			*failed;	/* sticky error, or NULL */
	struct waiter		*waiters, **tail;
	/* the run in progress */
	pid_t			 pid;		/* 0: none */
	int			 own_group;
	int			 status;	/* from waitpid, once exited */
	int			 exited, eof, timed_out;
	char			*out;
	size_t			 outlen;
	int			 toobig;
	ev_io			 io;
	ev_child		 child;
	ev_timer		 timer;
};

static int
fresh(const struct execcred *x)
{
	double	now = now_wall(), margin;

	if (x->gen == 0)
		return 0;
	if (x->cred.expires == 0)
		return 1;
	margin = (x->cred.expires - x->obtained) / 5;
	if (margin > MAX_MARGIN)
		margin = MAX_MARGIN;
	if (margin < 0)
		margin = 0;
	return now < x->cred.expires - margin;
}

/*
 * Call every waiter with the result. A failure is kept for later callers
 * only while the plugin has never given a credential; once it has, the
 * next caller runs it again (a refresh can fail for a passing reason).
 */
static void
answer(struct execcred *x)
{
	struct waiter	*w, *list = x->waiters;
	char		*failed = x->failed;

	x->waiters = NULL;
	x->tail = &x->waiters;
	if (x->gen > 0)
		x->failed = NULL;
	while ((w = list) != NULL) {
		list = w->next;
		if (failed != NULL)
			w->cb(NULL, 0, failed, w->arg);
		else
			w->cb(&x->cred, x->gen, NULL, w->arg);
		free(w);
	}
	if (failed != x->failed)
		free(failed);
}

static void
stop_watchers(struct execcred *x)
{
	if (ev_is_active(&x->io) || x->io.fd >= 0) {
		ev_io_stop(x->loop, &x->io);
		if (x->io.fd >= 0)
			close(x->io.fd);
		x->io.fd = -1;
	}
	ev_child_stop(x->loop, &x->child);
	ev_timer_stop(x->loop, &x->timer);
}

static void
fail(struct execcred *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fail(struct execcred *x, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	free(x->failed);
	x->failed = xasprintf("getting credentials: %s", msg ? msg : "?");
	free(msg);
}

/* The plugin has exited and its stdout is closed (or it was killed). */
static void
finished(struct execcred *x)
{
	const char		*cmd = x->creds->exec->command;
	struct kube_exec_cred	 cred;
	char			 err[300];

	stop_watchers(x);
	if (x->timed_out)
		fail(x, "exec: executable %s did not finish within %.0f s "
		    "(%s); killed it", cmd, x->limit, x->limit > x->timeout ?
		    "the limit of an interactive login" : "--request-timeout");
	else if (WIFSIGNALED(x->status))
		fail(x, "exec: executable %s was killed by signal %d", cmd,
		    WTERMSIG(x->status));
	else if (WEXITSTATUS(x->status) != 0)
		fail(x, "exec: executable %s failed with exit code %d", cmd,
		    WEXITSTATUS(x->status));
	else if (x->toobig)
		fail(x, "exec: executable %s wrote more than 1 MiB", cmd);
	else if (kube_exec_parse(x->out ? x->out : "", x->outlen,
	    x->creds->exec->api_version, &cred, err, sizeof err) == -1)
		fail(x, "%s", err);
	else {
		kube_exec_cred_free(&x->cred);
		x->cred = cred;
		x->gen++;
		x->obtained = now_wall();
		log_debug("credential plugin %s: got a %s%s", cmd,
		    cred.token ? "token" : "client certificate",
		    cred.expires ? "" : " without expiry");
	}
	if (x->out != NULL)
		explicit_bzero(x->out, x->outlen);
	free(x->out);
	x->out = NULL;
	x->outlen = 0;
	x->pid = 0;
	answer(x);
}

static void
io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct execcred	*x = w->data;
	char		 buf[16384], *p;
	ssize_t		 n;

	(void)loop;
	(void)revents;
	n = read(w->fd, buf, sizeof buf);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		if (x->outlen + (size_t)n > MAX_OUTPUT)
			x->toobig = 1;
		else {	/* no realloc: it could leave a copy of a secret */
			p = xmalloc(x->outlen + (size_t)n + 1);
			if (x->out != NULL) {
				memcpy(p, x->out, x->outlen);
				explicit_bzero(x->out, x->outlen);
				free(x->out);
			}
			memcpy(p + x->outlen, buf, (size_t)n);
			x->out = p;
			x->outlen += (size_t)n;
			x->out[x->outlen] = '\0';
		}
		explicit_bzero(buf, sizeof buf);
		return;
	}
	ev_io_stop(x->loop, w);
	close(w->fd);
	w->fd = -1;
	x->eof = 1;
	if (x->exited)
		finished(x);
}

static void
child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct execcred	*x = w->data;

	(void)loop;
	(void)revents;
	ev_child_stop(x->loop, w);
	x->status = w->rstatus;
	x->exited = 1;
	if (x->eof)
		finished(x);
}

static void
kill_plugin(struct execcred *x)
{
	if (x->pid <= 0)
		return;
	kill(x->own_group ? -x->pid : x->pid, SIGKILL);
}

static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct execcred	*x = w->data;
	pid_t		 pid = x->pid;

	(void)loop;
	(void)revents;
	kill_plugin(x);
	x->timed_out = 1;
	/* Reap it now if libev has not: it is dead or dying. */
	if (!x->exited && waitpid(pid, NULL, 0) == -1 && errno != ECHILD)
		log_debug("waitpid %ld: %s", (long)pid, strerror(errno));
	finished(x);
}

int
execcred_interactive(const struct kube_exec *e, int stdin_tty)
{
	return e->mode != KUBE_EXEC_NEVER && stdin_tty;
}

double
execcred_limit(double request_timeout, int interactive)
{
	if (interactive && request_timeout < EXECCRED_INTERACTIVE_LIMIT)
		return EXECCRED_INTERACTIVE_LIMIT;
	return request_timeout;
}

char **
execcred_env(char *const *environ_, char *const *env, char *info)
{
	size_t	 n = 0, m = 0, i, j, len;
	char	**v;
	int	 skip;

	while (environ_[n] != NULL)
		n++;
	while (env[m] != NULL)
		m++;
	v = xcalloc(n + m + 2, sizeof *v);
	for (i = 0, n = 0; environ_[i] != NULL; i++) {
		/* the agent's own settings (URLs with passwords) stay home */
		skip = strncmp(environ_[i], "DRAIN_", 6) == 0 ||
		    strncmp(environ_[i], "KUBERNETES_EXEC_INFO=", 21) == 0;
		for (j = 0; !skip && j < m; j++) {
			len = strcspn(env[j], "=") + 1;
			skip = strncmp(environ_[i], env[j], len) == 0;
		}
		if (!skip)
			v[n++] = environ_[i];
	}
	for (j = 0; j < m; j++)
		v[n++] = env[j];
	v[n] = info;
	return v;
}

/*
 * Every descriptor above 2 is closed in the plugin: the agent's sockets
 * (Redis, the API server, curl's) are not its to keep or write to. glibc
 * 2.34 closes them in the child (close_range, else /proc/self/fd); before
 * that, they are marked close-on-exec here, in the parent.
 */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
static void
close_above_stderr(posix_spawn_file_actions_t *fa)
{
	posix_spawn_file_actions_addclosefrom_np(fa, STDERR_FILENO + 1);
}
#else
static void
close_above_stderr(posix_spawn_file_actions_t *fa)
{
	struct rlimit	rl;
	long		fd, max = 1024;

	(void)fa;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		max = (long)rl.rlim_cur;
	for (fd = STDERR_FILENO + 1; fd < max && fd < 65536; fd++)
		fcntl((int)fd, F_SETFD, fcntl((int)fd, F_GETFD) | FD_CLOEXEC);
}
#endif

static int
executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & 0111) != 0;
}

/*
 * Go's exec.LookPath, which kubectl runs before starting a plugin: a
 * command with a '/' is taken as it is, a name is looked up in the
 * absolute directories of $PATH (Go refuses what a relative one finds).
 * NULL: not found.
 */
static char *
look_path(const char *cmd)
{
	const char *path = getenv("PATH"), *p, *end;
	char	*full;

	if (strchr(cmd, '/') != NULL)
		return executable(cmd) ? xstrdup(cmd) : NULL;
	for (p = path ? path : ""; *p != '\0'; p = *end ? end + 1 : end) {
		end = p + strcspn(p, ":");
		if (*p != '/')
			continue;
		full = xasprintf("%.*s/%s", (int)(end - p), p, cmd);
		if (executable(full))
			return full;
		free(full);
	}
	return NULL;
}

/* Start the plugin; on failure x->failed is set and 0 returned. */
static int
start(struct execcred *x)
{
	const struct kube_exec	*e = x->creds->exec;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t	 attr;
	sigset_t		 none, deflt;
	char			*ca = NULL, *json, *info, **envp, ebuf[300];
	char			*file;
	size_t			 ca_len = 0;
	int			 interactive, p[2], rc, devnull = -1;
	short			 flags;

	interactive = execcred_interactive(e, isatty(STDIN_FILENO));
	if (e->mode == KUBE_EXEC_ALWAYS && !interactive) {
		fail(x, "exec plugin cannot support interactive mode: standard "
		    "input is not a terminal (executable %s has interactiveMode "
		    "Always: run from a terminal, or make it IfAvailable)",
		    e->command);
		return 0;
	}
	if (e->provide_cluster_info && x->creds->ca_file != NULL &&
	    !x->creds->insecure &&
	    (ca = read_file(x->creds->ca_file, MAX_OUTPUT, &ca_len, ebuf,
	    sizeof ebuf)) == NULL) {
		fail(x, "exec plugin's cluster info: %s", ebuf);
		return 0;
	}
	if ((file = look_path(e->command)) == NULL) {
		free(ca);
		fail(x, "exec: executable %s not found" INSTALL_HELP "%s%s",
		    e->command, e->install_hint ? "\n\n" : "",
		    e->install_hint ? e->install_hint : "");
		return 0;
	}
	json = kube_exec_info(x->creds, ca ? ca : x->creds->ca_pem,
	    ca ? ca_len : x->creds->ca_pem_len, interactive);
	free(ca);
	info = xasprintf("KUBERNETES_EXEC_INFO=%s", json);
	free(json);
	if (pipe2(p, O_CLOEXEC) == -1) {
		fail(x, "exec: pipe: %s", strerror(errno));
		free(info);
		free(file);
		return 0;
	}
	if (!interactive &&
	    (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		fail(x, "exec: /dev/null: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		free(info);
		free(file);
		return 0;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	if (!interactive)
		posix_spawn_file_actions_adddup2(&fa, devnull, STDIN_FILENO);
	close_above_stderr(&fa);	/* after the dup2s: the pipe is fd 1 */
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigfillset(&deflt);
	flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
	x->own_group = !interactive;
	if (x->own_group)	/* a terminal's plugin stays in its group */
		flags |= POSIX_SPAWN_SETPGROUP;
	posix_spawnattr_setflags(&attr, flags);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &deflt);
	posix_spawnattr_setpgroup(&attr, 0);
	envp = execcred_env(environ, e->env, info);
	log_debug("running the credential plugin %s of user %s%s", e->command,
	    x->creds->user ? x->creds->user : "?",
	    interactive ? " (interactive)" : "");
	rc = posix_spawn(&x->pid, file, &fa, &attr, e->argv, envp);
	free(file);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(envp);
	explicit_bzero(info, strlen(info));
	free(info);
	close(p[1]);
	if (devnull != -1)
		close(devnull);
	if (rc != 0) {
		close(p[0]);
		x->pid = 0;
		fail(x, "exec: executable %s: %s", e->command, strerror(rc));
		return 0;
	}
	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
	x->exited = x->eof = x->timed_out = x->toobig = 0;
	x->status = 0;
	ev_io_init(&x->io, io_cb, p[0], EV_READ);
	x->io.data = x;
	ev_io_start(x->loop, &x->io);
	ev_child_init(&x->child, child_cb, x->pid, 0);
	x->child.data = x;
	ev_child_start(x->loop, &x->child);
	x->limit = execcred_limit(x->timeout, interactive);
	ev_timer_init(&x->timer, timer_cb, x->limit, 0.);
	x->timer.data = x;
	ev_timer_start(x->loop, &x->timer);
	return 1;
}

struct execcred *
execcred_new(struct ev_loop *loop, const struct kube_creds *creds,
    double timeout)
{
	struct execcred	*x = xcalloc(1, sizeof *x);

	x->loop = loop;
	x->creds = creds;
	x->timeout = timeout > 0 ? timeout : 30;
	x->tail = &x->waiters;
	ev_io_init(&x->io, io_cb, -1, EV_READ);
	ev_child_init(&x->child, child_cb, 0, 0);
	ev_timer_init(&x->timer, timer_cb, 0., 0.);
	return x;
}

void
execcred_free(struct execcred *x)
{
	struct waiter	*w;

	if (x == NULL)
		return;
	if (x->pid > 0) {
		kill_plugin(x);
		if (!x->exited)
			waitpid(x->pid, NULL, 0);
	}
	stop_watchers(x);
	while ((w = x->waiters) != NULL) {
		x->waiters = w->next;
		free(w);
	}
	kube_exec_cred_free(&x->cred);
	if (x->out != NULL)
		explicit_bzero(x->out, x->outlen);
	free(x->out);
	free(x->failed);
	free(x);
}

void
execcred_get(struct execcred *x, unsigned long rejected, execcred_cb *cb,
    void *arg)
{
	struct waiter	*w;

	if (x->failed != NULL) {
		cb(NULL, 0, x->failed, arg);
		return;
	}
	if (x->pid == 0 && fresh(x) && (rejected == 0 || rejected != x->gen)) {
		cb(&x->cred, x->gen, NULL, arg);
		return;
	}
	w = xcalloc(1, sizeof *w);
	w->cb = cb;
	w->arg = arg;
	*x->tail = w;
	x->tail = &w->next;
	if (x->pid == 0 && !start(x))
		answer(x);
}
