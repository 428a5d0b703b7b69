# drain-and-rollout -- build, test, install.
#
#   make                 build ./drain-and-rollout and the systemd services
#   make units-systemd   only the services, build/systemd/*.service, from
#                        systemd/drain-and-rollout.service.in
#   make check           unit tests (cmocka)
#   make test            the whole suite: unit + end-to-end (tests/run)
#   make test-sanitize   the whole suite with ASan+UBSan
#   make test-valgrind   an end-to-end run under valgrind memcheck
#   make fuzz            libFuzzer targets, FUZZ_SECONDS each
#   make bench           benchmarks (tests/bench), not part of the tests
#   make demo            a full drain-and-rollout in a local demo world
#   make install         PREFIX=/usr/local DESTDIR= (also the kubectl/oc
#                        plugin kubectl-drain_and_rollout, a link)

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR	?= $(PREFIX)/lib/systemd/system

CC	?= cc
VERSION	= 1.0.0
PKGS	= libcurl jansson yaml-0.1 hiredis libcrypto
CFLAGS	?= -O2 -g
ALL_CFLAGS = $(CFLAGS) -std=c11 -D_GNU_SOURCE -DVERSION=\"$(VERSION)\" -Wall -Wextra -Werror -Wno-format-truncation -Iinclude \
	   $(shell pkg-config --cflags $(PKGS))
LDLIBS	+= $(shell pkg-config --libs $(PKGS)) -lev -lm
BUILD	?= build

SRCS	= $(wildcard agent/*.c)
LIBSRCS	= $(filter-out agent/main.c,$(SRCS))
OBJS	= $(LIBSRCS:agent/%.c=$(BUILD)/%.o)
UNITS	= $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(wildcard tests/unit/test_*.c))

BIN	?= drain-and-rollout

# the three services, from one template (systemd/gen-unit.sh says how)
SYSTEMD_SERVICES = $(patsubst %,$(BUILD)/systemd/%.service,\
	drain-and-rollout@ drain-and-rollout-statefulset@ drain-and-rollout-all)

all: $(BIN) units-systemd

$(BIN): $(BUILD)/main.o $(BUILD)/libdrain.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libdrain.a: $(OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.o: agent/%.c $(wildcard include/*.h agent/*.h) | $(BUILD)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/unit/%: tests/unit/%.c $(BUILD)/libdrain.a $(wildcard include/*.h) | $(BUILD)
	@mkdir -p $(BUILD)/unit
	$(CC) $(ALL_CFLAGS) -DFIXTURES=\"$(CURDIR)/../shared/fixtures\" -Itests/unit \
	    $(LDFLAGS) -o $@ $< $(BUILD)/libdrain.a $(LDLIBS) -lcmocka

$(BUILD):
	@mkdir -p $(BUILD)

units-systemd: $(SYSTEMD_SERVICES)

$(BUILD)/systemd/%.service: systemd/drain-and-rollout.service.in systemd/gen-unit.sh
	@mkdir -p $(BUILD)/systemd
	sh systemd/gen-unit.sh $@

units: $(UNITS)

check: $(UNITS)
	tests/run --unit-only

test: drain-and-rollout $(UNITS)
	tests/run

test-sanitize:
	$(MAKE) BUILD=build-san BIN=build-san/drain-and-rollout \
	    CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    LDFLAGS="-fsanitize=address,undefined" build-san/drain-and-rollout units
	DRAIN_BIN=$(CURDIR)/build-san/drain-and-rollout BUILD=build-san \
	    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    tests/run --sanitize

test-valgrind: drain-and-rollout units
	tests/run --valgrind

demo: drain-and-rollout
	tests/demo.sh

fuzz:
	tests/fuzz/run.sh

bench: drain-and-rollout
	/usr/bin/python3 tests/bench/bench.py

# kubectl-drain_and_rollout: `kubectl drain-and-rollout` and `oc
# drain-and-rollout` run it as a plugin (a relative link, true in DESTDIR)
install: $(BIN) units-systemd
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/drain-and-rollout
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/drain-and-rollout
	ln -sf drain-and-rollout $(DESTDIR)$(BINDIR)/kubectl-drain_and_rollout
	install -m 644 agent/drain-and-rollout.1 $(DESTDIR)$(MANDIR)/man1/
	for u in $(SYSTEMD_SERVICES) $(wildcard systemd/*.service systemd/*.timer); do \
	    sed 's|/usr/local/bin/drain-and-rollout|$(BINDIR)/drain-and-rollout|' $$u \
	        > $(DESTDIR)$(UNITDIR)/$${u##*/} && chmod 644 $(DESTDIR)$(UNITDIR)/$${u##*/} || exit 1; \
	done
	install -m 640 systemd/drain-and-rollout.conf.example \
	    $(DESTDIR)$(SYSCONFDIR)/drain-and-rollout/drain-and-rollout.conf.example

clean:
	rm -rf build build-san build-fuzz drain-and-rollout

.PHONY: all units units-systemd check test test-sanitize test-valgrind bench install clean fuzz demo
