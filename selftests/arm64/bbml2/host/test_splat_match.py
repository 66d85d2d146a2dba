# SPDX-License-Identifier: GPL-2.0
"""Host tests of splat_match.c, the matcher of bbml2_dmesg, on recorded
kernel log lines (record texts as /dev/kmsg gives them: no timestamp).

The positives are first lines of real reports of each class, in the
format the 6.12 sources print them; the negatives are lines every boot of
the lab's kernels prints (banners of KASAN, KFENCE, RCU, the watchdog, the
series' own warnings). Each test names the defect of the matcher it
catches: a class that misses its report (bbml2_dmesg would pass a board
with that splat) or a banner taken for a splat (it would fail every boot).

    python3 -m pytest -q selftests/arm64/bbml2/host
"""
import json
import os
import re
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = [os.path.join(HERE, "splat_host.c"),
       os.environ.get("SPLAT_MATCH_C", os.path.join(HERE, "..", "splat_match.c"))]
CC = os.environ.get("HOSTCC", "gcc")

# (record text, the classes it must be in: exactly these)
POSITIVES = [
    ("WARNING: CPU: 2 PID: 97 at arch/arm64/mm/pageattr.c:131 __change_memory_common+0x1a4/0x1c0",
     {"warning"}),
    ("WARNING: CPU: 0 PID: 1 at mm/vmalloc.c:3152 __vmalloc_node_range_noprof+0x5d4/0x6e0",
     {"warning"}),
    ("kernel BUG at mm/slub.c:441!", {"bug"}),
    ("BUG: Bad page state in process swapper/0  pfn:4a3c1", {"bug"}),
    ("BUG: spinlock bad magic on CPU#1, swapper/1/0", {"bug"}),
    ("Internal error: Oops: 0000000096000045 [#1] PREEMPT SMP", {"oops"}),
    ("Internal error: Oops - BUG: 00000000f2000800 [#1] PREEMPT SMP", {"oops", "bug"}),
    ("Unable to handle kernel paging request at virtual address ffff000081234000", {"oops"}),
    ("Unable to handle kernel NULL pointer dereference at virtual address 0000000000000008",
     {"oops"}),
    ("SError Interrupt on CPU1, code 0x00000000be000000 -- SError", {"oops"}),
    ("BUG: sleeping function called from invalid context at kernel/locking/mutex.c:580",
     {"bug", "sleep_in_atomic"}),
    ("BUG: scheduling while atomic: migration/1/23/0x00000002", {"bug", "sleep_in_atomic"}),
    ("[ BUG: Invalid wait context ]", {"bug", "sleep_in_atomic"}),
    ("WARNING: possible circular locking dependency detected", {"warning", "lockdep"}),
    ("WARNING: inconsistent lock state", {"warning", "lockdep"}),
    ("WARNING: possible recursive locking detected", {"warning", "lockdep"}),
    ("WARNING: suspicious RCU usage", {"warning", "lockdep"}),
    ("BUG: KASAN: slab-out-of-bounds in bbml2_test_write+0x24/0x40", {"bug", "kasan"}),
    ("BUG: KASAN: vmalloc-out-of-bounds in __split_kernel_leaf+0x88/0x1a0", {"bug", "kasan"}),
    ("KASAN: null-ptr-deref in range [0x0000000000000010-0x0000000000000017]", {"kasan"}),
    ("BUG: KFENCE: out-of-bounds read in __kmalloc_noprof+0x20/0x60", {"bug", "kfence"}),
    ("BUG: KFENCE: use-after-free write in kfree+0x90/0x1f0", {"bug", "kfence"}),
    ("watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [swapper/1:0]", {"bug", "lockup"}),
    ("Watchdog detected hard LOCKUP on cpu 3", {"lockup"}),
    ("rcu: INFO: rcu_preempt self-detected stall on CPU", {"lockup"}),
    ("rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:", {"lockup"}),
    ("INFO: task kworker/0:1:12 blocked for more than 122 seconds.", {"lockup"}),
    ("UBSAN: shift-out-of-bounds in arch/arm64/mm/mmu.c:300:10", {"ubsan"}),
    ("Kernel panic - not syncing: Oops: Fatal exception", {"panic"}),
    ("Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)",
     {"panic"}),
]

NEGATIVES = [
    "kasan: KernelAddressSanitizer initialized (generic)",
    "kfence: initialized - using 2097152 bytes for 255 objects at 0x(____ptrval____)-0x(____ptrval____)",
    "rcu: Preemptible hierarchical RCU implementation.",
    "rcu: \tRCU event tracing is enabled.",
    "watchdog: Delayed init of the lockup detector failed: -19",
    "Kernel command line: console=ttyAMA0 panic=-1 oops=panic kasan.fault=report arm64.bbml2=assume",
    "arm64.bbml2: 'off' overrides the other options",
    "**   aborts. The kernel is tainted.                      **",
    "Run /init as init process",
    "lockdep: fixing up alternatives.",
    "Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar",
    "ubsan: enabled",
    "Freeing unused kernel memory: 4992K",
    "hung_task: timeout set to 120 seconds",
    "random: crng init done",
    # Recorded on the lab's x86 host: a pr_warn() that says WARNING: after
    # its prefix is advice, not WARN().
    "Speculative Return Stack Overflow: WARNING: See https://kernel.org/doc/html/latest/"
    "admin-guide/hw-vuln/srso.html for mitigation options.",
    "kasan_init: KASAN: shadow mapped (a KASAN: inside a record is not a report)",
]


@pytest.fixture(scope="session")
def driver(tmp_path_factory):
    if not shutil.which(CC):
        pytest.fail(f"no host compiler {CC}")
    out = tmp_path_factory.mktemp("splat") / "splat_host"
    r = subprocess.run([CC, "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(out)]
                       + SRC, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return str(out)


def classes(driver, lines):
    r = subprocess.run([driver], input="".join(l + "\n" for l in lines),
                       capture_output=True, text=True, check=True)
    return [set(json.loads(l)) for l in r.stdout.splitlines()]


def test_every_report_in_its_classes(driver):
    """Catches: a class that misses its report's first line (a board with
    that splat would pass bbml2_dmesg), or a report filed in a class it
    is not (its test would name the wrong kind)."""
    got = classes(driver, [t for t, _ in POSITIVES])
    for (text, want), have in zip(POSITIVES, got):
        assert have == want, text


def test_every_class_has_a_report():
    """Catches: a class (a test of bbml2_dmesg) that no recorded report
    exercises, so the list above would not notice it matching nothing."""
    seen = set().union(*(w for _, w in POSITIVES))
    assert seen == {"warning", "bug", "oops", "sleep_in_atomic", "lockdep", "kasan",
                    "kfence", "lockup", "ubsan", "panic"}


def test_boot_banners_are_not_splats(driver):
    """Catches: a pattern that matches what every boot prints (KASAN and
    KFENCE banners, RCU and watchdog set-up, a command line with panic=,
    the series' own warnings): bbml2_dmesg would fail every board."""
    got = classes(driver, NEGATIVES)
    for text, have in zip(NEGATIVES, got):
        assert have == set(), text


def test_control_samples_match(driver):
    """Catches: a negative-control sample of bbml2_dmesg.c
    (BBML2_DMESG_CONTROL=1) that its own class does not match, so the
    control would not make that class's test fail."""
    with open(os.path.join(HERE, "..", "bbml2_dmesg.c")) as f:
        src = f.read()
    samples = dict(re.findall(r'\[SPLAT_([A-Z_]+)\] = "((?:[^"\\]|\\.)*)"', src))
    names = {"WARNING": "warning", "BUG": "bug", "OOPS": "oops",
             "SLEEP_ATOMIC": "sleep_in_atomic", "LOCKDEP": "lockdep", "KASAN": "kasan",
             "KFENCE": "kfence", "LOCKUP": "lockup", "UBSAN": "ubsan", "PANIC": "panic"}
    samples = {k: v for k, v in samples.items() if k in names}
    assert set(samples) >= set(names), samples
    got = classes(driver, [samples[k].replace('\\"', '"') for k in names])
    for k, have in zip(names, got):
        assert names[k] in have, samples[k]
