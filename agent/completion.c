/*
 * completion.c -- --completion bash|zsh: the shell script, from opt_table;
 * see opt_completion() in include/options.h.
 */
#include <stdio.h>
#include <string.h>

#include "options.h"

/* What the deployments are listed with: the words typed for these. */
static const char *const conn[] = {
	"kubeconfig", "context", "namespace", "request-timeout", "config",
	"insecure-skip-tls-verify",
};

static int
is_conn(const struct opt_def *d)
{
	size_t	i;

	for (i = 0; i < sizeof conn / sizeof conn[0]; i++)
		if (strcmp(d->name, conn[i]) == 0)
			return 1;
	return 0;
}

/* Every option's words ("--namespace -n"), those with a value only (arg). */
static void
words(FILE *f, int arg, int only_conn)
{
	size_t	i;
	const struct opt_def *d;
	const char *sep = "";

	for (i = 0; i < opt_count; i++) {
		d = &opt_table[i];
		if (d->name == NULL || (d->help == NULL &&
		    d->kind != OPT_COMMAND) || (arg && d->arg == NULL) ||
		    (only_conn && !is_conn(d)) ||
		    strcmp(d->name, "complete-deployments") == 0)
			continue;
		fprintf(f, "%s--%s", sep, d->name);
		sep = " ";
		if (d->short_name)
			fprintf(f, " -%c", d->short_name);
	}
}

/* The case arms completing a choice's values; pattern as the shell's. */
static void
choice_arms(FILE *f, const char *indent, const char *close)
{
	size_t	i;
	const struct opt_def *d;
	const char *c;

	for (i = 0; i < opt_count; i++) {
		d = &opt_table[i];
		if (d->name == NULL || d->choices == NULL)
			continue;
		fprintf(f, "%s%s--%s", indent, close[0] == ')' ? "" : "(",
		    d->name);
		if (d->short_name)
			fprintf(f, "|-%c", d->short_name);
		fprintf(f, ") vals='");
		for (c = d->choices; *c; c++)
			fputc(*c == '|' ? ' ' : *c, f);
		fprintf(f, "';;\n");
	}
}

static void
bash(FILE *f)
{
	fputs("# bash completion for drain-and-rollout(1), also as the kubectl\n"
	    "# plugin: source <(drain-and-rollout --completion bash)\n"
	    "_drain_and_rollout() {\n"
	    "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=\n"
	    "\tlocal vals= i w args=()\n"
	    "\t((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	    "\tCOMPREPLY=()\n"
	    "\tcase $prev in\n", f);
	choice_arms(f, "\t", ")");
	fputs("\tesac\n"
	    "\tif [[ -n $vals ]]; then\n"
	    "\t\tCOMPREPLY=($(compgen -W \"$vals\" -- \"$cur\"))\n"
	    "\t\treturn\n"
	    "\tfi\n"
	    "\tcase \" ", f);
	words(f, 1, 0);
	fputs(" \" in\n"
	    "\t*\" $prev \"*)\n"
	    "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	    "\t\treturn;;\n"
	    "\tesac\n"
	    "\tif [[ $cur == -* ]]; then\n"
	    "\t\tCOMPREPLY=($(compgen -W \"", f);
	words(f, 0, 0);
	fputs("\" -- \"$cur\"))\n"
	    "\t\treturn\n"
	    "\tfi\n"
	    "\t# the Deployments, listed as the words typed so far say: from\n"
	    "\t# the line itself, since COMP_WORDS splits --context=a/b:443 at\n"
	    "\t# = and :\n"
	    "\tlocal -a line=(\"${COMP_WORDS[@]:0:COMP_CWORD}\")\n"
	    "\tif [[ -n ${COMP_LINE-} ]]; then\n"
	    "\t\tread -ra line <<< \"${COMP_LINE:0:COMP_POINT}\"\n"
	    "\t\t[[ ${COMP_LINE:0:COMP_POINT} == *[[:space:]] ]] || "
	    "unset 'line[${#line[@]}-1]'\n"
	    "\tfi\n"
	    "\tfor ((i = 1; i < ${#line[@]}; i++)); do\n"
	    "\t\tw=${line[i]}\n"
	    "\t\tcase \" ", f);
	words(f, 1, 1);
	fputs(" \" in\n"
	    "\t\t*\" $w \"*)\n"
	    "\t\t\targs+=(\"$w\" \"${line[i+1]}\")\n"
	    "\t\t\t((i++))\n"
	    "\t\t\tcontinue;;\n"
	    "\t\tesac\n"
	    "\t\tcase $w in\n"
	    "\t\t--kubeconfig=*|--context=*|--namespace=*|-n?*|"
	    "--request-timeout=*|--config=*|--insecure-skip-tls-verify)\n"
	    "\t\t\targs+=(\"$w\");;\n"
	    "\t\tesac\n"
	    "\tdone\n"
	    "\tCOMPREPLY=($(compgen -W \"$(\"${COMP_WORDS[0]}\" -q "
	    "--complete-deployments \"${args[@]}\" 2>/dev/null </dev/null)\" "
	    "-- \"$cur\" 2>/dev/null))\n"
	    "}\n"
	    "complete -F _drain_and_rollout drain-and-rollout "
	    "kubectl-drain_and_rollout\n", f);
}

static void
zsh(FILE *f)
{
	fputs("#compdef drain-and-rollout kubectl-drain_and_rollout\n"
	    "# zsh completion for drain-and-rollout(1), also as the kubectl\n"
	    "# plugin: source <(drain-and-rollout --completion zsh)\n"
	    "_drain_and_rollout() {\n"
	    "\tlocal vals= i w\n"
	    "\tlocal -a args names\n"
	    "\tcase $words[CURRENT-1] in\n", f);
	choice_arms(f, "\t", "(");
	fputs("\tesac\n"
	    "\tif [[ -n $vals ]]; then\n"
	    "\t\tcompadd -- ${=vals}\n"
	    "\t\treturn\n"
	    "\tfi\n"
	    "\tif [[ \" ", f);
	words(f, 1, 0);
	fputs(" \" == *\" $words[CURRENT-1] \"* ]]; then\n"
	    "\t\t_files\n"
	    "\t\treturn\n"
	    "\tfi\n"
	    "\tif [[ $PREFIX == -* ]]; then\n"
	    "\t\tcompadd -- ", f);
	words(f, 0, 0);
	fputs("\n"
	    "\t\treturn\n"
	    "\tfi\n"
	    "\tfor ((i = 2; i < CURRENT; i++)); do\n"
	    "\t\tw=$words[i]\n"
	    "\t\tif [[ \" ", f);
	words(f, 1, 1);
	fputs(" \" == *\" $w \"* ]]; then\n"
	    "\t\t\targs+=($w $words[i+1])\n"
	    "\t\t\t((i++))\n"
	    "\t\telif [[ $w == (--kubeconfig=*|--context=*|--namespace=*|-n?*|"
	    "--request-timeout=*|--config=*|--insecure-skip-tls-verify) ]]; then\n"
	    "\t\t\targs+=($w)\n"
	    "\t\tfi\n"
	    "\tdone\n"
	    "\tnames=(${(f)\"$($words[1] -q --complete-deployments $args "
	    "2>/dev/null </dev/null)\"})\n"
	    "\tcompadd -- $names\n"
	    "}\n"
	    "compdef _drain_and_rollout drain-and-rollout "
	    "kubectl-drain_and_rollout\n", f);
}

void
opt_completion(FILE *f, const char *shell)
{
	if (strcmp(shell, "zsh") == 0)
		zsh(f);
	else
		bash(f);
}
