# SPDX-License-Identifier: GPL-2.0
#
# bbml2-lab: configs -> kernel build -> initramfs -> LAVA/QEMU boots -> results
#
#   make                  build, boot every BBML2 mode under QEMU through LAVA,
#                         write results/<run>/ and print a summary
#   make check            the test suite: runner unit tests, then the kselftests
#                         in every mode (2 and 8 GiB) and the debug kernel
#   make kselftest        build the kselftests and run them in MODES x MEM
#   make kselftest-bundle tarball of the suite for a board running the series
#   make series-check     build every prefix of kernel/series, checkpatch it
#   make bench            benchmarks in MODES under QEMU (or a board), report
#   make bench-sweep      linear-map cost against RAM (1-16 GiB), then a report
#   make report RUNS=...  one page comparing runs (modes, kernels, boards, nights)
#   make deps             install what is needed (Debian packages only)
#
# Variables: CONFIG=qemu|debug|bench (kernel build), MODES, MEM, CPUS (boots),
# KERNEL_SRC=/path/to/linux (use your own tree as it is), TEST_CONFIG=
# (build without the kselftest config fragment), JOBS.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:

TOP := $(CURDIR)
BUILD ?= $(TOP)/build
RESULTS ?= $(TOP)/results
PY := /usr/bin/python3
JOBS ?= $(shell echo $$(( $$(nproc) + 1 )))
CROSS_COMPILE ?= aarch64-linux-gnu-
KMAKE_ARGS := ARCH=arm64 CROSS_COMPILE="ccache $(CROSS_COMPILE)"
export CCACHE_DIR ?= $(BUILD)/ccache
export CCACHE_MAXSIZE ?= 5G
# ccache keys hold paths under BUILD relative to the object directory, so
# a tree copied to another BUILD with the same layout (linux/, kernel-*/:
# the mutation check's BUILD/mutation, a fresh clone) hits the cache
# instead of building cold. Side effect: __FILE__ in WARN()/BUG() output
# reads "../linux/arch/..." instead of "arch/...".
export CCACHE_BASEDIR ?= $(abspath $(BUILD))

CONFIG ?= qemu

# --- dependencies -----------------------------------------------------------

DEPS_STAMP := $(BUILD)/deps/ok
BUSYBOX := $(BUILD)/busybox-arm64/bin/busybox

.PHONY: deps
deps: $(DEPS_STAMP)
$(DEPS_STAMP): scripts/deps.sh
	scripts/deps.sh $(BUILD)
	touch $@

# --- kernel source: Debian's linux-source-6.12 + kernel/series --------------

SERIES_FILES := kernel/series $(wildcard kernel/patches/*.patch) kernel/base.conf kernel/prepare.sh
ifdef KERNEL_SRC
KSRC := $(abspath $(KERNEL_SRC))
KSRC_STAMP := $(KSRC)/Makefile
else
KSRC := $(BUILD)/linux
KSRC_STAMP := $(KSRC)/.bbml2-lab-tree
$(KSRC_STAMP): $(SERIES_FILES) | $(DEPS_STAMP)
	kernel/prepare.sh $(BUILD) >/dev/null
endif

# CONFIG=mainline (issue 19): Debian's linux-source-7.3 as it is, no series,
# fetched by kernel/fetch-mainline.sh (pinned in kernel/mainline.conf,
# private apt state, the .deb kept in BUILD/mainline/debs) into
# BUILD/linux-mainline. BUILD/mainline/source.env records what was built.
MAINLINE_SRC := $(BUILD)/linux-mainline
MAINLINE_STAMP := $(BUILD)/mainline/source.env
ifeq ($(CONFIG),mainline)
ifndef KERNEL_SRC
KSRC := $(MAINLINE_SRC)
KSRC_STAMP := $(MAINLINE_STAMP)
$(KSRC_STAMP): kernel/mainline.conf kernel/fetch-mainline.sh | $(DEPS_STAMP)
	kernel/fetch-mainline.sh $(BUILD) >/dev/null
endif
endif

# --- kernel build: one out-of-tree O= directory per config ------------------

TEST_CONFIG ?= selftests/arm64/bbml2/config
FRAGMENTS_qemu := configs/qemu.config $(TEST_CONFIG)
FRAGMENTS_debug := $(FRAGMENTS_qemu) configs/debug.config
FRAGMENTS_bench := $(FRAGMENTS_qemu) configs/bench.config
FRAGMENTS_board := configs/qemu.config configs/board.config $(TEST_CONFIG)
FRAGMENTS_plain := configs/qemu.config configs/plain.config
FRAGMENTS_mainline := configs/qemu.config $(TEST_CONFIG) configs/mainline.config
# make kernel-matrix: CONFIG=matrix-<name> is the qemu kernel plus
# configs/matrix/<name>.config (kernel/matrix.py drives them).
MATRIX_ALL := $(sort $(basename $(notdir $(wildcard configs/matrix/*.config))))
MATRIX_CONFIGS := $(addprefix matrix-,$(MATRIX_ALL))
$(foreach m,$(MATRIX_ALL),$(eval FRAGMENTS_matrix-$(m) := $(FRAGMENTS_qemu) configs/matrix/$(m).config))
FRAGMENTS = $(FRAGMENTS_$(1))
ifeq ($(FRAGMENTS_$(CONFIG)),)
$(error CONFIG=$(CONFIG) is not a kernel config; use qemu, debug, bench, board, plain, mainline or matrix-<name>)
endif

KOUT = $(BUILD)/kernel-$(1)
KIMAGE = $(call KOUT,$(1))/arch/arm64/boot/Image
# The kernel's make arguments per config: KMAKE_ARGS unless a config has its
# own (LLVM=1 takes no "ccache" in CROSS_COMPILE: clang's --target comes
# from it), and the environment of its kselftest build.
KMAKE_ARGS_matrix-llvm := ARCH=arm64 LLVM=1 CC="ccache clang"
KST_ENV_matrix-llvm := LLVM=1
KMAKE_FOR = $(or $(KMAKE_ARGS_$(1)),$(KMAKE_ARGS))

# kernel_rules,CONFIG: .config from allnoconfig + fragments, checked; then
# Image + modules. The kernel's make only runs when an input changed.
define kernel_rules
$(call KOUT,$(1))/.config: $(call FRAGMENTS,$(1)) kernel/check-config.sh $(KSRC_STAMP)
	@echo "kernel: configuring $(1) ($(call FRAGMENTS,$(1)))"
	mkdir -p $(call KOUT,$(1))
	$(MAKE) -s -C $(KSRC) O=$(call KOUT,$(1)) $(call KMAKE_FOR,$(1)) allnoconfig
	$(KSRC)/scripts/kconfig/merge_config.sh -m -O $(call KOUT,$(1)) \
		$(call KOUT,$(1))/.config $(call FRAGMENTS,$(1)) >/dev/null
	$(MAKE) -s -C $(KSRC) O=$(call KOUT,$(1)) $(call KMAKE_FOR,$(1)) olddefconfig
	kernel/check-config.sh $$@ $(call FRAGMENTS,$(1)) || { mv $$@ $$@.rejected; exit 1; }

$(call KIMAGE,$(1)): $(call KOUT,$(1))/.config $(KSRC_STAMP)
	@echo "kernel: building $(1) in $(call KOUT,$(1)) (a first build takes about 6 minutes)"
	$(MAKE) -C $(KSRC) O=$(call KOUT,$(1)) $(call KMAKE_FOR,$(1)) -j$(JOBS) Image modules \
		> $(call KOUT,$(1))/build.log 2>&1 || { tail -40 $(call KOUT,$(1))/build.log; \
		$(if $(filter mainline,$(1)),echo "kernel: $$$$(sed -n 's/^VERSION=//p' $(MAINLINE_STAMP)) does not build with configs/mainline.config" \
		"(log above, $(call KOUT,$(1))/build.log): adapt configs/mainline.config or pin another version in kernel/mainline.conf" >&2;) exit 1; }
	@grep -E "warning:|error:" $(call KOUT,$(1))/build.log || true
	touch $$@

.PHONY: kernel-$(1)
kernel-$(1): $(call KIMAGE,$(1))
endef
$(foreach c,qemu debug bench board plain mainline $(MATRIX_CONFIGS),$(eval $(call kernel_rules,$(c))))

# dtbs (CONFIG=board): the device trees the inventory's boards of CONFIG
# boot (configs/boards.yaml uboot.dtb) that the kernel tree has; lab/run.py
# publish copies them into the artifacts. A virtual board's dtb is QEMU's own.
CONFIG_DTBS = $(shell $(PY) -c 'import sys; sys.path.insert(0, "lab"); \
	from bbml2lab import config; from pathlib import Path; \
	b = config.load_boards("configs/boards.yaml").values(); \
	print(" ".join(sorted({x["uboot"]["dtb"] for x in b if x["kind"] == "u-boot" \
	and x["kernel_config"] == "$(CONFIG)" and x.get("uboot", {}).get("dtb") \
	and Path("$(KSRC)/arch/arm64/boot/dts", x["uboot"]["dtb"]).with_suffix(".dts").is_file()})))')

.PHONY: dtbs
dtbs: $(call KOUT,$(CONFIG))/.config
	$(MAKE) -C $(KSRC) O=$(call KOUT,$(CONFIG)) $(KMAKE_ARGS) -j$(JOBS) $(CONFIG_DTBS)

.PHONY: kernel
kernel: kernel-$(CONFIG)

# --- guest userland ---------------------------------------------------------

SMOKE := $(BUILD)/guest-bin/ktap-smoke
$(SMOKE): lab/rootfs/ktap-smoke.c | $(DEPS_STAMP)
	mkdir -p $(dir $@)
	$(CROSS_COMPILE)gcc -static -O2 -Wall -Wextra -Werror -o $@ $<

# labpower (lab/power): static aarch64 build against the arm64 libgpiod.a
# that scripts/deps.sh unpacks, for the guest's labpower suite; the host
# tool and its fake-GPIO tests build with `make labpower` / `make unit`.
LABPOWER_SRC := $(wildcard lab/power/*.c lab/power/*.h lab/power/Makefile)
LABPOWER_GUEST := $(BUILD)/guest-bin/labpower
$(LABPOWER_GUEST): $(LABPOWER_SRC) | $(DEPS_STAMP)
	$(MAKE) -s -C lab/power cross SYSROOT=$(BUILD)/libgpiod-arm64/dev OUT=$@

.PHONY: labpower
labpower: | $(DEPS_STAMP)
	$(MAKE) -C lab/power O=$(BUILD)/labpower all check-v2

KST_INSTALL = $(BUILD)/kselftest-$(1)
KST_FILES := $(shell find selftests -type f 2>/dev/null)

define kst_rules
$(call KST_INSTALL,$(1))/run_kselftest.sh: $(KST_FILES) $(call KIMAGE,$(1))
	$(KST_ENV_$(1)) selftests/build.sh install $(KSRC) $(call KOUT,$(1)) $(call KST_INSTALL,$(1))

.PHONY: rootfs-$(1)
rootfs-$(1): $(BUILD)/rootfs-$(1).cpio.gz
endef
define guest_rules
$(BUILD)/rootfs-$(1).cpio.gz: $(wildcard lab/rootfs/* lab/rootfs/suites/*) $(SMOKE) \
		$(LABPOWER_GUEST) $(call KST_INSTALL,$(1))/run_kselftest.sh
	lab/rootfs/build.sh $$@ $(BUSYBOX) $(dir $(SMOKE)) $(call KST_INSTALL,$(1))=lab/kselftest
endef
$(foreach c,qemu debug bench board plain mainline $(MATRIX_CONFIGS),$(eval $(call kst_rules,$(c))))
$(foreach c,qemu debug bench plain mainline $(MATRIX_CONFIGS),$(eval $(call guest_rules,$(c))))

# The board initramfs is the only one a lab board gets (lab/run.py
# publish), for every suite of the nightly: it carries the benchmarks and
# their module (built against the board kernel) next to the smoke and
# kselftest programs. Under QEMU the benchmarks have their own initramfs
# (make bench, make bench-sweep).
$(BUILD)/rootfs-board.cpio.gz: $(wildcard lab/rootfs/* lab/rootfs/suites/*) $(SMOKE) \
		$(LABPOWER_GUEST) $(call KST_INSTALL,board)/run_kselftest.sh \
		$(wildcard bench/*.c bench/*.h bench/Makefile bench/linmap-chase/*)
	$(MAKE) -C bench O=$(BUILD)/bench-bin-board initramfs INITRD=$@ BUSYBOX=$(BUSYBOX) \
		EXTRA_BIN="$(SMOKE) $(LABPOWER_GUEST)" KDIR=$(call KOUT,board) \
		EXTRA_TREES=$(call KST_INSTALL,board)=lab/kselftest

.PHONY: rootfs
rootfs: rootfs-$(CONFIG)

# --- el2shim: EL2 program giving each QEMU CPU its own MIDR (lab/el2shim) ---

EL2SHIM := $(BUILD)/el2shim/el2shim.bin
EL2SHIM_MAKE = $(MAKE) -C lab/el2shim O=$(BUILD)/el2shim CROSS_COMPILE=$(CROSS_COMPILE)
$(EL2SHIM): $(wildcard lab/el2shim/*.[chS] lab/el2shim/*.lds lab/el2shim/Makefile \
		lab/el2shim/tests/*) | $(DEPS_STAMP)
	$(EL2SHIM_MAKE) all

# el2shim.bin and tests/el1check.bin, then the host unit test (KTAP)
.PHONY: el2shim
el2shim: $(EL2SHIM)
	$(EL2SHIM_MAKE) test

# --- boots through LAVA (lab/run.py), results under results/<run>/ ----------

# lava-run must run as root. MODES, MEM and CPUS, when given, replace the
# plan's values (comma lists).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo -E)
given = $(filter command line environment,$(origin $(1)))
OVERRIDES = $(if $(call given,MODES),--modes=$(MODES)) $(if $(call given,MEM),--mem=$(MEM)) \
	$(if $(call given,CPUS),--cpus=$(CPUS))
LAB_RUN = $(SUDO) $(PY) lab/run.py matrix --results $(RESULTS) \
	--kernel-dir '$(BUILD)/kernel-{config}/arch/arm64/boot/Image' \
	--device-types $(BUILD)/lava-server/usr/share/lava-server/device-types
LAB = $(LAB_RUN) --initrd-dir '$(BUILD)/rootfs-{config}.cpio.gz'

.PHONY: all
all: $(call KIMAGE,qemu) rootfs-qemu
	$(LAB) --plan main --tag make $(OVERRIDES)

.PHONY: kselftest
kselftest: $(call KIMAGE,$(CONFIG)) rootfs-$(CONFIG)
	$(LAB) --plan kselftest --config $(CONFIG) --tag kselftest $(OVERRIDES)

# make kselftest-plain: the suite on the series without its switch and
# instrumentation (the first PLAIN_UPTO patches of kernel/series: the
# feature as mainline 6.18+ has it, no arm64.bbml2=, no debugfs file, no
# test exports), in BUILD/linux-prefix-N with configs/plain.config: page
# mapped on QEMU's own MIDR, block mapped as Neoverse-V3 r0p2. What ptdump,
# /proc and sysfs show is checked (bbml2_plain, bbml2_dmesg); every other
# program skips with its reason. One cold kernel build plus two boots:
# about 10 minutes on an idle 2-core machine. Not part of make check.
PLAIN_UPTO ?= 6
.PHONY: kselftest-plain
kselftest-plain: $(DEPS_STAMP) $(SMOKE) $(LABPOWER_GUEST)
	kernel/prepare.sh $(BUILD) $(PLAIN_UPTO) >/dev/null
	$(MAKE) KERNEL_SRC=$(BUILD)/linux-prefix-$(PLAIN_UPTO) CONFIG=plain \
		$(call KIMAGE,plain) rootfs-plain
	$(LAB) --plan plain --tag plain $(OVERRIDES)

# make kselftest-mainline (issue 19): the suite on Debian's linux-source-7.3
# (CONFIG=mainline: no series, pinned in kernel/mainline.conf) on five
# boards: -cpu max (pages), 4 x Neoverse-V3 r0p2 (blocks), el2shim's mixed
# X4 + A720 (upstream repaints), the late-CPU board (refused) and 4 x
# Cortex-A725 (uniform for 7.3, none for the series). The mode check takes
# the allow-list from the 7.3 tree. Not part of make check.
.PHONY: kselftest-mainline
kselftest-mainline: $(DEPS_STAMP) $(SMOKE) $(LABPOWER_GUEST) $(EL2SHIM)
	$(MAKE) CONFIG=mainline $(call KIMAGE,mainline) rootfs-mainline
	$(LAB) --plan mainline --tag mainline $(OVERRIDES)

.PHONY: kselftest-bundle
kselftest-bundle: $(call KIMAGE,$(CONFIG))
	selftests/build.sh bundle $(KSRC) $(call KOUT,$(CONFIG)) $(BUILD)/bbml2-kselftest.tar.gz

# --- benchmarks: boot MODES with the bench suite, render a report -----------

BENCH_INITRD := $(BUILD)/rootfs-bench-$(CONFIG).cpio.gz
BENCH_REPORT ?= $(RESULTS)/reports/bench-$(CONFIG)-$(shell date -u +%Y%m%dT%H%M%SZ)
# Boots per mode, in a random recorded order (bench/sweep.py): the report's
# A/A control needs at least 4 boots of the baseline mode.
BENCH_REPEAT ?= 4

.PHONY: bench
bench: $(call KIMAGE,$(CONFIG)) $(SMOKE)
	$(MAKE) -C bench O=$(BUILD)/bench-bin initramfs INITRD=$(BENCH_INITRD) \
		BUSYBOX=$(BUSYBOX) EXTRA_BIN=$(SMOKE) KDIR=$(call KOUT,$(CONFIG))
	rc=0; $(SUDO) $(PY) bench/sweep.py --plan bench --tag bench --config $(CONFIG) \
		--repeat $(BENCH_REPEAT) --results $(RESULTS) --kernel $(call KIMAGE,$(CONFIG)) \
		--initrd $(BENCH_INITRD) $(OVERRIDES) | tee $(BUILD)/bench-run.log || rc=$$?; \
	run=$$(sed -n 's/^results: //p' $(BUILD)/bench-run.log | tail -n 1); \
	$(PY) bench/report.py -o $(BENCH_REPORT) $$run; exit $$rc

# --- make report and the RAM sweep (neither is part of make check) ----------
#   make report RUNS="results/<run> ..."   one page: Markdown + static HTML +
#                                           plots, then its headless-Chromium
#                                           screenshot test
#   make bench-sweep                        1-16 GiB x off/assume/assume-repaint,
#                                           host time and -icount, then a report

REPORT_OUT ?= $(RESULTS)/reports/report-$(shell date -u +%Y%m%dT%H%M%SZ)

.PHONY: report
report:
	@test -n "$(strip $(RUNS))" || { echo 'make report: give RUNS="results/<run> ..."' >&2; exit 2; }
	DEPS_REPORT=1 scripts/deps.sh $(BUILD)
	rc=0; $(PY) bench/page.py -o $(REPORT_OUT) $(RUNS) || rc=$$?; \
	test $$rc -le 1 || exit $$rc; \
	BBML2_REPORT_DIR=$(REPORT_OUT) $(PY) -m pytest -q -p no:cacheprovider bench/screenshot

SWEEP_REPEAT ?= 5
SWEEP_ICOUNT_REPEAT ?= 4
SWEEP_AA_REPEAT ?= 8
SWEEP_OUT ?= $(RESULTS)/reports/ram-sweep-$(shell date -u +%Y%m%d)
# the repaint against mainline's on the el2shim mixed board (bench/functime.py,
# bench/repaintcmp.py): builds the mainline kernel too; SWEEP_MAINLINE=0 skips it
SWEEP_MAINLINE ?= 1
SWEEP_FUNCTIME_MEM ?= 1024,2048,4096,8192,16384
SWEEP_ARGS = --kernel $(call KIMAGE,qemu) --initrd $(BUILD)/rootfs-bench-qemu.cpio.gz \
	--results $(RESULTS)

.PHONY: bench-sweep
bench-sweep: $(call KIMAGE,qemu) $(SMOKE) $(EL2SHIM)
	$(MAKE) -C bench O=$(BUILD)/bench-bin initramfs INITRD=$(BUILD)/rootfs-bench-qemu.cpio.gz \
		BUSYBOX=$(BUSYBOX) EXTRA_BIN=$(SMOKE)
	start=$$(date +%s); \
	$(SUDO) nice -n 10 $(PY) bench/sweep.py --repeat $(SWEEP_REPEAT) $(SWEEP_ARGS) \
		| tee $(BUILD)/sweep-tcg.log; \
	$(SUDO) nice -n 10 $(PY) bench/sweep.py --icount --repeat $(SWEEP_ICOUNT_REPEAT) $(SWEEP_ARGS) \
		| tee $(BUILD)/sweep-icount.log; \
	for clock in "" --icount; do \
		$(SUDO) nice -n 10 $(PY) bench/sweep.py --plan bench-sweep-aa $$clock \
			--repeat $(SWEEP_AA_REPEAT) $(SWEEP_ARGS); \
	done | tee $(BUILD)/sweep-aa.log; \
	echo "bench-sweep: boots took $$(( $$(date +%s) - start )) s"; \
	$(MAKE) report REPORT_OUT=$(SWEEP_OUT) RUNS="$$(sed -n 's/^results: //p' \
		$(BUILD)/sweep-tcg.log $(BUILD)/sweep-icount.log $(BUILD)/sweep-aa.log | tr '\n' ' ')"
ifneq ($(SWEEP_MAINLINE),0)
	$(MAKE) CONFIG=mainline $(call KIMAGE,mainline)
	rm -f $(SWEEP_OUT)/functime-series.jsonl $(SWEEP_OUT)/functime-mainline.jsonl
	nice -n 10 $(PY) bench/functime.py --build $(call KOUT,qemu) --mem $(SWEEP_FUNCTIME_MEM) \
		--shim $(EL2SHIM) --repeat 2 --out $(SWEEP_OUT)/functime-series.jsonl >/dev/null
	nice -n 10 $(PY) bench/functime.py --build $(call KOUT,mainline) --mem $(SWEEP_FUNCTIME_MEM) \
		--shim $(EL2SHIM) --repeat 2 --out $(SWEEP_OUT)/functime-mainline.jsonl >/dev/null
	$(PY) bench/repaintcmp.py --series $(SWEEP_OUT)/functime-series.jsonl \
		--mainline $(SWEEP_OUT)/functime-mainline.jsonl -o $(SWEEP_OUT) \
		$$(sed -n 's/^results: /--sweep /p' $(BUILD)/sweep-icount.log)
endif

# --- make bench-tlb: the modelled TLB (bench/tlbmodel), not part of make check
#   every benchmark under -icount shift=0 with the TLB-model plugin, modes
#   off/assume/assume-repaint and the el2shim mixed board with no option,
#   working sets 64 KiB-256 MiB (plan bench-tlb), then a second run that boots
#   one short `off` point twice (the chase and the pread at three sizes: the
#   counts must repeat exactly), then the report. The bench kernel (it has
#   INET for memcached-mix).

TLB_OUT ?= $(RESULTS)/reports/tlb-model-$(shell date -u +%Y%m%d)
TLB_INITRD := $(BUILD)/rootfs-tlb.cpio.gz
TLB_REPEAT_CMDLINE := bbml2lab.bench=linmap-chase,pcache-rand-pread bbml2lab.bench_sizes=2M,4M,8M
TLB_SWEEP = $(SUDO) nice -n 5 $(PY) bench/sweep.py --plan bench-tlb --tlb-model --icount \
	--kernel $(call KIMAGE,bench) --initrd $(TLB_INITRD) --results $(RESULTS)

.PHONY: bench-tlb
bench-tlb: $(call KIMAGE,bench) $(SMOKE) $(EL2SHIM)
	DEPS_TLB=1 scripts/deps.sh $(BUILD)
	bench/memcached-root.sh $(BUILD) $(BUILD)/memcached-root
	$(MAKE) -C bench/tlbmodel O=$(BUILD)/tlbmodel
	$(MAKE) -C bench O=$(BUILD)/bench-bin-bench initramfs INITRD=$(TLB_INITRD) \
		BUSYBOX=$(BUSYBOX) EXTRA_BIN=$(SMOKE) KDIR=$(call KOUT,bench) \
		EXTRA_TREES=$(BUILD)/memcached-root=.
	start=$$(date +%s); \
	$(TLB_SWEEP) --repeat 1 $(OVERRIDES) | tee $(BUILD)/tlb-run.log; \
	$(TLB_SWEEP) --only tlb --modes off --repeat 2 --tag bench-tlb-repeat \
		--cmdline "$(TLB_REPEAT_CMDLINE)" | tee -a $(BUILD)/tlb-run.log; \
	echo "bench-tlb: boots took $$(( $$(date +%s) - start )) s"; \
	$(MAKE) report REPORT_OUT=$(TLB_OUT) RUNS="$$(sed -n 's/^results: //p' $(BUILD)/tlb-run.log | tr '\n' ' ')"

# --- the test suite ---------------------------------------------------------

# The unit tests' JUnit file is folded into the run, so the last line of
# `make check` counts everything.
UNIT_JUNIT := $(BUILD)/unit-junit.xml

.PHONY: unit
unit: $(DEPS_STAMP)
	$(PY) -m pytest -q lab/tests bench/tests lab/el2shim/tests kernel/tests selftests/arm64/bbml2/host --junitxml=$(UNIT_JUNIT)

.PHONY: check
check: $(call KIMAGE,qemu) $(call KIMAGE,debug) rootfs-qemu rootfs-debug $(EL2SHIM)
	$(PY) -m pytest -q lab/tests bench/tests lab/el2shim/tests kernel/tests selftests/arm64/bbml2/host --junitxml=$(UNIT_JUNIT) || true
	$(LAB_E2E_CHECK) --junit $(UNIT_JUNIT) --merge $(UNIT_JUNIT) || true
	$(LAB) --plan check --tag check --unit-junit $(UNIT_JUNIT) $(OVERRIDES)

# --- the local LAVA lab (lab/local/; lab/README.md "Local lab") ------------

# lab-up/lab-down: PostgreSQL, lava-server on 127.0.0.1, scheduler, worker,
# tftpd, artifact server, console bridges, the virtual boards registered.
# lab-check: make check's short e2e through that server (4 server jobs at
# most, overall deadline, LAVA's health checks off), folded into the check's
# count; lab-e2e: the nightly on the virtual boards, twice (the second night
# compares), health checks on, issue 22's faults injected: SIGTERM + resume
# in the first night, worker kill, power failure and a board in Maintenance
# in the second, then a guest reset after the kernel banner.
LAB_E2E_CHECK = $(SUDO) $(PY) lab/local/e2e.py check --up --results $(RESULTS)

.PHONY: lab-up lab-down lab-publish lab-check lab-e2e
lab-up: | $(DEPS_STAMP)
	$(SUDO) lab/local/up.sh

lab-down:
	$(SUDO) lab/local/down.sh

lab-publish: $(call KIMAGE,qemu) rootfs-qemu $(EL2SHIM)
	$(PY) lab/run.py publish --config qemu

lab-check: $(call KIMAGE,qemu) rootfs-qemu $(EL2SHIM) | $(DEPS_STAMP)
	$(LAB_E2E_CHECK) --junit $(BUILD)/lab-check-junit.xml

lab-e2e: $(call KIMAGE,qemu) rootfs-qemu $(EL2SHIM) | $(DEPS_STAMP)
	$(SUDO) $(PY) lab/local/e2e.py nightly --up --nights 2 --results $(RESULTS) \
		--junit $(BUILD)/lab-e2e-junit.xml

# --- make kernel-matrix: the series in the configurations that expose it ---
#   make kernel-matrix [MATRIX=16k,64k,...]   (not part of make check)
# kernel/matrix.py builds each configs/matrix/<name>.config kernel with the
# rules above (make CONFIG=matrix-<name> rootfs-matrix-<name>), boots it in
# assume and assume-repaint through lab/run.py (plan kernel-matrix), and
# prints configuration x mode -> built, booted, kselftests, splats; JSON in
# results/<time>-kernel-matrix-<id>/matrix.json. A config whose Image and
# rootfs are up to date is not rebuilt; MATRIX_FORCE_BOOT=1 reboots configs
# whose last boots are newer than their image; MATRIX_NO_BUILD=1 builds
# nothing (a stale config is reported not built); MATRIX_NO_BOOT=1 only
# builds (at nice 19, say, while the cores boot something else; the next
# run boots them).

MATRIX ?= $(subst $(space),$(comma),$(MATRIX_ALL))
empty :=
space := $(empty) $(empty)
comma := ,

.PHONY: kernel-matrix
kernel-matrix: $(DEPS_STAMP) $(SMOKE) $(LABPOWER_GUEST)
	DEPS_MATRIX=1 scripts/deps.sh $(BUILD)
	KMAKE_ARGS='$(KMAKE_ARGS)' $(SUDO) $(PY) kernel/matrix.py --build $(BUILD) \
		--results $(RESULTS) --ksrc $(KSRC) --jobs $(JOBS) --only '$(MATRIX)' \
		$(if $(MATRIX_FORCE_BOOT),--force-boot) $(if $(MATRIX_NO_BUILD),--no-build) \
		$(if $(MATRIX_NO_BOOT),--no-boot)

# --- the series itself ------------------------------------------------------

.PHONY: series-check
series-check: $(DEPS_STAMP)
	kernel/series-check.sh $(BUILD) configs/qemu.config

# The mutation check (kernel/mutations/): each known bug class put back into
# the series, built incrementally and booted where it can show; one table,
# exit 1 if any mutant survives. MUTANTS=id,... runs a subset.
.PHONY: mutation-check
mutation-check: $(call KIMAGE,qemu) $(EL2SHIM) | $(DEPS_STAMP)
	$(SUDO) $(PY) kernel/mutations/check.py --build $(BUILD) --results $(RESULTS) \
		$(if $(call given,MUTANTS),--only $(MUTANTS))

.PHONY: clean
clean:
	rm -rf $(BUILD)/kernel-* $(BUILD)/rootfs-* $(BUILD)/kselftest-* $(BUILD)/guest-bin

.PHONY: distclean
distclean:
	rm -rf $(BUILD)
