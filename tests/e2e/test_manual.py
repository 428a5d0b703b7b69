"""The manual page as a reader sees it: rendered by mandoc, with no macro
that swallowed the words after it (a stray "-word" where an mdoc flag macro
ran on) and no quote opened inside another (a quoting macro that ran on)."""
import os
import re
import subprocess

from world import AGENT, ROOT

PAGE = os.path.join(ROOT, "agent", "drain-and-rollout.1")

# flags of other programs the page quotes: systemctl enable --now,
# journalctl -u and -p, Flower --read-only, kubectl config view --minify --raw,
# celery worker -Q, oc set triggers --manual and --auto
OTHER_PROGRAMS = {"--now", "-u", "-p", "--read-only", "--minify", "--raw", "-Q",
                  "--manual", "--auto"}

DASH_WORD = re.compile(r"(?<![\w/.=\[-])(--?[A-Za-z][A-Za-z0-9-]*)")


def rendered():
    out = subprocess.run(["mandoc", "-Tutf8", PAGE], check=True,
                         capture_output=True, text=True).stdout
    return re.sub(r".\x08", "", out)	# overstrike (bold, underline) off


def test_mandoc_finds_no_error_or_warning():
    r = subprocess.run(["mandoc", "-Tlint", "-Wwarning", PAGE],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_dash_word_is_an_option_of_the_program():
    help_text = subprocess.run([AGENT, "--help"], capture_output=True,
                               text=True).stdout
    options = set(DASH_WORD.findall(help_text))
    assert "--drain-timeout" in options, help_text
    stray = []
    for n, line in enumerate(rendered().splitlines(), 1):
        for word in DASH_WORD.findall(line):
            if word not in options and word not in OTHER_PROGRAMS:
                stray.append("%d: %s: %s" % (n, word, line.strip()))
    assert not stray, "\n".join(stray)


def test_quotes_are_balanced_and_never_nested():
    text = rendered()
    problems = []
    for pair in ("\u2018\u2019", "\u201c\u201d"):
        depth = 0
        for n, line in enumerate(text.splitlines(), 1):
            for ch in line:
                if ch == pair[0]:
                    depth += 1
                    if depth > 1:
                        problems.append("%d: nested %s: %s" % (n, pair, line.strip()))
                elif ch == pair[1]:
                    depth -= 1
                    if depth < 0:
                        problems.append("%d: unopened %s: %s" % (n, pair, line.strip()))
                        depth = 0
        if depth:
            problems.append("%s left open at the end" % pair)
    assert not problems, "\n".join(problems)
