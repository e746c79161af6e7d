# SPDX-License-Identifier: GPL-2.0
#
# nft-jit: `make` builds the user-mode helper, `make check` runs every
# test (unit tests, then the differential tests against the kernel's
# nf_tables interpreter), `make demo` shows it working.

CC		?= gcc
CFLAGS		?= -O2 -g
CFLAGS		+= -Wall -Wextra -Wno-unused-parameter -Wmissing-prototypes \
		   -D_GNU_SOURCE -std=gnu11
CPPFLAGS	+= -Iumh -Iinclude/uapi -DNFTJ_VERSION=\"0.1\"
LIBS		:= -lnftables -lnftnl -lmnl -lbpf -lpcap -ljansson

UMH_LIB_SRCS	:= $(filter-out umh/main.c umh/cmd_%.c,$(wildcard umh/*.c)) \
		   $(wildcard umh/cg/*.c)
UMH_LIB_OBJS	:= $(UMH_LIB_SRCS:.c=.o)
UMH_CLI_OBJS	:= umh/main.o $(patsubst %.c,%.o,$(wildcard umh/cmd_*.c))
UNIT_OBJS	:= $(patsubst %.c,%.o,$(wildcard tests/unit/*.c))
GOLDEN_OBJS	:= $(patsubst %.c,%.o,$(wildcard tests/golden/*.c))

PREFIX		?= /usr/local
# `make install` (binary, man pages, systemd unit) and `make uninstall`:
# DESTDIR, PREFIX, SBINDIR, MANDIR, SYSTEMDUNITDIR; MAN_GZIP=1 installs
# the man pages gzipped.  The unit goes where systemd looks: its own
# directory (pkg-config systemd) for PREFIX=/usr, else under PREFIX.
SBINDIR		?= $(PREFIX)/sbin
MANDIR		?= $(PREFIX)/share/man
ifeq ($(PREFIX),/usr)
SYSTEMDUNITDIR	?= $(or $(shell pkg-config --variable=systemdsystemunitdir systemd \
			    2>/dev/null),/lib/systemd/system)
else
SYSTEMDUNITDIR	?= $(PREFIX)/lib/systemd/system
endif
MAN_GZIP	?=
MAN_PAGES	:= $(wildcard man/*.8)
SYSTEMD_UNIT	:= dist/nft-jit.service

all: umh/nft-jit

umh/libnftjit.a: $(UMH_LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

umh/nft-jit: $(UMH_CLI_OBJS) umh/libnftjit.a
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

tests/unit/unit-tests: $(UNIT_OBJS) umh/libnftjit.a
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

# golden tests of the IMR passes (tests/golden/README.md): no root needed
tests/golden/golden: $(GOLDEN_OBJS) umh/libnftjit.a
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS) -ldl

%.o: %.c $(wildcard umh/*.h umh/cg/*.h include/uapi/linux/netfilter/*.h \
		     tests/unit/*.h tests/golden/*.h)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The fuzzer (tests/fuzz/README.md): the umh library and the harness
# built with clang, libFuzzer, AddressSanitizer and UBSan in build/fuzz/.
# `make fuzz` hunts for FUZZ_TIME seconds with FUZZ_JOBS processes;
# make check runs tests/fuzz/run.sh, bounded.  `make fuzz-seeds` (root)
# captures tests/fuzz/seeds/ again from tests/rulesets and examples.
FUZZ_CC		?= clang
FUZZ_TIME	?= 1800
FUZZ_JOBS	?= 1
FUZZ_DIR	:= build/fuzz
FUZZ_CFLAGS	= $(filter-out -O%,$(CFLAGS)) -O1 -fno-omit-frame-pointer \
		  -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_LIB_OBJS	:= $(patsubst umh/%.c,$(FUZZ_DIR)/umh/%.o,$(UMH_LIB_SRCS))
FUZZ_OBJS	:= $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%.o,\
		   $(filter-out tests/fuzz/capture.c,$(wildcard tests/fuzz/*.c)))

$(FUZZ_DIR)/umh/%.o: umh/%.c $(wildcard umh/*.h umh/cg/*.h include/uapi/linux/netfilter/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/%.o: tests/fuzz/%.c tests/fuzz/fuzz.h $(wildcard umh/*.h umh/cg/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/libnftjit.a: $(FUZZ_LIB_OBJS)
	$(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz-ruleset: $(FUZZ_OBJS) $(FUZZ_DIR)/libnftjit.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS) -ldl

# the seed capture tool: the normal build, not sanitized
$(FUZZ_DIR)/capture: tests/fuzz/capture.c umh/libnftjit.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $^ $(LIBS)

fuzz-build: $(FUZZ_DIR)/fuzz-ruleset

fuzz:
	tools/install-deps
	tests/fuzz/run.sh --time $(FUZZ_TIME) --jobs $(FUZZ_JOBS) --keep-going \
		--corpus $(FUZZ_DIR)/corpus

fuzz-seeds:
	tools/install-deps
	tests/fuzz/make-seeds

.PHONY: fuzz fuzz-build fuzz-seeds

# The README's test command: installs what it needs, builds, runs all.
check:
	tools/install-deps
	$(MAKE) all tests/unit/unit-tests tests/golden/golden
	tools/run-checks

unit: tests/unit/unit-tests
	tests/unit/unit-tests

golden: tests/golden/golden
	tests/golden/golden

diff: all
	python3 tests/diff/run.py --nft-jit umh/nft-jit

# Benchmarks (docs/benchmarks.md, tools/bench/): tools/bench/run.py runs
# the link target's differential tests first, then the interpreter
# against the link program on the same hook.  Not part of `make check`.  BENCH_QUICK=1:
# the reduced run (under two minutes) into build/bench/; BENCH_NOTE: a
# remark for the report (e.g. that the machine was shared).
BENCH_QUICK	:=
BENCH_OUT	:= $(if $(BENCH_QUICK),build/bench,docs)
BENCH_NOTE	:=

bench:
	tools/install-deps --bench
	$(MAKE) all
	python3 tools/bench/run.py $(if $(BENCH_QUICK),--quick) \
		--out $(BENCH_OUT) $(if $(BENCH_NOTE),--note "$(BENCH_NOTE)")

# The same cases on the kernel target, in the VM (tools/vm-test): the
# interpreter against nf_tables running the attached program, as ratios
# (QEMU emulates the CPU).  Results: docs/benchmarks-vm.{md,json} (a quick
# run: build/bench-vm/).
bench-vm:
	tools/install-deps --bench
	$(MAKE) all
	tools/vm-test --out build/bench-vm --timeout 5400 -- \
		python3 tools/bench/run.py --target kernel $(if $(BENCH_QUICK),--quick) \
		--out build/bench-vm --name benchmarks-vm \
		$(if $(BENCH_NOTE),--note "$(BENCH_NOTE)")
	$(if $(BENCH_QUICK),,cp build/bench-vm/benchmarks-vm.md build/bench-vm/benchmarks-vm.json docs/)
	$(if $(BENCH_QUICK),,-cp build/bench-vm/benchmarks-vm.png docs/)

# The README's main command.
demo:
	tools/install-deps
	$(MAKE) all
	tools/demo

deps:
	tools/install-deps

install: all
	install -D -m 0755 umh/nft-jit $(DESTDIR)$(SBINDIR)/nft-jit
	install -d $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSTEMDUNITDIR)
ifeq ($(MAN_GZIP),)
	install -m 0644 $(MAN_PAGES) $(DESTDIR)$(MANDIR)/man8/
else
	set -e; for p in $(MAN_PAGES); do \
		gzip -9nc $$p >$(DESTDIR)$(MANDIR)/man8/$${p##*/}.gz; \
		chmod 0644 $(DESTDIR)$(MANDIR)/man8/$${p##*/}.gz; \
	done
endif
	sed 's|@SBINDIR@|$(SBINDIR)|g' $(SYSTEMD_UNIT) \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/$(notdir $(SYSTEMD_UNIT))
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$(notdir $(SYSTEMD_UNIT))

# Removes what `make install` installs (the man pages gzipped or not), given
# the same variables; directories stay.  Stop and disable the service first.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/nft-jit
	rm -f $(foreach p,$(notdir $(MAN_PAGES)),\
		$(DESTDIR)$(MANDIR)/man8/$(p) $(DESTDIR)$(MANDIR)/man8/$(p).gz)
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/$(notdir $(SYSTEMD_UNIT))
	@if [ -z "$(DESTDIR)" ] && [ -L /etc/systemd/system/multi-user.target.wants/$(notdir $(SYSTEMD_UNIT)) ]; then \
		echo "note: $(notdir $(SYSTEMD_UNIT)) is still enabled: systemctl disable --now $(notdir $(SYSTEMD_UNIT))"; \
	fi

.PHONY: uninstall

# The kernel part (tools/kbuild/README.md): nf_tables.ko and the modules
# that must be rebuilt with it, for Debian's 6.1 kernel, in build/kmod/.
# NFTJ_KMOD_EXTRA="nft_ct nft_chain_nat" (default) or "deps" picks them.
kmod:
	tools/kbuild/build

kmod-clean:
	tools/kbuild/build clean

.PHONY: kmod kmod-clean

# The QEMU harness (tools/vm/README.md): Debian's 6.1 kernel with the
# host's / as its root. `make vm-run CMD='...'` runs CMD there (exit status
# passed through; VM_OPTS='--modules DIR -v ...' for tools/vm/run);
# `make vm-shell` is an interactive root shell in the VM.
CMD		:= uname -a; nft --version
VM_OPTS		:=

vm-run:
	tools/vm/run $(VM_OPTS) -- sh -c '$(subst ','\'',$(CMD))'

vm-shell:
	tools/vm/run --timeout 3600 $(VM_OPTS) -i

# The kernel's netfilter selftests (linux-source-6.1) in the VM, with the
# stock modules and with build/kmod's; the results must match
# (docs/kernel-selftests.md). NF_SELFTESTS_OPTS='--quick ...' for the script.
NF_SELFTESTS_OPTS :=

vm-nf-selftests: kmod
	tools/vm/nf-selftests $(NF_SELFTESTS_OPTS)

.PHONY: vm-nf-selftests

# Build umh/nft-jit and the patched modules, boot the VM with them and run
# the nft_jit kselftests, or TEST='command' (tools/vm-test).
TEST		:=

vm-test:
	tools/vm-test $(if $(TEST),-- sh -c '$(subst ','\'',$(TEST))')

kselftest: vm-test

clean:
	rm -f umh/*.o umh/cg/*.o umh/*.a umh/nft-jit tests/unit/*.o \
		tests/unit/unit-tests tests/golden/*.o tests/golden/golden
	rm -rf $(FUZZ_DIR)

.PHONY: all check unit golden diff demo deps install clean vm-run vm-shell vm-test kselftest bench-vm \
	bench
