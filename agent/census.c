/* census.c -- which pods an action may stop; see include/census.h. */
#include <jansson.h>
#include <string.h>

#include "census.h"
#include "kube.h"
#include "worker.h"

#define REVISION	"deployment.kubernetes.io/revision"

static int
on_pod(const struct census_worker *w, const char *pod)
{
	const char	*p = worker_pod(w->name);

	return p != NULL && pod != NULL && strcmp(p, pod) == 0;
}

enum census_verdict
census_pod(const struct census_pod *p, const struct census_worker *ws,
    size_t nw)
{
	size_t	i;
	int	busy = 0, drained = 0;

	if (!p->stopped)
		return CV_SPARED;
	if (p->terminating)
		return CV_LEAVING;
	if (!p->running)
		return CV_IDLE;
	for (i = 0; i < nw; i++) {
		if (!on_pod(&ws[i], p->name))
			continue;
		if (ws[i].online && (!ws[i].tracked || ws[i].restarted))
			return CV_NEWCOMER;
		if (ws[i].tracked && !ws[i].drained)
			busy = 1;
		else if (ws[i].tracked)
			drained = 1;
	}
	if (busy)
		return CV_BUSY;
	return drained ? CV_DRAINED : CV_UNKNOWN;
}

enum census_action
census_decide(const struct census_pod *pods, size_t np,
    const struct census_worker *ws, size_t nw, enum census_verdict *out)
{
	enum census_action	a = CA_GO;
	enum census_verdict	v;
	size_t			i;

	for (i = 0; i < np; i++) {
		v = census_pod(&pods[i], ws, nw);
		if (out != NULL)
			out[i] = v;
		if (v == CV_NEWCOMER)
			a = CA_DRAIN;
		else if ((v == CV_BUSY || v == CV_UNKNOWN) && a == CA_GO)
			a = CA_WAIT;
	}
	return a;
}

enum census_roll
census_rollout(const struct census_pod *pods, size_t np,
    const struct census_worker *ws, size_t nw, int forced, int interrupted,
    double held, double limit, enum census_verdict *out)
{
	enum census_verdict	v;
	size_t			i;
	int			drain = 0, unknown = 0;

	for (i = 0; i < np; i++) {
		v = census_pod(&pods[i], ws, nw);
		if (out != NULL)
			out[i] = v;
		if (v == CV_NEWCOMER || (v == CV_BUSY && !forced))
			drain = 1;
		else if (v == CV_UNKNOWN)
			unknown = 1;
	}
	if (drain)
		return CR_DRAIN;
	if (unknown && !interrupted)
		return limit > 0 && held > limit ? CR_GIVEUP : CR_HOLD;
	return CR_ROLL;
}

const char *
census_roll_name(enum census_roll a)
{
	static const char *names[] = { "roll", "hold", "drain", "give-up" };

	return a <= CR_GIVEUP ? names[a] : "?";
}

int
census_ask(const struct census_pod *pods, const char *const *marks,
    size_t np, const char *const *known, size_t nknown, double age)
{
	size_t	i, j;
	int	runs = 0;

	for (i = 0; i < np; i++) {
		if (!pods[i].stopped || pods[i].terminating ||
		    !pods[i].running)
			continue;
		runs = 1;
		if (marks[i] == NULL)
			return 1;
		for (j = 0; j < nknown; j++)
			if (strcmp(known[j], marks[i]) == 0)
				break;
		if (j == nknown)
			return 1;
	}
	return runs && (age < 0 || age >= CENSUS_ASK_EVERY);
}

int
census_newcomer(const struct census_pod *pods, size_t np,
    const struct census_worker *w)
{
	size_t	i;

	if (!w->online || (w->tracked && !w->restarted))
		return 0;
	for (i = 0; i < np; i++)
		if (on_pod(w, pods[i].name))
			return census_pod(&pods[i], w, 1) == CV_NEWCOMER;
	return 0;
}

int
census_restarted(const char *uid0, long restarts0, const char *uid,
    long restarts)
{
	if (uid0 != NULL && uid != NULL && strcmp(uid0, uid) != 0)
		return 1;
	return restarts > restarts0;
}

int
census_refresh_again(enum flower_err e, int tries, double left)
{
	if (e != FLOWER_EUNKNOWN && e != FLOWER_ENOREPLY && e != FLOWER_EDOWN)
		return 0;
	return tries < CENSUS_REFRESH_TRIES && (left < 0 ||
	    left > CENSUS_REFRESH_EVERY);
}

const char *
census_verdict_name(enum census_verdict v)
{
	static const char *names[] = {
		"spared", "leaving", "idle", "newcomer", "busy", "drained",
		"unknown",
	};

	return v <= CV_UNKNOWN ? names[v] : "?";
}

static const char *
annotation(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(
	    json_object_get(obj, "metadata"), "annotations"), key));
}

json_t *
census_template_facts(json_t *workload)
{
	json_t		*meta = json_object_get(workload, "metadata");
	json_t		*f = json_object(), *m = json_object(), *a;
	json_t		*v;
	const char	*rev = annotation(workload, REVISION);

	if ((v = json_object_get(workload, "kind")) != NULL)
		json_object_set(f, "kind", v);
	if ((v = json_object_get(meta, "uid")) != NULL)
		json_object_set(m, "uid", v);
	if (rev != NULL) {
		a = json_object();
		json_object_set_new(a, REVISION, json_string(rev));
		json_object_set_new(m, "annotations", a);
	}
	json_object_set_new(f, "metadata", m);
	if ((v = json_object_get(json_object_get(workload, "status"),
	    "updateRevision")) != NULL)
		json_object_set_new(f, "status", json_pack("{sO}",
		    "updateRevision", v));
	return f;
}

const char *
census_new_template(json_t *workload, json_t *rslist)
{
	const char	*kind = json_string_value(json_object_get(workload,
			    "kind"));
	const char	*rev = annotation(workload, REVISION), *hash = NULL;
	json_t		*own, *rs;
	size_t		 i;

	if (kind != NULL && strcmp(kind, "StatefulSet") == 0)
		return json_string_value(json_object_get(json_object_get(
		    workload, "status"), "updateRevision"));
	if (rev == NULL)
		return NULL;
	own = rs_owned(rslist, json_string_value(json_object_get(
	    json_object_get(workload, "metadata"), "uid")));
	json_array_foreach(own, i, rs) {
		const char *r = annotation(rs, REVISION);
		if (r != NULL && strcmp(r, rev) == 0)
			hash = json_string_value(json_object_get(json_object_get(
			    json_object_get(rs, "metadata"), "labels"),
			    "pod-template-hash"));
	}
	json_decref(own);	/* hash is rslist's */
	return hash;
}
