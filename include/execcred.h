/*
 * execcred.h -- run a kubeconfig exec credential plugin (users[].user.exec)
 * as client-go does, without blocking the libev loop.
 *
 * The plugin is run with posix_spawn (no shell): its command looked up in
 * $PATH, its args, the agent's environment without its DRAIN_* settings
 * (URLs with passwords) plus the kubeconfig's env[] entries (which win),
 * and KUBERNETES_EXEC_INFO (kube_exec_info()) (execcred_env()). It gets
 * only descriptors 0, 1 (its stdout pipe) and 2: every other is closed.
 * interactiveMode: Never gives it /dev/null as stdin and its own process
 * group; IfAvailable gives it the agent's stdin when that is a terminal;
 * Always requires a terminal ("exec plugin cannot support interactive
 * mode: standard input is not a terminal"). Its stderr is always the
 * agent's (prompts, browser hints), as kubectl does; its stdout (at most
 * 1 MiB) is read through a pipe with an ev_io, its exit with an ev_child
 * (so the loop must be libev's default loop), and an ev_timer bounds the
 * run (execcred_limit()): after `timeout` seconds (--request-timeout), or
 * EXECCRED_INTERACTIVE_LIMIT for a plugin given the terminal (a login in a
 * browser, a prompt for a one-time code), the plugin (its process group,
 * when it has one) is killed with SIGKILL.
 *
 * The credential (kube_exec_parse()) is cached and handed to every caller
 * until it is close to its expirationTimestamp (within a fifth of its
 * lifetime, at most 10 s); then, and when the API refused it (HTTP 401),
 * the plugin is run again. Callers asking while the plugin runs wait for
 * that one run. Until the plugin has given a credential, a failed run is
 * remembered: later callers get the same error at once, so a broken or
 * hanging plugin costs one timeout per process, not one per request; once
 * it has, a failed refresh fails the requests waiting for it and the next
 * request runs the plugin again. Errors start "getting credentials: " as
 * kubectl's do: "exec: executable X not found" (with kubectl's help text
 * and the kubeconfig's installHint), "exec: executable X failed with exit
 * code N", "... did not finish within ...", or kube_exec_parse()'s reason.
 * Neither errors nor logs ever contain the plugin's output, args or
 * credential (args may hold a client secret; only the command is named).
 */
#ifndef EXECCRED_H
#define EXECCRED_H

#include "kubeconfig.h"

struct ev_loop;
struct execcred;

/*
 * cred: valid during the call only (copy what is needed); gen: its
 * generation (1, 2, ...), to pass back to execcred_get() if the API
 * refuses it. On failure cred is NULL and err says why.
 */
typedef void execcred_cb(const struct kube_exec_cred *cred,
	    unsigned long gen, const char *err, void *arg);

/* The longest wait for a plugin given the terminal (kubectl waits without
 * end; a nightly unit has no terminal, so it never waits this long). */
#define EXECCRED_INTERACTIVE_LIMIT	300.0
/* Whether the plugin is given the terminal: its interactiveMode is not
 * Never and stdin_tty (standard input is a terminal). Pure. */
int		 execcred_interactive(const struct kube_exec *, int stdin_tty);
/* How long a plugin may run: request_timeout, or, when it has the
 * terminal (interactive), at least EXECCRED_INTERACTIVE_LIMIT. Pure. */
double		 execcred_limit(double request_timeout, int interactive);

/*
 * The plugin's environment: environ without its DRAIN_* entries, without
 * KUBERNETES_EXEC_INFO and without the names env sets, then env (the
 * kubeconfig's "NAME=value" entries), then info ("KUBERNETES_EXEC_INFO=..."),
 * NULL-terminated. Pure; the array is malloc'd (free() it), its strings
 * are borrowed from the arguments.
 */
char		**execcred_env(char *const *environ, char *const *env,
		    char *info);

/* creds: the kubeconfig's, with creds->exec set; borrowed. */
struct execcred	*execcred_new(struct ev_loop *, const struct kube_creds *,
		    double timeout);
/* Kills and reaps a plugin still running; waiting callers are dropped. */
void		 execcred_free(struct execcred *);
/*
 * Get a credential. rejected: 0, or the generation the API answered 401
 * to; if that is still the cached one, the plugin is run again. cb may be
 * called before execcred_get() returns.
 */
void		 execcred_get(struct execcred *, unsigned long rejected,
		    execcred_cb *, void *arg);

#endif
