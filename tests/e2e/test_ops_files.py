"""The operations files: the manual, the systemd units and the example
configuration agree with the program and with the tools that check them.

    /usr/bin/python3 -m pytest tests/e2e/test_ops_files.py

Needs mandoc and systemd-analyze (apt packages mandoc, systemd); a test that
needs a missing tool fails and says which.
"""
import os
import re
import shutil
import subprocess

import pytest

# module-scoped fixtures: its tests run on one pytest-xdist worker, in file order
pytestmark = pytest.mark.xdist_group("ops_files")

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BIN = os.environ.get("DRAIN_BIN", os.path.join(ROOT, "drain-and-rollout"))
MAN = os.path.join(ROOT, "agent", "drain-and-rollout.1")
UNITS = os.path.join(ROOT, "systemd")
CONF = os.path.join(UNITS, "drain-and-rollout.conf.example")
UNIT_FILES = ["drain-and-rollout@.service", "drain-and-rollout@.timer",
              "drain-and-rollout-statefulset@.service", "drain-and-rollout-statefulset@.timer",
              "drain-and-rollout-all.service", "drain-and-rollout-all.timer"]
SERVICES = ["drain-and-rollout@.service", "drain-and-rollout-statefulset@.service",
            "drain-and-rollout-all.service"]
INSTALLED_BIN = "/usr/local/bin/drain-and-rollout"  # ExecStart= in the units
MAX_EXPOSURE = 2.0

# Manuals of other packages named in SEE ALSO. mandoc -Tlint notes (STYLE)
# when one is not installed on the machine running it; that is about the
# machine, not the page.
FOREIGN_MANUALS = {("oc", "1"), ("kubectl", "1"), ("celery", "1"),
                   ("systemd.exec", "5"), ("systemd.timer", "5")}


def need(tool):
    path = shutil.which(tool)
    if path is None:
        pytest.fail("%s is not installed (apt-get install %s; tests/install-deps does)" % (
            tool, {"mandoc": "mandoc", "systemd-analyze": "systemd"}.get(tool, tool)))
    return path


def need_bin():
    if not os.access(BIN, os.X_OK):
        pytest.fail("%s is not built (run make)" % BIN)
    return BIN


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def man_section(name):
    """The mdoc source of section .Sh NAME, up to the next .Sh."""
    m = re.search(r"^\.Sh %s\n(.*?)(?=^\.Sh |\Z)" % re.escape(name), read(MAN),
                  re.M | re.S)
    assert m, "the manual has no %s section" % name
    return m.group(1)


def help_text():
    p = subprocess.run([need_bin(), "--help"], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout


def help_options():
    text = help_text()
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*[a-z])", text)) | \
        set(re.findall(r"(?<![\w-])(-[a-z])[ ,]", text))


def man_option_items():
    """Options the OPTIONS section describes: the flags of its .It lines."""
    opts = set()
    for line in man_section("OPTIONS").splitlines():
        if line.startswith(".It "):
            for flag in re.findall(r"\bFl (-?-?[a-z][a-z-]*)", line):
                opts.add("-" + flag)
    return opts


def man_flags():
    """Every flag the manual mentions anywhere (.Fl -name)."""
    return {"-" + f for f in re.findall(r"\bFl (-?-?[a-z][a-z-]*)", read(MAN))}


def code_longopts():
    src = read(os.path.join(ROOT, "agent", "options.c"))
    table = src[src.index("opt_table[] = {"):]
    table = table[:table.index("\n};")]
    return {"--" + n for n in re.findall(r'\{\s*"([a-z][a-z-]*)"', table)}


def code_env_vars():
    """The DRAIN_* variables the program reads (string literals in agent/)."""
    names = set()
    for f in os.listdir(os.path.join(ROOT, "agent")):
        if f.endswith(".c"):
            names |= set(re.findall(r'"(DRAIN_[A-Z_]+)"',
                                    read(os.path.join(ROOT, "agent", f))))
    return names


# ---- the manual --------------------------------------------------------


def test_man_lint_clean():
    need("mandoc")
    p = subprocess.run(["mandoc", "-Tlint", MAN], capture_output=True,
                       text=True, timeout=60)
    lines = (p.stdout + p.stderr).splitlines()
    left = []
    for line in lines:
        m = re.search(r"STYLE: referenced manual not found: Xr (\S+) (\S+)$", line)
        if m and (m.group(1), m.group(2)) in FOREIGN_MANUALS:
            continue
        m = re.search(r"outdated mandoc\.db lacks (\S+)\((\S+)\) entry", line)
        if m and (m.group(1), m.group(2)) in FOREIGN_MANUALS:
            continue
        left.append(line)
    assert left == [], "mandoc -Tlint:\n" + "\n".join(left)


def test_man_renders():
    need("mandoc")
    p = subprocess.run(["mandoc", "-Tascii", MAN], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    text = re.sub(r".\x08", "", p.stdout)     # overstrike bold and underline
    for sh in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "ENVIRONMENT",
               "FILES", "EXIT STATUS", "EXAMPLES", "SECURITY", "SEE ALSO"):
        assert re.search(r"^%s$" % sh, text, re.M), "no section " + sh


def test_help_options_in_man():
    missing = sorted(help_options() - man_flags())
    assert missing == [], "in --help, not in the manual: %s" % missing


def test_man_options_in_help():
    extra = man_option_items() - help_options()
    assert sorted(extra) == [], "in the manual's OPTIONS, not in --help: %s" % sorted(extra)


def test_help_lists_every_option():
    assert code_longopts() <= help_options()


def test_code_options_in_man():
    missing = sorted(code_longopts() - man_option_items())
    assert missing == [], "in options.c's option table, not in the manual: %s" % missing


def test_man_documents_every_variable():
    env = man_section("ENVIRONMENT")
    text = re.sub(r"\s+", " ", env)
    missing = sorted(v for v in code_env_vars() if v not in text)
    assert missing == [], "variables missing from ENVIRONMENT: %s" % missing


def test_man_exit_statuses():
    items = re.findall(r"^\.It (\d+)$", man_section("EXIT STATUS"), re.M)
    assert items == [str(i) for i in range(10)]
    src = read(os.path.join(ROOT, "agent", "fsm.c"))
    codes = {int(c) for c in re.findall(r"return (\d+);", src)}
    assert codes <= set(range(10))


def test_man_synopsis_has_every_form():
    syn = man_section("SYNOPSIS")
    for form in (r"^\.Fl l Ar selector$", r"^\.Fl -status$", r"^\.Fl -recover$",
                 r"^\.Fl -undrain$", r"^\.Ar deployment \.\.\.$"):
        assert re.search(form, syn, re.M), form


# ---- the systemd units --------------------------------------------------


@pytest.fixture(scope="module")
def unit_dir(tmp_path_factory):
    """The units as systemd would load them, with the instances
    drain-and-rollout@ecal-bulk.{service,timer} and
    drain-and-rollout-statefulset@airflow-worker.{service,timer} as symlinks to
    the templates.
    ExecStart= is pointed at the built binary when it is not installed, so
    that verify checks the units, not this machine's /usr/local."""
    d = tmp_path_factory.mktemp("units")
    for f in UNIT_FILES:
        text = read(os.path.join(UNITS, f))
        if not os.access(INSTALLED_BIN, os.X_OK):
            text = text.replace(INSTALLED_BIN, need_bin())
        (d / f).write_text(text)
    os.symlink("drain-and-rollout@.service", d / "drain-and-rollout@ecal-bulk.service")
    os.symlink("drain-and-rollout@.timer", d / "drain-and-rollout@ecal-bulk.timer")
    for t in ("service", "timer"):
        os.symlink("drain-and-rollout-statefulset@." + t,
                   d / ("drain-and-rollout-statefulset@airflow-worker." + t))
    man1 = d / "man" / "man1"
    man1.mkdir(parents=True)
    shutil.copy(MAN, man1)
    return d


def test_units_verify(unit_dir):
    need("systemd-analyze")
    names = ["drain-and-rollout@ecal-bulk.service", "drain-and-rollout@ecal-bulk.timer",
             "drain-and-rollout-statefulset@airflow-worker.service",
             "drain-and-rollout-statefulset@airflow-worker.timer",
             "drain-and-rollout-all.service", "drain-and-rollout-all.timer"]
    env = dict(os.environ, MANPATH=str(unit_dir / "man"), SYSTEMD_LOG_LEVEL="info")
    p = subprocess.run(["systemd-analyze", "verify"] + ["./" + n for n in names],
                       cwd=unit_dir, capture_output=True, text=True, env=env,
                       timeout=120)
    out = (p.stdout + p.stderr).strip()
    # unknown keys and bad values are only warnings: no output is the bar
    assert p.returncode == 0 and out == "", "systemd-analyze verify:\n" + out


@pytest.mark.parametrize("unit", ["drain-and-rollout@ecal-bulk.service",
                                  "drain-and-rollout-statefulset@airflow-worker.service",
                                  "drain-and-rollout-all.service"])
def test_units_exposure(unit_dir, unit):
    need("systemd-analyze")
    p = subprocess.run(["systemd-analyze", "security", "--offline=yes", "./" + unit],
                       cwd=unit_dir, capture_output=True, text=True, timeout=120)
    m = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", p.stdout)
    assert m, "no exposure level:\n" + p.stdout + p.stderr
    score = float(m.group(1))
    print("%s: exposure %.1f" % (unit, score))
    assert score <= MAX_EXPOSURE, p.stdout


def unit_settings(name):
    settings = {}
    for line in read(os.path.join(UNITS, name)).splitlines():
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            k, v = line.split("=", 1)
            settings.setdefault(k.strip(), []).append(v.strip())
    return settings


@pytest.mark.parametrize("unit", SERVICES)
def test_units_secrets_are_credentials(unit):
    s = unit_settings(unit)
    creds = {v.split(":", 1)[0] for v in s.get("LoadCredential", [])}
    assert creds == {"flower-password", "redis-password", "kubeconfig"}
    env = s.get("Environment", [])
    for e in ("DRAIN_FLOWER_PASSWORD_FILE=%d/flower-password",
              "DRAIN_REDIS_PASSWORD_FILE=%d/redis-password",
              "KUBECONFIG=%d/kubeconfig"):
        assert e in env
    assert s["EnvironmentFile"] == ["-/etc/drain-and-rollout/drain-and-rollout.conf"]
    assert not any("password" in a for a in s["ExecStart"][0].split()[1:])


def test_statefulset_unit_names_the_statefulset():
    """A unit instance name cannot hold statefulset/NAME's "/": the
    StatefulSet template puts the type in front of %i itself, and is the
    Deployment template in every other setting."""
    need("systemd-analyze")
    dep, sts = unit_settings("drain-and-rollout@.service"), \
        unit_settings("drain-and-rollout-statefulset@.service")
    assert dep["ExecStart"] == [INSTALLED_BIN + " %i"]
    assert sts["ExecStart"] == [INSTALLED_BIN + " statefulset/%i"]
    # its own metrics file: no Deployment name has a "."
    assert sts["Environment"][-1] == "DRAIN_METRICS_FILE=%S/drain-and-rollout/statefulset.%i.prom"
    assert dep["Environment"][-1] == "DRAIN_METRICS_FILE=%S/drain-and-rollout/%i.prom"
    same = lambda s: {k: v for k, v in s.items() if k not in ("ExecStart", "Description")} | \
        {"Environment": s["Environment"][:-1]}
    assert same(sts) == same(dep)
    # its timer starts the same-named instance of it, as the Deployment's does
    tim = lambda n: re.sub(r"^#.*\n", "", read(os.path.join(UNITS, n)), flags=re.M)
    assert tim("drain-and-rollout-statefulset@.timer").replace("StatefulSet", "Deployment") \
        == tim("drain-and-rollout@.timer")


# ---- installation ---------------------------------------------------------


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    need("make")
    need_bin()
    dest = tmp_path_factory.mktemp("destdir")
    # -o: install the binary as built; never rebuild it here (a sanitizer
    # build may be the one under test)
    p = subprocess.run(["make", "-C", ROOT, "-o", "drain-and-rollout", "install",
                        "DESTDIR=%s" % dest, "PREFIX=/usr"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return dest


def test_make_install(installed):
    for f in ["usr/bin/drain-and-rollout",
              "usr/share/man/man1/drain-and-rollout.1",
              "etc/drain-and-rollout/drain-and-rollout.conf.example"] + \
             ["usr/lib/systemd/system/" + u for u in UNIT_FILES]:
        assert (installed / f).is_file(), f + " not installed"
    assert os.access(installed / "usr/bin/drain-and-rollout", os.X_OK)


def test_installed_units_run_installed_binary(installed):
    for u in SERVICES:
        text = (installed / "usr/lib/systemd/system" / u).read_text()
        assert re.search(r"^ExecStart=/usr/bin/drain-and-rollout\b", text, re.M), u


# ---- the example configuration ----------------------------------------------


def test_example_config_has_every_variable():
    main = set(re.findall(r'"(DRAIN_[A-Z_]+)"', read(os.path.join(ROOT, "agent", "options.c"))))
    assert main, "no DRAIN_ variable found in options.c"
    conf = read(CONF)
    missing = sorted(v for v in main | code_env_vars()
                     if not re.search(r"^#?%s=" % v, conf, re.M))
    assert missing == [], "not in %s: %s" % (os.path.basename(CONF), missing)


def test_example_config_loads(tmp_path):
    """Every line uncommented is a configuration the program accepts."""
    conf = re.sub(r"^#((?:DRAIN_[A-Z_]+|KUBECONFIG)=)", r"\1", read(CONF), flags=re.M)
    f = tmp_path / "all.conf"
    f.write_text(conf)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRAIN_")}
    p = subprocess.run([need_bin(), "--config", str(f), "--version"], env=env,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    p = subprocess.run([need_bin(), "--config", CONF, "--version"], env=env,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
