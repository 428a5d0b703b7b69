/*
 * test_kubeconfig.c -- kubeconfig_parse on an `oc login` kubeconfig and on
 * broken ones; the loading rules (kubeconfig_paths, kubeconfig_resolve,
 * kubeconfig_merge); kubeconfig_load through --kubeconfig, $KUBECONFIG, ~
 * and the in-cluster service account.
 */
#include <sys/stat.h>

#include <errno.h>
#include <pwd.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "kubeconfig.h"

#define CA_PEM \
	"-----BEGIN CERTIFICATE-----\n" \
	"MIIBmjCCAUGgAwIBAgIUGUN8QznVLmufL2s8v9ty9HXJ0O0wCgYIKoZIzj0EAwIw\n" \
	"IzEhMB8GA1UEAwwYa3ViZS1hcGlzZXJ2ZXItbGItc2lnbmVyMB4XDTI2MTEyNjAx\n" \
	"MjQzNloXDTM2MTEyMzAxMjQzNlowIzEhMB8GA1UEAwwYa3ViZS1hcGlzZXJ2ZXIt\n" \
	"bGItc2lnbmVyMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEQP4rNabyDNaFpABz\n" \
	"f9s6AjLQq1s0aLGz+q7WtgNCQQ1YcrjfOwn17t+kNGaH0S1XegO4GbXPSCCEHIm/\n" \
	"Xw1fqqNTMFEwHQYDVR0OBBYEFPWWU++svMMA3Gyjdh93TSuBxlJTMB8GA1UdIwQY\n" \
	"MBaAFPWWU++svMMA3Gyjdh93TSuBxlJTMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZI\n" \
	"zj0EAwIDRwAwRAIgO1kuv5k5H5miS3tCTsuaSEtjzGxRQ8a74n3d2954fMUCIAvW\n" \
	"cpsKn1jnMQY/rt5q32hkrKkB/zIEHhOT9HbhPsCj\n" \
	"-----END CERTIFICATE-----\n"

#define CA_B64 \
	"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJtakNDQVVHZ0F3SUJBZ0lVR1VO" \
	"OFF6blZMbXVmTDJzOHY5dHk5SFhKME8wd0NnWUlLb1pJemowRUF3SXcKSXpFaE1COEdB" \
	"MVVFQXd3WWEzVmlaUzFoY0dselpYSjJaWEl0YkdJdGMybG5ibVZ5TUI0WERUSTJNVEV5" \
	"TmpBeApNalF6TmxvWERUTTJNVEV5TXpBeE1qUXpObG93SXpFaE1COEdBMVVFQXd3WWEz" \
	"VmlaUzFoY0dselpYSjJaWEl0CmJHSXRjMmxuYm1WeU1Ga3dFd1lIS29aSXpqMENBUVlJ" \
	"S29aSXpqMERBUWNEUWdBRVFQNHJOYWJ5RE5hRnBBQnoKZjlzNkFqTFFxMXMwYUxHeitx" \
	"N1d0Z05DUVExWWNyamZPd24xN3Qra05HYUgwUzFYZWdPNEdiWFBTQ0NFSEltLwpYdzFm" \
	"cXFOVE1GRXdIUVlEVlIwT0JCWUVGUFdXVSsrc3ZNTUEzR3lqZGg5M1RTdUJ4bEpUTUI4" \
	"R0ExVWRJd1FZCk1CYUFGUFdXVSsrc3ZNTUEzR3lqZGg5M1RTdUJ4bEpUTUE4R0ExVWRF" \
	"d0VCL3dRRk1BTUJBZjh3Q2dZSUtvWkkKemowRUF3SURSd0F3UkFJZ08xa3V2NWs1SDVt" \
	"aVMzdENUc3VhU0V0anpHeFJROGE3NG4zZDI5NTRmTVVDSUF2VwpjcHNLbjFqbk1RWS9y" \
	"dDVxMzJoa3JLa0IveklFSGhPVDlIYmhQc0NqCi0tLS0tRU5EIENFUlRJRklDQVRFLS0t" \
	"LS0K"

/* A throwaway key made for this test only. */
#define KEY_PEM \
	"-----BEGIN PRIVATE KEY-----\n" \
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+0urTTggrEUFNh+J\n" \
	"wb4NVywmSVmjyU0ypiisMCrOJSqhRANCAARA/is1pvIM1oWkAHN/2zoCMtCrWzRo\n" \
	"sbP6rta2A0JBDVhyuN87CfXu36Q0ZofRLVd6A7gZtc9IIIQcib9fDV+q\n" \
	"-----END PRIVATE KEY-----\n"

#define KEY_B64 \
	"LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JR0hBZ0VBTUJNR0J5cUdTTTQ5QWdF" \
	"R0NDcUdTTTQ5QXdFSEJHMHdhd0lCQVFRZyswdXJUVGdnckVVRk5oK0oKd2I0TlZ5d21T" \
	"Vm1qeVUweXBpaXNNQ3JPSlNxaFJBTkNBQVJBL2lzMXB2SU0xb1drQUhOLzJ6b0NNdENy" \
	"V3pSbwpzYlA2cnRhMkEwSkJEVmh5dU44N0NmWHUzNlEwWm9mUkxWZDZBN2dadGM5SUlJ" \
	"UWNpYjlmRFYrcQotLS0tLUVORCBQUklWQVRFIEtFWS0tLS0tCg=="

#define PROD_TOKEN	"sha256~Xk2pQ9vY7rT1mN4bL8cW3zF6hJ0dS5aG2eR7uI9oP1q"
#define STG_TOKEN	"sha256~stG7fH2kL9mN3pQ5rT8vW1xZ4bC6dE0gJ2hK5lM7nP9"

/* What `oc login` leaves behind after logging in to three clusters. */
static const char OC_LOGIN[] =
	"apiVersion: v1\n"
	"clusters:\n"
	"- cluster:\n"
	"    certificate-authority-data: " CA_B64 "\n"
	"    server: https://api.paas.cern.ch:6443\n"
	"  name: api-paas-cern-ch:6443\n"
	"- cluster:\n"
	"    insecure-skip-tls-verify: true\n"
	"    server: https://api.paas-stg.cern.ch:6443/\n"
	"  name: api-paas-stg-cern-ch:6443\n"
	"- cluster:\n"
	"    certificate-authority: certs/okd-ca.crt\n"
	"    server: https://api.okd-dev.example.org:6443\n"
	"  name: api-okd-dev-example-org:6443\n"
	"contexts:\n"
	"- context:\n"
	"    cluster: api-paas-cern-ch:6443\n"
	"    namespace: etl-prod\n"
	"    user: jdoe/api-paas-cern-ch:6443\n"
	"  name: etl-prod/api-paas-cern-ch:6443/jdoe\n"
	"- context:\n"
	"    cluster: api-paas-stg-cern-ch:6443\n"
	"    namespace: etl-staging\n"
	"    user: jdoe/api-paas-stg-cern-ch:6443\n"
	"  name: etl-staging/api-paas-stg-cern-ch:6443/jdoe\n"
	"- context:\n"
	"    cluster: api-okd-dev-example-org:6443\n"
	"    user: system:admin/api-okd-dev-example-org:6443\n"
	"  name: default/api-okd-dev-example-org:6443/system:admin\n"
	"- context:\n"
	"    cluster: api-okd-dev-example-org:6443\n"
	"    namespace: etl-dev\n"
	"    user: robot\n"
	"  name: robot-dev\n"
	"current-context: etl-prod/api-paas-cern-ch:6443/jdoe\n"
	"kind: Config\n"
	"preferences: {}\n"
	"users:\n"
	"- name: jdoe/api-paas-cern-ch:6443\n"
	"  user:\n"
	"    token: " PROD_TOKEN "\n"
	"- name: jdoe/api-paas-stg-cern-ch:6443\n"
	"  user:\n"
	"    token: \"" STG_TOKEN "\"\n"
	"- name: system:admin/api-okd-dev-example-org:6443\n"
	"  user:\n"
	"    client-certificate-data: " CA_B64 "\n"
	"    client-key-data: " KEY_B64 "\n"
	"- name: robot\n"
	"  user:\n"
	"    tokenFile: secrets/robot.token\n";

static char	tmpdir[64];
static char	err[512];

/* --- helpers ----------------------------------------------------------- */

static void
write_file(const char *rel, const char *data, size_t len)
{
	char	 path[256], *slash;
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	for (slash = strchr(path + strlen(tmpdir) + 1, '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		assert_true(mkdir(path, 0700) == 0 || errno == EEXIST);
		*slash = '/';
	}
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

#define WRITE(rel, s)	write_file((rel), (s), strlen(s))

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
group_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_kubeconfig.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Every test starts with an environment that finds nothing. */
static int
test_setup(void **state)
{
	(void)state;
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv("DRAIN_SERVICEACCOUNT_DIR");
	setenv("HOME", "/nonexistent-home", 1);
	err[0] = '\0';
	return 0;
}

static void
assert_zeroed(const struct kube_creds *c)
{
	struct kube_creds zero;

	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(c, &zero, sizeof(zero));
}

static int
parse(const char *yaml, const char *context, struct kube_creds *c)
{
	return kubeconfig_parse(yaml, strlen(yaml), tmpdir, context, c, err,
	    sizeof(err));
}

/* Parsing must fail with exactly want and leave *c zeroed. */
static void
assert_parse_error(const char *yaml, const char *context, const char *want)
{
	struct kube_creds c;

	memset(&c, 0xa5, sizeof(c));
	assert_int_equal(parse(yaml, context, &c), -1);
	assert_string_equal(err, want);
	assert_null(strchr(err, '\n'));
	assert_zeroed(&c);
}

/* A minimal kubeconfig with context "c" -> cluster "k", user "u". */
static char *
mini(const char *cluster_body, const char *user_body)
{
	char	*s = NULL;
	int	 n;

	n = asprintf(&s,
	    "apiVersion: v1\n"
	    "kind: Config\n"
	    "current-context: c\n"
	    "contexts:\n"
	    "- name: c\n"
	    "  context: {cluster: k, user: u}\n"
	    "clusters:\n"
	    "- name: k\n"
	    "  cluster:\n%s"
	    "users:\n"
	    "- name: u\n"
	    "  user:\n%s", cluster_body, user_body);
	assert_true(n > 0);
	assert_non_null(s);
	return s;
}

#define SERVER	"    server: https://api.paas.cern.ch:6443\n"
#define TOKEN	"    token: " PROD_TOKEN "\n"

static void
mini_error(const char *cluster_body, const char *user_body, const char *want)
{
	char	*y = mini(cluster_body, user_body);

	assert_parse_error(y, NULL, want);
	assert_null(strstr(err, PROD_TOKEN));
	free(y);
}

static void
mini_ok(const char *cluster_body, const char *user_body,
    struct kube_creds *c)
{
	char	*y = mini(cluster_body, user_body);

	if (parse(y, NULL, c) != 0)
		fail_msg("unexpected error: %s", err);
	free(y);
}

/* --- parsing an oc login kubeconfig ------------------------------------ */

static void
test_current_context(void **state)
{
	struct kube_creds c;

	(void)state;
	assert_int_equal(parse(OC_LOGIN, NULL, &c), 0);
	assert_string_equal(c.server, "https://api.paas.cern.ch:6443");
	assert_string_equal(c.namespace, "etl-prod");
	assert_string_equal(c.context, "etl-prod/api-paas-cern-ch:6443/jdoe");
	assert_string_equal(c.token, PROD_TOKEN);
	assert_null(c.ca_file);
	assert_non_null(c.ca_pem);
	assert_int_equal(c.ca_pem_len, strlen(CA_PEM));
	assert_memory_equal(c.ca_pem, CA_PEM, strlen(CA_PEM));
	assert_int_equal(c.insecure, 0);
	assert_null(c.cert_file);
	assert_null(c.cert_pem);
	assert_null(c.key_file);
	assert_null(c.key_pem);
	assert_null(c.source);	/* only kubeconfig_load knows the file */
	kubeconfig_free(&c);
	assert_zeroed(&c);
}

static void
test_context_override(void **state)
{
	struct kube_creds c;

	(void)state;
	assert_int_equal(parse(OC_LOGIN,
	    "etl-staging/api-paas-stg-cern-ch:6443/jdoe", &c), 0);
	/* The trailing '/' oc wrote is gone. */
	assert_string_equal(c.server, "https://api.paas-stg.cern.ch:6443");
	assert_string_equal(c.namespace, "etl-staging");
	assert_string_equal(c.context,
	    "etl-staging/api-paas-stg-cern-ch:6443/jdoe");
	assert_string_equal(c.token, STG_TOKEN);
	assert_int_equal(c.insecure, 1);
	assert_null(c.ca_file);
	assert_null(c.ca_pem);
	kubeconfig_free(&c);
}

static void
test_client_cert_data_and_relative_ca(void **state)
{
	struct kube_creds c;
	char	ca[256];

	(void)state;
	assert_int_equal(parse(OC_LOGIN,
	    "default/api-okd-dev-example-org:6443/system:admin", &c), 0);
	assert_string_equal(c.server, "https://api.okd-dev.example.org:6443");
	assert_null(c.namespace);
	snprintf(ca, sizeof(ca), "%s/certs/okd-ca.crt", tmpdir);
	assert_string_equal(c.ca_file, ca);
	assert_null(c.ca_pem);
	assert_null(c.token);
	assert_null(c.cert_file);
	assert_int_equal(c.cert_pem_len, strlen(CA_PEM));
	assert_memory_equal(c.cert_pem, CA_PEM, strlen(CA_PEM));
	assert_null(c.key_file);
	assert_int_equal(c.key_pem_len, strlen(KEY_PEM));
	assert_memory_equal(c.key_pem, KEY_PEM, strlen(KEY_PEM));
	kubeconfig_free(&c);
}

static void
test_token_file(void **state)
{
	struct kube_creds c;

	(void)state;
	WRITE("secrets/robot.token", "sha256~robot-token-123\n");
	assert_int_equal(parse(OC_LOGIN, "robot-dev", &c), 0);
	assert_string_equal(c.token, "sha256~robot-token-123");
	assert_string_equal(c.namespace, "etl-dev");
	kubeconfig_free(&c);

	WRITE("secrets/robot.token", "sha256~crlf\r\n\r\n");
	assert_int_equal(parse(OC_LOGIN, "robot-dev", &c), 0);
	assert_string_equal(c.token, "sha256~crlf");
	kubeconfig_free(&c);
}

static void
test_token_file_problems(void **state)
{
	char	want[512];

	(void)state;
	snprintf(want, sizeof(want), "%s/secrets/robot.token", tmpdir);
	unlink(want);
	snprintf(want, sizeof(want), "user \"robot\": cannot read tokenFile "
	    "%s/secrets/robot.token: No such file or directory", tmpdir);
	assert_parse_error(OC_LOGIN, "robot-dev", want);

	WRITE("secrets/robot.token", "\n");
	assert_parse_error(OC_LOGIN, "robot-dev",
	    "user \"robot\" has an empty tokenFile");

	/* A token with a newline inside would split the HTTP header. */
	WRITE("secrets/robot.token", "secret-abc\nX-Evil: 1\n");
	assert_parse_error(OC_LOGIN, "robot-dev",
	    "user \"robot\" has an invalid tokenFile (control characters)");
	assert_null(strstr(err, "secret-abc"));
}

static void
test_token_preferred_over_token_file(void **state)
{
	struct kube_creds c;

	(void)state;
	mini_ok(SERVER, TOKEN "    tokenFile: /nonexistent/token\n", &c);
	assert_string_equal(c.token, PROD_TOKEN);
	kubeconfig_free(&c);
}

static void
test_cert_and_key_files(void **state)
{
	struct kube_creds c;

	(void)state;
	mini_ok(SERVER "    certificate-authority: /etc/pki/ca.crt\n",
	    "    client-certificate: ../tls/client.crt\n"
	    "    client-key: /abs/client.key\n", &c);
	assert_string_equal(c.ca_file, "/etc/pki/ca.crt");
	/* made lexically shortest, as client-go's filepath.Join */
	assert_string_equal(c.cert_file, "/tmp/tls/client.crt");
	assert_string_equal(c.key_file, "/abs/client.key");
	assert_null(c.token);
	kubeconfig_free(&c);
}

static void
test_data_overrides_file(void **state)
{
	struct kube_creds c;

	(void)state;
	mini_ok(SERVER "    certificate-authority: ca.crt\n"
	    "    certificate-authority-data: " CA_B64 "\n", TOKEN, &c);
	assert_null(c.ca_file);
	assert_memory_equal(c.ca_pem, CA_PEM, strlen(CA_PEM));
	kubeconfig_free(&c);
}

static void
test_base_dir_null(void **state)
{
	struct kube_creds c;
	char	*y = mini(SERVER "    certificate-authority: ca.crt\n", TOKEN);

	(void)state;
	assert_int_equal(kubeconfig_parse(y, strlen(y), NULL, NULL, &c, err,
	    sizeof(err)), 0);
	assert_string_equal(c.ca_file, "ca.crt");
	kubeconfig_free(&c);
	free(y);
}

static void
test_insecure_values(void **state)
{
	static const struct {
		const char *v;
		int	 want;
	} cases[] = {
		{ "true", 1 }, { "True", 1 }, { "yes", 1 }, { "on", 1 },
		{ "\"true\"", 1 }, { "false", 0 }, { "no", 0 }, { "off", 0 },
		{ "FALSE", 0 }, { "", 0 }, { "null", 0 },
	};
	struct kube_creds c;
	char	cl[256];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(cl, sizeof(cl), SERVER
		    "    insecure-skip-tls-verify: %s\n", cases[i].v);
		mini_ok(cl, TOKEN, &c);
		assert_int_equal(c.insecure, cases[i].want);
		kubeconfig_free(&c);
	}
	mini_error(SERVER "    insecure-skip-tls-verify: maybe\n", TOKEN,
	    "cluster \"k\" has invalid insecure-skip-tls-verify \"maybe\" "
	    "(want true or false)");
	mini_error(SERVER "    insecure-skip-tls-verify: [true]\n", TOKEN,
	    "cluster \"k\" has invalid insecure-skip-tls-verify "
	    "(not a string)");
}

static void
test_server_forms(void **state)
{
	struct kube_creds c;

	(void)state;
	mini_ok("    server: hTTp://127.0.0.1:8001//\n", TOKEN, &c);
	assert_string_equal(c.server, "http://127.0.0.1:8001");
	kubeconfig_free(&c);
	mini_ok("    server: HTTPS://[fd00::1]:6443/k8s/\n", TOKEN, &c);
	assert_string_equal(c.server, "https://[fd00::1]:6443/k8s");
	kubeconfig_free(&c);
}

/* --- what can be wrong ------------------------------------------------- */

static void
test_missing_context(void **state)
{
	(void)state;
	assert_parse_error(OC_LOGIN, "foo", "--context \"foo\" not found "
	    "(contexts: etl-prod/api-paas-cern-ch:6443/jdoe, "
	    "etl-staging/api-paas-stg-cern-ch:6443/jdoe, "
	    "default/api-okd-dev-example-org:6443/system:admin, robot-dev)");
	assert_parse_error("apiVersion: v1\nkind: Config\n"
	    "current-context: gone\ncontexts: []\n", NULL,
	    "current-context \"gone\" not found (no contexts)");
}

static void
test_no_current_context(void **state)
{
	(void)state;
	assert_parse_error("apiVersion: v1\nkind: Config\nclusters: []\n",
	    NULL, "no current-context set and no --context given "
	    "(no contexts)");
	assert_parse_error("current-context: \"\"\ncontexts: [{name: a}, "
	    "{name: b}]\n", NULL, "no current-context set and no --context "
	    "given (contexts: a, b)");
	assert_parse_error("", NULL,
	    "no current-context set and no --context given (no contexts)");
	assert_parse_error("", "x", "--context \"x\" not found (no contexts)");
}

static void
test_missing_cluster_user_server(void **state)
{
	char	*y, *p;

	(void)state;
	y = mini(SERVER, TOKEN);
	assert_non_null(p = strstr(y, "- name: k"));
	p[8] = 'K';
	assert_parse_error(y, NULL, "cluster \"k\" not found");
	free(y);

	y = mini(SERVER, TOKEN);
	assert_non_null(p = strstr(y, "- name: u"));
	p[8] = 'U';
	assert_parse_error(y, NULL, "user \"u\" not found");
	free(y);

	mini_error("    certificate-authority-data: " CA_B64 "\n", TOKEN,
	    "cluster \"k\" has no server");
	mini_error("    server: \"\"\n", TOKEN, "cluster \"k\" has no server");
	assert_parse_error("current-context: c\ncontexts:\n- name: c\n"
	    "  context:\n    user: u\n", NULL,
	    "context \"c\" has no cluster");
}

static void
test_no_user_is_anonymous(void **state)
{
	struct kube_creds c;

	(void)state;
	assert_int_equal(parse("current-context: c\n"
	    "contexts: [{name: c, context: {cluster: k}}]\n"
	    "clusters: [{name: k, cluster: {server: 'https://h:6443'}}]\n",
	    NULL, &c), 0);
	assert_string_equal(c.server, "https://h:6443");
	assert_null(c.token);
	assert_null(c.cert_pem);
	kubeconfig_free(&c);
}

static void
test_bad_server(void **state)
{
	(void)state;
	mini_error("    server: ftp://x\n", TOKEN,
	    "server \"ftp://x\" is not an http(s) URL");
	mini_error("    server: api.paas.cern.ch:6443\n", TOKEN,
	    "server \"api.paas.cern.ch:6443\" is not an http(s) URL");
	mini_error("    server: https://\n", TOKEN,
	    "server \"https://\" is not an http(s) URL");
	mini_error("    server: \"https://a\\nb\"\n", TOKEN,
	    "server \"https://a?b\" is not an http(s) URL");
}

static void
test_bad_yaml(void **state)
{
	(void)state;
	assert_parse_error("apiVersion: v1\nkind: Config\n"
	    "current-context: a: b\n", NULL,
	    "line 3: YAML error: mapping values are not allowed in this "
	    "context");
	assert_parse_error("apiVersion: v1\nclusters:\n- name: x\n"
	    "  cluster: {server: \"https://x\"\n", NULL,
	    "line 5: YAML error: did not find expected ',' or '}'");
	assert_parse_error("apiVersion: v1\nkind: \xff\xfe\n", NULL,
	    "line 2: YAML error: invalid leading UTF-8 octet");
	assert_parse_error("current-context: *nowhere\n", NULL,
	    "line 1: YAML error: found undefined alias");
	assert_parse_error("- a\n- b\n", NULL,
	    "not a kubeconfig (top level is not a mapping)");
	assert_parse_error("current-context: c\ncontexts: {c: 1}\n", NULL,
	    "contexts is not a list");
	assert_parse_error("current-context: [c]\n", NULL,
	    "kubeconfig has invalid current-context (not a string)");
	assert_parse_error("current-context: c\ncontexts:\n- name: c\n"
	    "  context: nope\n", NULL, "context \"c\" is not a mapping");
}

static void
test_bad_base64(void **state)
{
	(void)state;
	mini_error(SERVER, TOKEN
	    "    client-certificate-data: " CA_B64 "\n"
	    "    client-key-data: not*base64\n",
	    "user \"u\" has invalid client-key-data (not base64)");
	mini_error(SERVER "    certificate-authority-data: LS0tLS1=CRUd\n",
	    TOKEN, "cluster \"k\" has invalid certificate-authority-data "
	    "(not base64)");
	mini_error(SERVER "    certificate-authority-data: ' '\n", TOKEN,
	    "cluster \"k\" has empty certificate-authority-data");
}

static void
test_cert_without_key(void **state)
{
	(void)state;
	mini_error(SERVER, "    client-certificate-data: " CA_B64 "\n",
	    "user \"u\" has a client-certificate but no client-key");
	mini_error(SERVER, "    client-key: k.pem\n",
	    "user \"u\" has a client-key but no client-certificate");
}

static void
test_auth_provider_and_basic_rejected(void **state)
{
	(void)state;
	mini_error(SERVER, "    auth-provider:\n      name: oidc\n",
	    "user \"u\" uses an auth-provider credential plugin, which is not "
	    "supported (kubectl dropped it in 1.26); use an exec plugin (e.g. "
	    "kubelogin) or a token (oc login, then oc whoami -t)");
	mini_error(SERVER, "    username: admin\n    password: hunter2\n",
	    "user \"u\" uses basic auth (username/password), which is not "
	    "supported; use a token instead");
	assert_null(strstr(err, "hunter2"));
}

/* --- exec credential plugins ------------------------------------------- */

static void
test_exec_parsed(void **state)
{
	struct kube_creds c;
	struct kube_exec *e;
	char	path[300];

	(void)state;
	mini_ok(SERVER, "    exec:\n"
	    "      apiVersion: client.authentication.k8s.io/v1\n"
	    "      command: oc\n"
	    "      args: [get-token, --issuer-url=https://auth.cern.ch, '']\n"
	    "      env:\n"
	    "      - {name: OIDC_CLIENT, value: dials}\n"
	    "      - {name: EMPTY}\n"
	    "      installHint: install oc from the OKD console\n"
	    "      interactiveMode: Never\n"
	    "      provideClusterInfo: true\n", &c);
	assert_null(c.token);
	assert_null(c.cert_pem);
	assert_string_equal(c.user, "u");
	assert_non_null(e = c.exec);
	assert_string_equal(e->api_version, "client.authentication.k8s.io/v1");
	assert_string_equal(e->command, "oc");
	assert_string_equal(e->argv[0], "oc");
	assert_string_equal(e->argv[1], "get-token");
	assert_string_equal(e->argv[2], "--issuer-url=https://auth.cern.ch");
	assert_string_equal(e->argv[3], "");
	assert_null(e->argv[4]);
	assert_string_equal(e->env[0], "OIDC_CLIENT=dials");
	assert_string_equal(e->env[1], "EMPTY=");
	assert_null(e->env[2]);
	assert_string_equal(e->install_hint, "install oc from the OKD console");
	assert_int_equal(e->mode, KUBE_EXEC_NEVER);
	assert_int_equal(e->provide_cluster_info, 1);
	kubeconfig_free(&c);
	assert_zeroed(&c);

	/* v1beta1: interactiveMode defaults to IfAvailable; no args, no env */
	mini_ok(SERVER, "    exec:\n"
	    "      apiVersion: client.authentication.k8s.io/v1beta1\n"
	    "      command: kubelogin\n", &c);
	assert_non_null(e = c.exec);
	assert_int_equal(e->mode, KUBE_EXEC_IFAVAILABLE);
	assert_int_equal(e->provide_cluster_info, 0);
	assert_string_equal(e->argv[0], "kubelogin");
	assert_null(e->argv[1]);
	assert_null(e->env[0]);
	assert_null(e->install_hint);
	kubeconfig_free(&c);

	mini_ok(SERVER, "    exec:\n"
	    "      apiVersion: client.authentication.k8s.io/v1\n"
	    "      command: kubelogin\n"
	    "      interactiveMode: Always\n", &c);
	assert_int_equal(c.exec->mode, KUBE_EXEC_ALWAYS);
	kubeconfig_free(&c);

	/* a command with a '/' is a path, relative to the kubeconfig's dir */
	mini_ok(SERVER, "    exec:\n"
	    "      apiVersion: client.authentication.k8s.io/v1\n"
	    "      command: ./bin/get-token\n"
	    "      interactiveMode: Never\n", &c);
	snprintf(path, sizeof(path), "%s/bin/get-token", tmpdir);
	assert_string_equal(c.exec->command, path);
	assert_string_equal(c.exec->argv[0], "./bin/get-token");
	kubeconfig_free(&c);
}

static void
test_exec_invalid(void **state)
{
#define V1	"      apiVersion: client.authentication.k8s.io/v1\n"
#define NEVER	"      interactiveMode: Never\n"
	(void)state;
	mini_error(SERVER, "    exec:\n" V1 NEVER,
	    "command must be specified for user \"u\" to use exec "
	    "authentication plugin");
	mini_error(SERVER, "    exec:\n      command: oc\n" NEVER,
	    "apiVersion must be specified for user \"u\" to use exec "
	    "authentication plugin");
	mini_error(SERVER, "    exec:\n      command: oc\n"
	    "      apiVersion: client.authentication.k8s.io/v1alpha1\n",
	    "user \"u\": exec plugin: invalid apiVersion "
	    "\"client.authentication.k8s.io/v1alpha1\" (want "
	    "client.authentication.k8s.io/v1 or "
	    "client.authentication.k8s.io/v1beta1)");
	mini_error(SERVER, "    exec:\n      command: oc\n" V1,
	    "interactiveMode must be specified for user \"u\" to use exec "
	    "authentication plugin");
	mini_error(SERVER, "    exec:\n      command: oc\n" V1
	    "      interactiveMode: Sometimes\n",
	    "invalid interactiveMode for user \"u\": \"Sometimes\" (want "
	    "Never, IfAvailable or Always)");
	mini_error(SERVER, "    exec:\n      command: oc\n" V1 NEVER
	    "      env: [{value: x}]\n",
	    "env variable name must be specified for user \"u\" to use exec "
	    "authentication plugin");
	mini_error(SERVER, "    exec:\n      command: oc\n" V1 NEVER
	    "      env: [{name: A=B, value: x}]\n",
	    "user \"u\" exec has invalid env name (contains '=')");
	mini_error(SERVER, "    exec:\n      command: oc\n" V1 NEVER
	    "      args: get-token\n",
	    "user \"u\" exec has invalid args (not a list)");
	mini_error(SERVER, "    exec:\n      command: oc\n" V1 NEVER
	    "      args: [a, [b]]\n",
	    "user \"u\" exec has invalid args (an entry is not a string)");
	mini_error(SERVER, "    exec:\n      command: oc\n" V1 NEVER
	    "      provideClusterInfo: maybe\n",
	    "user \"u\" exec has invalid provideClusterInfo \"maybe\" (want "
	    "true or false)");
	mini_error(SERVER, "    exec: [oc]\n", "user \"u\" exec is not a mapping");
#undef V1
#undef NEVER
}

static void
test_exec_info(void **state)
{
	struct kube_creds c;
	char	*info;

	(void)state;
	mini_ok(SERVER "    certificate-authority-data: " CA_B64 "\n"
	    "    tls-server-name: api.internal\n"
	    "    proxy-url: socks5://127.0.0.1:1080\n",
	    "    exec:\n"
	    "      apiVersion: client.authentication.k8s.io/v1\n"
	    "      command: oc\n"
	    "      interactiveMode: IfAvailable\n", &c);
	info = kube_exec_info(&c, c.ca_pem, c.ca_pem_len, 1);
	assert_string_equal(info, "{\"kind\":\"ExecCredential\",\"apiVersion\":"
	    "\"client.authentication.k8s.io/v1\",\"spec\":"
	    "{\"interactive\":true}}");
	free(info);
	c.exec->provide_cluster_info = 1;
	info = kube_exec_info(&c, c.ca_pem, c.ca_pem_len, 0);
	assert_string_equal(info, "{\"kind\":\"ExecCredential\",\"apiVersion\":"
	    "\"client.authentication.k8s.io/v1\",\"spec\":"
	    "{\"interactive\":false,\"cluster\":{\"server\":"
	    "\"https://api.paas.cern.ch:6443\",\"tls-server-name\":"
	    "\"api.internal\",\"certificate-authority-data\":\""
	    CA_B64 "\",\"proxy-url\":\"socks5://127.0.0.1:1080\",\"config\":null}}}");
	free(info);
	kubeconfig_free(&c);

	mini_ok("    server: http://localhost:8001\n"
	    "    insecure-skip-tls-verify: true\n",
	    "    exec:\n"
	    "      apiVersion: client.authentication.k8s.io/v1beta1\n"
	    "      command: oc\n"
	    "      provideClusterInfo: yes\n", &c);
	info = kube_exec_info(&c, NULL, 0, 0);
	assert_string_equal(info, "{\"kind\":\"ExecCredential\",\"apiVersion\":"
	    "\"client.authentication.k8s.io/v1beta1\",\"spec\":"
	    "{\"interactive\":false,\"cluster\":{\"server\":"
	    "\"http://localhost:8001\",\"insecure-skip-tls-verify\":true,"
	    "\"config\":null}}}");
	free(info);
	kubeconfig_free(&c);
}

#define EXEC_PCI \
	"    exec:\n" \
	"      apiVersion: client.authentication.k8s.io/v1\n" \
	"      command: oc\n" \
	"      interactiveMode: Never\n" \
	"      provideClusterInfo: true\n"
#define EXT(body) \
	SERVER "    extensions:\n" \
	"    - {name: client.authentication.k8s.io/exec, extension: " body "}\n"

/* The cluster's client.authentication.k8s.io/exec extension, as JSON. */
static void
test_exec_info_extension(void **state)
{
	struct kube_creds c;
	char	*info;

	(void)state;
	mini_ok(SERVER "    extensions:\n"
	    "    - name: client.authentication.k8s.io/exec\n"
	    "      extension: {old: 1}\n"
	    "    - name: other\n"
	    "      extension: {no: 2}\n"
	    "    - name: client.authentication.k8s.io/exec\n"
	    "      extension:\n"
	    "        s: \"0x10\"\n"
	    "        i: 0x10\n"
	    "        o: 0o17\n"
	    "        b: -0b11\n"
	    "        u: 1_000\n"
	    "        f: 2.50\n"
	    "        w: 3.0\n"
	    "        e: 1e3\n"
	    "        yes: on\n"
	    "        z: ~\n"
	    "        d: 2026-11-26\n"
	    "        l: [&x a, *x, {k: [1, 'no']}]\n"
	    "        7: seven\n",
	    EXEC_PCI, &c);
	info = kube_exec_info(&c, NULL, 0, 0);
	assert_string_equal(info, "{\"kind\":\"ExecCredential\",\"apiVersion\":"
	    "\"client.authentication.k8s.io/v1\",\"spec\":"
	    "{\"interactive\":false,\"cluster\":{\"server\":"
	    "\"https://api.paas.cern.ch:6443\",\"config\":{\"s\":\"0x10\","
	    "\"i\":16,\"o\":15,\"b\":-3,\"u\":1000,\"f\":2.5,\"w\":3,"
	    "\"e\":1000,\"true\":true,\"z\":null,\"d\":\"2026-11-26\","
	    "\"l\":[\"a\",\"a\",{\"k\":[1,\"no\"]}],\"7\":\"seven\"}}}}");
	free(info);
	kubeconfig_free(&c);
	/* a scalar extension; null is no extension */
	mini_ok(EXT("just text"), EXEC_PCI, &c);
	info = kube_exec_info(&c, NULL, 0, 0);
	assert_non_null(strstr(info, "\"config\":\"just text\"}"));
	free(info);
	kubeconfig_free(&c);
	mini_ok(EXT("null"), EXEC_PCI, &c);
	assert_null(c.exec->cluster_config);
	kubeconfig_free(&c);
	/* refused only when it is to be sent */
	mini_ok(EXT("{x: .inf}"), "    exec:\n"
	    "      apiVersion: client.authentication.k8s.io/v1\n"
	    "      command: oc\n"
	    "      interactiveMode: Never\n", &c);
	assert_null(c.exec->cluster_config);
	kubeconfig_free(&c);
#define EXT_ERROR(body, want) mini_error(EXT(body), EXEC_PCI, "the " \
	"cluster's client.authentication.k8s.io/exec extension " want)
	EXT_ERROR("{x: .inf}", "has \".inf\", which JSON cannot hold");
	EXT_ERROR("{x: -.Inf}", "has \"-.Inf\", which JSON cannot hold");
	EXT_ERROR("{<<: {a: 1}}", "has \"<<\", which JSON cannot hold");
	EXT_ERROR("{? [a] : b}", "has a key that is not a scalar");
	EXT_ERROR("{~: b}", "has a null key");
	EXT_ERROR("&r [*r]", "is nested too deep or too large (at most 64 "
	    "levels, 10000 values)");
#undef EXT_ERROR
	mini_error(SERVER "    extensions: {a: b}\n", EXEC_PCI,
	    "cluster \"k\" has invalid extensions (not a list)");
	mini_error(SERVER "    extensions: [a]\n", EXEC_PCI,
	    "cluster \"k\" has invalid extensions (an entry is not a mapping)");
}

#define EC_V1	"{\"kind\":\"ExecCredential\",\"apiVersion\":" \
		"\"client.authentication.k8s.io/v1\","

static int
exec_parse(const char *out, struct kube_exec_cred *cred)
{
	return kube_exec_parse(out, strlen(out),
	    "client.authentication.k8s.io/v1", cred, err, sizeof(err));
}

static void
test_exec_cred_token(void **state)
{
	struct kube_exec_cred cred;

	(void)state;
	assert_int_equal(exec_parse(EC_V1 "\"spec\":{},\"status\":{\"token\":"
	    "\"" PROD_TOKEN "\"}}\n", &cred), 0);
	assert_string_equal(cred.token, PROD_TOKEN);
	assert_null(cred.cert_pem);
	assert_null(cred.key_pem);
	assert_true(cred.expires == 0);
	kube_exec_cred_free(&cred);

	assert_int_equal(exec_parse(EC_V1 "\"status\":{\"token\":\"t\","
	    "\"expirationTimestamp\":\"2026-11-26T16:00:00Z\"}}", &cred), 0);
	assert_true(cred.expires == 1795708800.0);
	kube_exec_cred_free(&cred);
	assert_int_equal(exec_parse(EC_V1 "\"status\":{\"token\":\"t\","
	    "\"expirationTimestamp\":\"2026-11-26T17:00:00.5+01:00\"}}",
	    &cred), 0);
	assert_true(cred.expires == 1795708800.5);
	kube_exec_cred_free(&cred);
	assert_int_equal(exec_parse(EC_V1 "\"status\":{\"token\":\"t\","
	    "\"expirationTimestamp\":null}}", &cred), 0);
	assert_true(cred.expires == 0);
	kube_exec_cred_free(&cred);
}

static void
test_exec_cred_cert(void **state)
{
	struct kube_exec_cred cred;
	char	*out;

	(void)state;
	assert_true(asprintf(&out, EC_V1 "\"status\":{"
	    "\"clientCertificateData\":\"%s\",\"clientKeyData\":\"%s\"}}",
	    "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n",
	    "-----BEGIN PRIVATE KEY-----\\nMIGH\\n-----END PRIVATE KEY-----\\n")
	    > 0);
	assert_int_equal(exec_parse(out, &cred), 0);
	free(out);
	assert_null(cred.token);
	assert_string_equal(cred.cert_pem,
	    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
	assert_int_equal(cred.cert_pem_len, strlen(cred.cert_pem));
	assert_string_equal(cred.key_pem,
	    "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n");
	assert_int_equal(cred.key_pem_len, strlen(cred.key_pem));
	kube_exec_cred_free(&cred);
}

static void
exec_error(const char *out, const char *want)
{
	struct kube_exec_cred cred;

	memset(&cred, 0xa5, sizeof(cred));
	assert_int_equal(exec_parse(out, &cred), -1);
	assert_string_equal(err, want);
	assert_null(strstr(err, PROD_TOKEN));
	assert_null(cred.token);
	assert_null(cred.cert_pem);
	assert_null(cred.key_pem);
}

static void
test_exec_cred_invalid(void **state)
{
	(void)state;
	exec_error("token: " PROD_TOKEN "\n", "exec plugin's output is not an "
	    "ExecCredential: not JSON (line 1, column 5)");
	exec_error("{\"status\":{\"token\":\"" PROD_TOKEN "\"", "exec plugin's "
	    "output is not an ExecCredential: not JSON (line 1, column 71)");
	exec_error("", "exec plugin's output is not an ExecCredential: not "
	    "JSON (line 1, column 0)");
	exec_error("[]", "exec plugin's output is not an ExecCredential: not "
	    "a JSON object");
	exec_error("{\"kind\":\"Status\",\"status\":{\"token\":\"" PROD_TOKEN
	    "\"}}", "exec plugin's output is not an ExecCredential: kind is "
	    "\"Status\"");
	exec_error("{\"kind\":\"ExecCredential\",\"apiVersion\":"
	    "\"client.authentication.k8s.io/v1beta1\",\"status\":{\"token\":"
	    "\"" PROD_TOKEN "\"}}", "exec plugin is configured to use API "
	    "version client.authentication.k8s.io/v1, plugin returned version "
	    "\"client.authentication.k8s.io/v1beta1\"");
	exec_error(EC_V1 "\"spec\":{}}",
	    "exec plugin didn't return a status field");
	exec_error(EC_V1 "\"status\":{\"token\":\"\"}}",
	    "exec plugin didn't return a token or cert/key pair");
	exec_error(EC_V1 "\"status\":{\"clientKeyData\":\"k\"}}",
	    "exec plugin returned only certificate or key, not both");
	exec_error(EC_V1 "\"status\":{\"token\":42}}", "exec plugin returned an "
	    "invalid ExecCredential: status.token is not a string");
	exec_error(EC_V1 "\"status\":{\"token\":\"a\\r\\nX-Evil: 1\"}}",
	    "exec plugin returned an invalid token (control characters)");
	exec_error(EC_V1 "\"status\":{\"token\":\"" PROD_TOKEN "\","
	    "\"expirationTimestamp\":\"tomorrow\"}}", "exec plugin returned an "
	    "invalid status.expirationTimestamp \"tomorrow\" (want RFC 3339)");
	exec_error(EC_V1 "\"status\":{\"token\":\"" PROD_TOKEN "\","
	    "\"expirationTimestamp\":\"2026-11-26 16:00:00Z\"}}", "exec plugin "
	    "returned an invalid status.expirationTimestamp \"2026-11-26 "
	    "16:00:00Z\" (want RFC 3339)");
}

/* --- cluster details ----------------------------------------------------- */

static void
test_insecure_with_ca_refused(void **state)
{
	static const char want[] = "cluster \"k\": specifying a root "
	    "certificates file with the insecure flag is not allowed";
	struct kube_creds c;

	(void)state;
	mini_error(SERVER "    insecure-skip-tls-verify: true\n"
	    "    certificate-authority: ca.crt\n", TOKEN, want);
	mini_error(SERVER "    insecure-skip-tls-verify: true\n"
	    "    certificate-authority-data: " CA_B64 "\n", TOKEN, want);
	mini_ok(SERVER "    insecure-skip-tls-verify: false\n"
	    "    certificate-authority: ca.crt\n", TOKEN, &c);
	assert_int_equal(c.insecure, 0);
	kubeconfig_free(&c);
}

static void
test_tls_server_name(void **state)
{
	struct kube_creds c;

	(void)state;
	mini_ok(SERVER "    tls-server-name: kubernetes.default.svc\n", TOKEN,
	    &c);
	assert_string_equal(c.tls_server_name, "kubernetes.default.svc");
	kubeconfig_free(&c);
	mini_error(SERVER "    tls-server-name: \"a b\"\n", TOKEN,
	    "cluster \"k\" has invalid tls-server-name \"a b\" (want a DNS "
	    "name or IP address)");
	mini_error(SERVER "    tls-server-name: host:443\n", TOKEN,
	    "cluster \"k\" has invalid tls-server-name \"host:443\" (want a "
	    "DNS name or IP address)");
}

static void
test_proxy_url(void **state)
{
	static const char *const ok[] = { "http://proxy.cern.ch:8080",
	    "https://proxy.cern.ch", "socks5://127.0.0.1:1080",
	    "http://user:pw@proxy:3128" };
	struct kube_creds c;
	char	 y[128];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(y, sizeof(y), SERVER "    proxy-url: %s\n", ok[i]);
		mini_ok(y, TOKEN, &c);
		assert_string_equal(c.proxy_url, ok[i]);
		kubeconfig_free(&c);
	}
	mini_error(SERVER "    proxy-url: ftp://proxy:21\n", TOKEN,
	    "cluster \"k\" has an invalid proxy-url: unsupported scheme "
	    "\"ftp\", must be http, https, or socks5");
	mini_error(SERVER "    proxy-url: socks4://proxy:1080\n", TOKEN,
	    "cluster \"k\" has an invalid proxy-url: unsupported scheme "
	    "\"socks4\", must be http, https, or socks5");
	mini_error(SERVER "    proxy-url: \"http://\"\n", TOKEN,
	    "cluster \"k\" has an invalid proxy-url (could not parse)");
	/* a password in it is never shown */
	mini_error(SERVER "    proxy-url: \"ftp://u:hunter2@proxy\"\n", TOKEN,
	    "cluster \"k\" has an invalid proxy-url: unsupported scheme "
	    "\"ftp\", must be http, https, or socks5");
	assert_null(strstr(err, "hunter2"));
}

static void
test_exec_with_token_uses_token(void **state)
{
	struct kube_creds c;

	(void)state;
	mini_ok(SERVER, TOKEN "    exec: {command: kubelogin}\n", &c);
	assert_string_equal(c.token, PROD_TOKEN);
	kubeconfig_free(&c);
}

static void
test_token_never_in_errors(void **state)
{
	(void)state;
	mini_error(SERVER, "    token: \"" PROD_TOKEN "\\r\\nX: y\"\n",
	    "user \"u\" has an invalid token (control characters)");
	mini_error(SERVER, TOKEN "    client-key-data: '%%%'\n",
	    "user \"u\" has invalid client-key-data (not base64)");
}

static void
test_names_sanitized(void **state)
{
	(void)state;
	assert_parse_error("contexts: [{name: \"x\\ty\"}]\n", "a\"b\nc",
	    "--context \"a\\\"b?c\" not found (contexts: x?y)");
}

/* --- the loading rules: pure parts ------------------------------------- */

static void
test_paths(void **state)
{
	static const struct {
		const char *flag, *env, *home;
		enum kubeconfig_from from;
		const char *want;	/* the paths, joined by '|' */
	} t[] = {
		{ "/x/kc", "/a:/b", "/h", KUBECONFIG_FROM_FLAG, "/x/kc" },
		{ "rel", NULL, NULL, KUBECONFIG_FROM_FLAG, "rel" },
		{ NULL, "/a:/b", "/h", KUBECONFIG_FROM_ENV, "/a|/b" },
		{ NULL, "/a", NULL, KUBECONFIG_FROM_ENV, "/a" },
		/* empty entries left out, repeats once, order kept */
		{ NULL, "::/b::/a:/b:/a:", "/h", KUBECONFIG_FROM_ENV, "/b|/a" },
		{ NULL, "/a:/a/:./a:a", "/h", KUBECONFIG_FROM_ENV,
		    "/a|/a/|./a|a" },
		{ NULL, ":", "/h", KUBECONFIG_FROM_ENV, "" },
		/* an empty KUBECONFIG counts as unset */
		{ NULL, "", "/h", KUBECONFIG_FROM_HOME, "/h/.kube/config" },
		{ NULL, NULL, "/home/op", KUBECONFIG_FROM_HOME,
		    "/home/op/.kube/config" },
		{ NULL, NULL, "", KUBECONFIG_FROM_HOME, "" },
		{ NULL, NULL, NULL, KUBECONFIG_FROM_HOME, "" },
	};
	enum kubeconfig_from from;
	char	**v, got[256];
	size_t	 i, j;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		from = (enum kubeconfig_from)-1;
		assert_non_null(v = kubeconfig_paths(t[i].flag, t[i].env,
		    t[i].home, &from));
		got[0] = '\0';
		for (j = 0; v[j] != NULL; j++) {
			snprintf(got + strlen(got), sizeof(got) - strlen(got),
			    "%s%s", j ? "|" : "", v[j]);
			free(v[j]);
		}
		free(v);
		if (strcmp(got, t[i].want) != 0 || from != t[i].from)
			fail_msg("case %zu: got \"%s\" from %d, want \"%s\" "
			    "from %d", i, got, from, t[i].want, t[i].from);
	}
}

static void
test_resolve(void **state)
{
	static const struct {
		const char *base, *p, *want;
	} t[] = {
		{ "/k", "ca.crt", "/k/ca.crt" },
		{ "/k/", "./ca.crt", "/k/ca.crt" },
		{ "/k/sub", "../ca.crt", "/k/ca.crt" },
		{ "/k/sub", "../../../../ca.crt", "/ca.crt" },
		{ "/k", "a//b/./c/../d/", "/k/a/b/d" },
		{ "/k", "..", "/" },
		{ "/k", ".", "/k" },
		{ "rel/dir", "../../../x", "../x" },
		{ "rel", "../..", ".." },
		{ ".", "x", "x" },
		{ "./a", "..", "." },
		/* as written: absolute, empty, or no base */
		{ "/k", "/etc/../ca.crt", "/etc/../ca.crt" },
		{ "/k", "", "" },
		{ NULL, "../x", "../x" },
		{ "", "./x", "./x" },
	};
	char	*got;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_non_null(got = kubeconfig_resolve(t[i].base, t[i].p));
		if (strcmp(got, t[i].want) != 0)
			fail_msg("case %zu: %s + %s: got \"%s\", want \"%s\"",
			    i, t[i].base ? t[i].base : "NULL", t[i].p, got,
			    t[i].want);
		free(got);
	}
}

/* Documents for the merge; d(i) is file i ("/f<i>/kc"). */
#define KC_A \
	"contexts:\n" \
	"- {name: ops, context: {cluster: dials, user: op, namespace: a-ns}}\n" \
	"- {name: only-a, context: {cluster: far}}\n" \
	"clusters:\n- {name: far, cluster: {server: https://far}}\n"
#define KC_B \
	"current-context: ops\n" \
	"contexts:\n" \
	"- {name: ops, context: {cluster: decoy, user: decoy, namespace: b}}\n" \
	"- {name: stg, context: {cluster: dials, user: stg}}\n" \
	"clusters:\n" \
	"- {name: dials, cluster: {server: https://dials-b}}\n" \
	"- {name: decoy, cluster: {server: https://decoy}}\n" \
	"users:\n- {name: decoy, user: {token: bad}}\n" \
	"- {name: stg, user: {token: stg-b}}\n"
#define KC_C \
	"current-context: stg\n" \
	"clusters:\n- {name: dials, cluster: {server: https://dials-c}}\n" \
	"users:\n- {name: op, user: {token: good}}\n" \
	"- {name: stg, user: {token: stg-c}}\n"
#define KC_D \
	"current-context: \"\"\n" \
	"users:\n- {name: op, user: {token: last}}\n" \
	"- name: empty\n"

static void
test_merge(void **state)
{
	static const struct {
		const char *docs[4];	/* NULL: fewer */
		const char *context;
		/* want: "context@doc cluster@doc user@doc ns", or the error */
		const char *want;
	} t[] = {
		/* each name from the first file that has it */
		{ { KC_A, KC_B, KC_C, KC_D }, NULL,
		    "ops@0 dials@1 op@2 a-ns" },
		{ { KC_D, KC_A, KC_B, KC_C }, NULL,
		    "ops@1 dials@2 op@0 a-ns" },
		/* current-context: the first file's that sets one */
		{ { KC_C, KC_B }, NULL, "stg@1 dials@0 stg@0 -" },
		{ { KC_D, KC_B, KC_C }, NULL, "ops@1 decoy@1 decoy@1 b" },
		/* --context picks from all of them */
		{ { KC_A, KC_B, KC_C }, "stg", "stg@1 dials@1 stg@1 -" },
		{ { KC_A, KC_B }, "only-a", "only-a@0 far@0 - -" },
		{ { KC_A }, "ops",
		    "kubeconfig /f0/kc: cluster \"dials\" not found" },
		{ { KC_C, KC_A }, NULL, "kubeconfigs /f0/kc, /f1/kc: "
		    "current-context \"stg\" not found (contexts: ops, "
		    "only-a)" },
		{ { KC_A, KC_B, KC_C }, "nope", "kubeconfigs /f0/kc, /f1/kc, "
		    "/f2/kc: --context \"nope\" not found (contexts: ops, "
		    "only-a, stg)" },
		{ { KC_A, KC_D }, NULL, "kubeconfigs /f0/kc, /f1/kc: no "
		    "current-context set and no --context given (contexts: "
		    "ops, only-a)" },
		{ { KC_A, KC_B }, NULL, "kubeconfigs /f0/kc, /f1/kc: user "
		    "\"op\" not found" },
		/* an error in one file's context names that file */
		{ { KC_D, "contexts: [{name: x, context: {cluster: [a]}}]\n" },
		    "x", "kubeconfig /f1/kc: context \"x\" has invalid cluster "
		    "(not a string)" },
		{ { "contexts: [{name: x, context: {user: u}}]\n", KC_B }, "x",
		    "kubeconfig /f0/kc: context \"x\" has no cluster" },
		/* an empty entry still wins over a later one */
		{ { "contexts: [{name: ops}]\n", KC_B }, NULL,
		    "kubeconfig /f0/kc: context \"ops\" has no cluster" },
		{ { KC_D, "current-context: c\ncontexts: [{name: c, context: "
		    "{cluster: k, user: empty}}]\nclusters: [{name: k}]\n" },
		    NULL, "c@1 k@1 empty@0 -" },
	};
	struct kubeconfig_doc *docs[4];
	struct kubeconfig_pick p, zero;
	char	 got[1024], path[32];
	size_t	 i, n;

	(void)state;
	memset(&zero, 0, sizeof(zero));
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (n = 0; n < 4 && t[i].docs[n] != NULL; n++) {
			snprintf(path, sizeof(path), "/f%zu/kc", n);
			docs[n] = kubeconfig_doc_parse(t[i].docs[n],
			    strlen(t[i].docs[n]), path, "/f", err, sizeof(err));
			if (docs[n] == NULL)
				fail_msg("case %zu, doc %zu: %s", i, n, err);
		}
		memset(&p, 0xa5, sizeof(p));
		if (kubeconfig_merge(docs, n, t[i].context, &p, err,
		    sizeof(err)) == 0) {
			snprintf(got, sizeof(got), "%s@%zu %s@%zu ", p.context,
			    p.context_doc, p.cluster, p.cluster_doc);
			if (p.user != NULL)
				snprintf(got + strlen(got), sizeof(got) -
				    strlen(got), "%s@%zu ", p.user, p.user_doc);
			else
				strcat(got, "- ");
			strcat(got, p.namespace ? p.namespace : "-");
		} else {
			snprintf(got, sizeof(got), "%s", err);
			assert_memory_equal(&p, &zero, sizeof(p));
		}
		if (strcmp(got, t[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, got,
			    t[i].want);
		while (n > 0)
			kubeconfig_doc_free(docs[--n]);
	}
	assert_int_equal(kubeconfig_merge(docs, 0, NULL, &p, err,
	    sizeof(err)), -1);
}

/* An error about the merge names the files, at most four. */
static void
test_merge_many_files(void **state)
{
	struct kubeconfig_doc *docs[6];
	struct kubeconfig_pick p;
	char	 path[32];
	size_t	 i;

	(void)state;
	for (i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "/f%zu", i);
		docs[i] = kubeconfig_doc_parse("", 0, path, NULL, err,
		    sizeof(err));
		assert_non_null(docs[i]);
	}
	assert_int_equal(kubeconfig_merge(docs, 6, NULL, &p, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "kubeconfigs /f0, /f1, /f2, /f3, ...: no "
	    "current-context set and no --context given (no contexts)");
	assert_int_equal(kubeconfig_merge(docs, 4, "x", &p, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "kubeconfigs /f0, /f1, /f2, /f3: --context "
	    "\"x\" not found (no contexts)");
	for (i = 0; i < 6; i++)
		kubeconfig_doc_free(docs[i]);
}

/* A file's shape is checked whole when it is read, as kubectl loads it. */
static void
test_doc_shape(void **state)
{
	static const struct {
		const char *yaml, *want;	/* want: NULL if fine */
	} t[] = {
		{ "clusters: [{name: a}, {name: b}, {name: a}]\n",
		    "duplicate name \"a\" in clusters" },
		{ "users: [{name: u, user: {token: t}}, {name: u}]\n",
		    "duplicate name \"u\" in users" },
		{ "contexts: [{context: {}}, {cluster: x}]\n",
		    "duplicate name \"\" in contexts" },
		{ "contexts: [{name: a}, {name: b}]\nusers: [{name: a}]\n",
		    NULL },
		{ "clusters: [x]\n", "an entry of clusters is not a mapping" },
		{ "users: [{name: [u]}]\n", "an entry of users has invalid "
		    "name (not a string)" },
		{ "users: [{name: u, user: tok}]\n",
		    "user \"u\" is not a mapping" },
		{ "clusters: {a: b}\n", "clusters is not a list" },
		{ "current-context: [a]\n", "kubeconfig has invalid "
		    "current-context (not a string)" },
		{ "clusters: ~\ncontexts:\nusers: []\n", NULL },
		{ "- a\n", "not a kubeconfig (top level is not a mapping)" },
		{ "a: [\n", "line 2: YAML error: did not find expected node "
		    "content" },
	};
	struct kubeconfig_doc *d;
	char	 want[256];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		err[0] = '\0';
		d = kubeconfig_doc_parse(t[i].yaml, strlen(t[i].yaml), "/k/kc",
		    NULL, err, sizeof(err));
		snprintf(want, sizeof(want), "kubeconfig /k/kc: %s",
		    t[i].want ? t[i].want : "");
		if (t[i].want == NULL ? d == NULL : d != NULL ||
		    strcmp(err, want) != 0)
			fail_msg("case %zu: got %s \"%s\"", i, d ? "a document" :
			    "NULL", err);
		kubeconfig_doc_free(d);
		/* without a path, errors name no file */
		d = kubeconfig_doc_parse(t[i].yaml, strlen(t[i].yaml), NULL,
		    NULL, err, sizeof(err));
		if (t[i].want != NULL && strcmp(err, t[i].want) != 0)
			fail_msg("case %zu: got \"%s\"", i, err);
		kubeconfig_doc_free(d);
	}
	kubeconfig_doc_free(NULL);
}

/* The credentials of a pick: each entry read from its own file. */
static void
test_creds_from_merge(void **state)
{
	static const char a[] = "current-context: c\n"
	    "contexts: [{name: c, context: {cluster: k, user: u, "
	    "namespace: ns}}]\n"
	    "clusters: [{name: k, cluster: {server: https://k/, "
	    "certificate-authority: ../ca.crt}}]\n";
	static const char b[] = "users:\n- name: u\n  user:\n    exec:\n"
	    "      apiVersion: client.authentication.k8s.io/v1\n"
	    "      command: ./bin/tok\n      interactiveMode: Never\n";
	static const char bad[] = "users: [{name: u, user: {username: x}}]\n";
	static const char a_ext[] = "current-context: c\n"
	    "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
	    "clusters:\n- name: k\n  cluster:\n    server: https://k\n"
	    "    extensions:\n    - name: client.authentication.k8s.io/exec\n"
	    "      extension: {aud: dials, num: &n [1, yes]}\n";
	static const char ext[] = "users:\n- name: other\n- name: u\n  user:\n"
	    "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
	    "      command: tok\n      interactiveMode: Never\n"
	    "      provideClusterInfo: true\n"
	    "      args: [a, b, c, d, e, f, g, h]\n";
	struct kubeconfig_doc *docs[2];
	struct kubeconfig_pick p;
	struct kube_creds c;
	char	*json;

	(void)state;
	docs[0] = kubeconfig_doc_parse(a, strlen(a), "/k/a/kc", "/k/a", err,
	    sizeof(err));
	docs[1] = kubeconfig_doc_parse(b, strlen(b), "/k/b/kc", "/k/b", err,
	    sizeof(err));
	assert_non_null(docs[0]);
	assert_non_null(docs[1]);
	assert_int_equal(kubeconfig_merge(docs, 2, NULL, &p, err, sizeof(err)),
	    0);
	assert_int_equal(kubeconfig_creds(docs, 2, &p, &c, err, sizeof(err)),
	    0);
	assert_string_equal(c.server, "https://k");
	assert_string_equal(c.ca_file, "/k/ca.crt");
	assert_string_equal(c.exec->command, "/k/b/bin/tok");
	assert_string_equal(c.exec->argv[0], "./bin/tok");
	assert_string_equal(c.context, "c");
	assert_string_equal(c.cluster, "k");
	assert_string_equal(c.user, "u");
	assert_string_equal(c.namespace, "ns");
	assert_string_equal(c.source, "kubeconfig /k/a/kc, /k/b/kc");
	kubeconfig_free(&c);
	kubeconfig_doc_free(docs[1]);

	/* the exec plugin's cluster extension is read in the cluster's file */
	docs[1] = kubeconfig_doc_parse(ext, strlen(ext), "/k/b/kc", "/k/b",
	    err, sizeof(err));
	kubeconfig_doc_free(docs[0]);
	docs[0] = kubeconfig_doc_parse(a_ext, strlen(a_ext), "/k/a/kc",
	    "/k/a", err, sizeof(err));
	assert_non_null(docs[0]);
	assert_non_null(docs[1]);
	assert_int_equal(kubeconfig_merge(docs, 2, NULL, &p, err, sizeof(err)),
	    0);
	assert_int_equal(p.user_doc, 1);
	if (kubeconfig_creds(docs, 2, &p, &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_non_null(c.exec);
	json = json_dumps(c.exec->cluster_config, JSON_COMPACT |
	    JSON_SORT_KEYS);
	assert_string_equal(json, "{\"aud\":\"dials\",\"num\":[1,true]}");
	free(json);
	kubeconfig_free(&c);
	kubeconfig_doc_free(docs[1]);

	docs[1] = kubeconfig_doc_parse(bad, strlen(bad), "/k/b/kc", "/k/b",
	    err, sizeof(err));
	assert_int_equal(kubeconfig_merge(docs, 2, NULL, &p, err, sizeof(err)),
	    0);
	assert_int_equal(kubeconfig_creds(docs, 2, &p, &c, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "kubeconfig /k/b/kc: user \"u\" uses basic "
	    "auth (username/password), which is not supported; use a token "
	    "instead");
	assert_zeroed(&c);
	kubeconfig_doc_free(docs[0]);
	kubeconfig_doc_free(docs[1]);
}

/* --- kubeconfig_load ----------------------------------------------------- */

static void
test_load_explicit_path(void **state)
{
	struct kube_creds c;
	char	path[256], want[512];

	(void)state;
	WRITE("oc/config", OC_LOGIN);
	WRITE("oc/certs/okd-ca.crt", CA_PEM);
	snprintf(path, sizeof(path), "%s/oc/config", tmpdir);
	assert_int_equal(kubeconfig_load(path, "robot-dev", &c, err,
	    sizeof(err)), -1);
	snprintf(want, sizeof(want), "kubeconfig %s: user \"robot\": cannot "
	    "read tokenFile %s/oc/secrets/robot.token: No such file or "
	    "directory", path, tmpdir);
	assert_string_equal(err, want);
	assert_zeroed(&c);

	WRITE("oc/secrets/robot.token", "tok\n");
	assert_int_equal(kubeconfig_load(path, "robot-dev", &c, err,
	    sizeof(err)), 0);
	snprintf(want, sizeof(want), "kubeconfig %s", path);
	assert_string_equal(c.source, want);
	assert_string_equal(c.token, "tok");
	snprintf(want, sizeof(want), "%s/oc/certs/okd-ca.crt", tmpdir);
	assert_string_equal(c.ca_file, want);
	kubeconfig_free(&c);
}

static void
test_load_errors_name_file(void **state)
{
	struct kube_creds c;
	char	path[256], want[512];

	(void)state;
	assert_int_equal(kubeconfig_load("/nonexistent/x/config", NULL, &c,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "--kubeconfig /nonexistent/x/config: "
	    "No such file or directory");
	assert_zeroed(&c);
	assert_int_equal(kubeconfig_load("", NULL, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "--kubeconfig is empty: name the kubeconfig "
	    "file");
	assert_zeroed(&c);

	WRITE("bad/config", "apiVersion: v1\nkind: Config\n"
	    "current-context: a: b\n");
	snprintf(path, sizeof(path), "%s/bad/config", tmpdir);
	assert_int_equal(kubeconfig_load(path, NULL, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "kubeconfig %s: line 3: YAML error: "
	    "mapping values are not allowed in this context", path);
	assert_string_equal(err, want);

	assert_int_equal(kubeconfig_load(path, NULL, &c, err, 16), -1);
	assert_int_equal(strlen(err), 15);	/* truncated, terminated */
}

static void
test_load_too_big(void **state)
{
	struct kube_creds c;
	char	path[256], want[512], *big;
	size_t	n = 1024 * 1024 + 1;

	(void)state;
	assert_non_null(big = malloc(n));
	memset(big, '#', n);
	write_file("big/config", big, n);
	free(big);
	snprintf(path, sizeof(path), "%s/big/config", tmpdir);
	assert_int_equal(kubeconfig_load(path, NULL, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "--kubeconfig %s: larger than 1048576 "
	    "bytes", path);
	assert_string_equal(err, want);

	/* Exactly 1 MiB of comments is fine (but names no context). */
	assert_int_equal(truncate(path, 1024 * 1024), 0);
	assert_int_equal(kubeconfig_load(path, NULL, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no current-context set"));
}

static void
test_kubeconfig_env_list(void **state)
{
	struct kube_creds c;
	char	env[512], want[1024];

	(void)state;
	WRITE("env/second", OC_LOGIN);
	snprintf(env, sizeof(env), "/nonexistent/first::%s/env/second:"
	    "%s/env/third:%s/env/second", tmpdir, tmpdir, tmpdir);
	WRITE("env/third", "current-context: nope\n");
	setenv("KUBECONFIG", env, 1);
	assert_int_equal(kubeconfig_load(NULL, NULL, &c, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "kubeconfig %s/env/second", tmpdir);
	assert_string_equal(c.source, want);
	assert_string_equal(c.server, "https://api.paas.cern.ch:6443");
	assert_string_equal(c.token, PROD_TOKEN);
	assert_string_equal(c.context, "etl-prod/api-paas-cern-ch:6443/jdoe");
	assert_string_equal(c.cluster, "api-paas-cern-ch:6443");
	assert_string_equal(c.user, "jdoe/api-paas-cern-ch:6443");
	assert_string_equal(c.namespace, "etl-prod");
	kubeconfig_free(&c);

	/* --context picks from the merged files, and lists their contexts */
	WRITE("env/third", "contexts:\n- name: nope2\n  context: "
	    "{cluster: api-paas-stg-cern-ch:6443}\n");
	assert_int_equal(kubeconfig_load(NULL, "nope2", &c, err,
	    sizeof(err)), 0);
	assert_string_equal(c.server, "https://api.paas-stg.cern.ch:6443");
	assert_null(c.token);
	snprintf(want, sizeof(want), "kubeconfig %s/env/third, %s/env/second",
	    tmpdir, tmpdir);
	assert_string_equal(c.source, want);
	kubeconfig_free(&c);
	assert_int_equal(kubeconfig_load(NULL, "nope", &c, err, sizeof(err)),
	    -1);
	snprintf(want, sizeof(want), "kubeconfigs %s/env/second, %s/env/third: "
	    "--context \"nope\" not found (contexts: "
	    "etl-prod/api-paas-cern-ch:6443/jdoe, "
	    "etl-staging/api-paas-stg-cern-ch:6443/jdoe, "
	    "default/api-okd-dev-example-org:6443/system:admin, robot-dev, "
	    "nope2)", tmpdir, tmpdir);
	assert_string_equal(err, want);
	assert_zeroed(&c);

	/* a file that cannot be read or parsed fails the whole list */
	snprintf(env, sizeof(env), "%s/env/second:%s/env", tmpdir, tmpdir);
	setenv("KUBECONFIG", env, 1);
	assert_int_equal(kubeconfig_load(NULL, NULL, &c, err, sizeof(err)),
	    -1);
	snprintf(want, sizeof(want), "kubeconfig %s/env: not a regular file",
	    tmpdir);
	assert_string_equal(err, want);
	WRITE("env/broken", "users: {a: b}\n");
	snprintf(env, sizeof(env), "%s/env/second:%s/env/broken", tmpdir,
	    tmpdir);
	setenv("KUBECONFIG", env, 1);
	assert_int_equal(kubeconfig_load(NULL, NULL, &c, err, sizeof(err)),
	    -1);
	snprintf(want, sizeof(want), "kubeconfig %s/env/broken: users is not "
	    "a list", tmpdir);
	assert_string_equal(err, want);
	assert_zeroed(&c);
}

/* Relative paths resolve against the file that defined the entry. */
static void
test_kubeconfig_env_relative_paths(void **state)
{
	struct kube_creds c;
	char	env[512], want[512];

	(void)state;
	WRITE("rel/a/kc", "current-context: ctx\n"
	    "contexts: [{name: ctx, context: {cluster: k, user: u}}]\n"
	    "clusters:\n- name: k\n  cluster:\n"
	    "    server: https://k:6443\n"
	    "    certificate-authority: ../ca/./ca.crt\n");
	WRITE("rel/b/kc", "users:\n- name: u\n  user:\n"
	    "    tokenFile: tok\n    client-certificate: c.crt\n"
	    "    client-key: /abs/c.key\n"
	    "clusters:\n- name: k\n  cluster: {server: https://other}\n");
	WRITE("rel/b/tok", "tok-from-b\n");
	snprintf(env, sizeof(env), "%s/rel/a/kc:%s/rel/b/kc", tmpdir, tmpdir);
	setenv("KUBECONFIG", env, 1);
	assert_int_equal(kubeconfig_load(NULL, NULL, &c, err, sizeof(err)), 0);
	assert_string_equal(c.server, "https://k:6443");
	snprintf(want, sizeof(want), "%s/rel/ca/ca.crt", tmpdir);
	assert_string_equal(c.ca_file, want);
	assert_string_equal(c.token, "tok-from-b");
	snprintf(want, sizeof(want), "%s/rel/b/c.crt", tmpdir);
	assert_string_equal(c.cert_file, want);
	assert_string_equal(c.key_file, "/abs/c.key");
	kubeconfig_free(&c);

	/* an error in the user names the user's file */
	WRITE("rel/b/kc", "users:\n- name: u\n  user:\n    tokenFile: nope\n");
	assert_int_equal(kubeconfig_load(NULL, NULL, &c, err, sizeof(err)),
	    -1);
	snprintf(want, sizeof(want), "kubeconfig %s/rel/b/kc: user \"u\": "
	    "cannot read tokenFile %s/rel/b/nope: No such file or directory",
	    tmpdir, tmpdir);
	assert_string_equal(err, want);

	/* --kubeconfig with a relative name: relative to the working dir */
	assert_int_equal(chdir(tmpdir), 0);
	assert_int_equal(kubeconfig_load("rel/a/kc", NULL, &c, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "kubeconfig rel/a/kc: user \"u\" not found");
	WRITE("rel/a/kc2", "current-context: ctx\n"
	    "contexts: [{name: ctx, context: {cluster: k}}]\n"
	    "clusters:\n- name: k\n  cluster:\n"
	    "    server: https://k:6443\n"
	    "    certificate-authority: ../ca.crt\n");
	assert_int_equal(kubeconfig_load("rel/a/kc2", NULL, &c, err,
	    sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/rel/ca.crt", tmpdir);
	assert_string_equal(c.ca_file, want);
	assert_string_equal(c.source, "kubeconfig rel/a/kc2");
	kubeconfig_free(&c);
	assert_int_equal(chdir("/"), 0);
}

static void
test_home_kube_config(void **state)
{
	struct kube_creds c;
	char	home[256], want[512];

	(void)state;
	WRITE("home/.kube/config", OC_LOGIN);
	snprintf(home, sizeof(home), "%s/home", tmpdir);
	setenv("HOME", home, 1);
	/* A pod environment does not matter when a kubeconfig exists. */
	setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
	assert_int_equal(kubeconfig_load(NULL,
	    "etl-staging/api-paas-stg-cern-ch:6443/jdoe", &c, err,
	    sizeof(err)), 0);
	snprintf(want, sizeof(want), "kubeconfig %s/.kube/config", home);
	assert_string_equal(c.source, want);
	assert_string_equal(c.namespace, "etl-staging");
	kubeconfig_free(&c);

	/* KUBECONFIG set: never ~/.kube/config, even when none exists */
	setenv("KUBECONFIG", "/nonexistent/a::/nonexistent/b", 1);
	assert_int_equal(kubeconfig_load(NULL, NULL, &c, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "KUBECONFIG=/nonexistent/a::/nonexistent/b: "
	    "none of its files exists; fix KUBECONFIG or use --kubeconfig");
	assert_zeroed(&c);
	setenv("KUBECONFIG", ":", 1);
	assert_int_equal(kubeconfig_load(NULL, NULL, &c, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "KUBECONFIG=:: none of its files exists; "
	    "fix KUBECONFIG or use --kubeconfig");
	/* an empty KUBECONFIG counts as unset */
	setenv("KUBECONFIG", "", 1);
	assert_int_equal(kubeconfig_load(NULL, NULL, &c, err, sizeof(err)), 0);
	kubeconfig_free(&c);
}

static void
test_nothing_found(void **state)
{
	struct kube_creds c;
	struct passwd *pw = getpwuid(getuid());
	struct stat st;
	char	want[1024];

	(void)state;
	assert_int_equal(kubeconfig_load(NULL, NULL, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "no kubeconfig found: KUBECONFIG is not set "
	    "and /nonexistent-home/.kube/config does not exist; not running "
	    "in a pod either; use --kubeconfig, set KUBECONFIG, or log in "
	    "with 'oc login'");
	assert_zeroed(&c);

	/* HOME unset (a systemd unit): said so; the passwd home is tried */
	unsetenv("HOME");
	assert_non_null(pw);
	snprintf(want, sizeof(want), "%s/.kube/config", pw->pw_dir);
	if (stat(want, &st) == 0)
		skip();		/* this machine's user has a kubeconfig */
	assert_int_equal(kubeconfig_load(NULL, NULL, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "no kubeconfig found: KUBECONFIG and HOME "
	    "are not set, and %s/.kube/config (the home directory of the "
	    "password database) does not exist; not running in a pod "
	    "either; use --kubeconfig, set KUBECONFIG (a systemd unit has no "
	    "HOME without User=), or log in with 'oc login'", pw->pw_dir);
	assert_string_equal(err, want);
	assert_zeroed(&c);
}

/* --- in-cluster -------------------------------------------------------- */

static void
sa_env(const char *host, const char *port)
{
	char	dir[256];

	snprintf(dir, sizeof(dir), "%s/sa", tmpdir);
	setenv("DRAIN_SERVICEACCOUNT_DIR", dir, 1);
	setenv("KUBERNETES_SERVICE_HOST", host, 1);
	setenv("KUBERNETES_SERVICE_PORT", port, 1);
}

static void
test_in_cluster(void **state)
{
	struct kube_creds c;
	char	want[256];

	(void)state;
	WRITE("sa/token", "eyJhbGciOiJSUzI1NiJ9.sa-token.sig");
	WRITE("sa/ca.crt", CA_PEM);
	WRITE("sa/namespace", "etl-prod\n");
	sa_env("172.30.0.1", "443");
	assert_int_equal(kubeconfig_load(NULL, NULL, &c, err, sizeof(err)), 0);
	assert_string_equal(c.server, "https://172.30.0.1:443");
	assert_string_equal(c.token, "eyJhbGciOiJSUzI1NiJ9.sa-token.sig");
	snprintf(want, sizeof(want), "%s/sa/ca.crt", tmpdir);
	assert_string_equal(c.ca_file, want);
	assert_null(c.ca_pem);
	assert_string_equal(c.namespace, "etl-prod");
	assert_null(c.context);
	assert_int_equal(c.insecure, 0);
	assert_string_equal(c.source, "in-cluster service account");
	kubeconfig_free(&c);

	sa_env("fd02::1", "6443");
	assert_int_equal(kubeconfig_load(NULL, NULL, &c, err, sizeof(err)), 0);
	assert_string_equal(c.server, "https://[fd02::1]:6443");
	kubeconfig_free(&c);
}

static void
test_in_cluster_problems(void **state)
{
	struct kube_creds c;
	char	want[512];

	(void)state;
	WRITE("sa/token", "sa-token\n");
	sa_env("172.30.0.1", "https");
	assert_int_equal(kubeconfig_load(NULL, NULL, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "in-cluster service account: "
	    "KUBERNETES_SERVICE_PORT is not a port number");
	assert_zeroed(&c);

	sa_env("172.30.0.1", "443");
	unsetenv("KUBERNETES_SERVICE_PORT");
	assert_int_equal(kubeconfig_load(NULL, NULL, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "KUBERNETES_SERVICE_PORT"));

	sa_env("172.30.0.1", "443");
	assert_int_equal(kubeconfig_load(NULL, "prod", &c, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "--context \"prod\" given but no kubeconfig "
	    "found: KUBECONFIG is not set and /nonexistent-home/.kube/config "
	    "does not exist");

	/* KUBECONFIG set but none of its files: an error, not in-cluster */
	setenv("KUBECONFIG", "/nonexistent/kc", 1);
	assert_int_equal(kubeconfig_load(NULL, NULL, &c, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "KUBECONFIG=/nonexistent/kc: none of its "
	    "files exists; fix KUBECONFIG or use --kubeconfig");
	unsetenv("KUBECONFIG");

	/* No namespace or CA file: both optional. */
	snprintf(want, sizeof(want), "%s/sa/namespace", tmpdir);
	unlink(want);
	snprintf(want, sizeof(want), "%s/sa/ca.crt", tmpdir);
	unlink(want);
	assert_int_equal(kubeconfig_load(NULL, NULL, &c, err, sizeof(err)), 0);
	assert_null(c.namespace);
	assert_null(c.ca_file);
	assert_string_equal(c.token, "sa-token");
	kubeconfig_free(&c);

	snprintf(want, sizeof(want), "%s/sa/token", tmpdir);
	unlink(want);
	assert_int_equal(kubeconfig_load(NULL, NULL, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "in-cluster service account: cannot "
	    "read %s/sa/token: No such file or directory", tmpdir);
	assert_string_equal(err, want);
	assert_zeroed(&c);
}

static void
test_free_zeroed(void **state)
{
	struct kube_creds c;

	(void)state;
	memset(&c, 0, sizeof(c));
	kubeconfig_free(&c);
	kubeconfig_free(NULL);
	assert_zeroed(&c);
}

#define T(f)	cmocka_unit_test_setup(f, test_setup)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_current_context),
		T(test_context_override),
		T(test_client_cert_data_and_relative_ca),
		T(test_token_file),
		T(test_token_file_problems),
		T(test_token_preferred_over_token_file),
		T(test_cert_and_key_files),
		T(test_data_overrides_file),
		T(test_base_dir_null),
		T(test_insecure_values),
		T(test_server_forms),
		T(test_missing_context),
		T(test_no_current_context),
		T(test_missing_cluster_user_server),
		T(test_no_user_is_anonymous),
		T(test_bad_server),
		T(test_bad_yaml),
		T(test_bad_base64),
		T(test_cert_without_key),
		T(test_auth_provider_and_basic_rejected),
		T(test_exec_parsed),
		T(test_exec_invalid),
		T(test_exec_info),
		T(test_exec_info_extension),
		T(test_exec_cred_token),
		T(test_exec_cred_cert),
		T(test_exec_cred_invalid),
		T(test_insecure_with_ca_refused),
		T(test_tls_server_name),
		T(test_proxy_url),
		T(test_exec_with_token_uses_token),
		T(test_token_never_in_errors),
		T(test_names_sanitized),
		T(test_paths),
		T(test_resolve),
		T(test_merge),
		T(test_merge_many_files),
		T(test_doc_shape),
		T(test_creds_from_merge),
		T(test_load_explicit_path),
		T(test_load_errors_name_file),
		T(test_load_too_big),
		T(test_kubeconfig_env_list),
		T(test_kubeconfig_env_relative_paths),
		T(test_home_kube_config),
		T(test_nothing_found),
		T(test_in_cluster),
		T(test_in_cluster_problems),
		T(test_free_zeroed),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
