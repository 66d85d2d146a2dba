"""kernel/mutations: the mutants' headers, their boots, that each applies to
the series, and the verdict logic of the mutation check."""
import importlib.util
import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("mutcheck", REPO / "kernel/mutations/check.py")
mc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mc)
TREE = Path(os.environ.get("BUILD", REPO / "build")) / "linux"


def test_every_mutant_names_its_class_boots_and_catcher():
    mutants = mc.load_mutants()
    assert len(mutants) >= 2
    matrix = mc.config.load(REPO / "configs/matrix.yaml", REPO / "configs/boards.yaml")
    entries = mc.check_boots(mutants, matrix)
    for m in mutants:
        assert m.klass and m.title and m.boots
        # an Expect: entry prefix names a boot of the mutant
        for e in m.expect:
            entry = e.rpartition(":")[0]
            assert not entry or entry in m.boots, (m.id, e)
        assert all(b in entries for b in m.boots)


TEST_RE = r"\bTEST(?:_F(?:_TIMEOUT)?)?\(\s*([\w# ]+?)\s*(?:,\s*([\w# ]+?)\s*)?[,)]"


def selftest_names(prog):
    """The result names a bbml2 kselftest program reports: TEST(t) as
    global_t, TEST_F(f, t) and TEST_F_TIMEOUT(f, t, s) as f_t, also when a
    macro of the program defines them (bbml2_split's SPLIT_CASE)."""
    src = (REPO / "selftests/arm64/bbml2" / f"{prog}.c").read_text()

    def name(a, b):
        return f"{a}_{b}" if b else f"global_{a}"
    names = {name(a, b) for a, b in re.findall("^" + TEST_RE, src, re.M)}
    for mac, params, body in re.findall(r"^#define (\w+)\(([^)]*)\)\s*\\\n(.*)", src, re.M):
        t = re.search(TEST_RE, body)
        if not t:
            continue
        params = [x.strip() for x in params.split(",")]
        for args in re.findall(rf"^{mac}\(([^)]*)\)", src, re.M):
            sub = dict(zip(params, (x.strip() for x in args.split(","))))
            names.add(name(*(re.sub(r"\s*##\s*", "", re.sub(r"\w+", lambda w: sub.get(w[0], w[0]),
                                                            x)) if x else x for x in t.groups())))
    return names


def test_every_expected_kselftest_exists():
    """An Expect: item naming a bbml2 kselftest names one the program has
    (repaint-stale-table named `repaint_change_rebuilt`, reported as
    `global_repaint_change_rebuilt`: only the baseline boots showed it)."""
    seen = 0
    for m in mc.load_mutants():
        for e in m.expect:
            k = re.match(r"(?:[\w-]+:)?kselftest\.selftests_arm64_bbml2_(\w+)\.(\w*)$", e)
            if not k:
                continue
            prog, prefix = k.groups()
            names = selftest_names(prog)
            assert names, (m.id, e, f"no tests found in {prog}.c")
            assert any(n.startswith(prefix) for n in names), (m.id, e, sorted(names))
            seen += 1
    assert seen >= 20


@pytest.mark.skipif(not (TREE / ".bbml2-lab-tree").is_file(),
                    reason=f"{TREE}: no kernel tree with the series (make kernel)")
def test_every_mutant_applies_to_the_series():
    ok, lines = mc.apply_check(TREE, mc.load_mutants())
    assert ok, "\n".join(lines)


def test_a_bad_header_is_one_clear_error(tmp_path):
    p = tmp_path / "x.patch"
    p.write_text("Mutant: something\nBoots: ks-block\n---\n--- a/x\n+++ b/x\n")
    with pytest.raises(mc.LabError, match=r"x.patch: header lacks Class"):
        mc.Mutant(p)
    p.write_text("Mutant: m\nClass: c\nBoots: ks-block\n---\n")
    with pytest.raises(mc.LabError, match="no Expect: line"):
        mc.Mutant(p)
    p.write_text("Mutant: m\nClass: c\nBoots: ks-block\nEquivalent-under-TCG: why\n")
    with pytest.raises(mc.LabError, match="no Hardware-catcher"):
        mc.Mutant(p)


def test_catches_are_new_failures_of_expected_tests():
    job = "ks-block-assume-4c-2048m"
    base = {(job, "kselftest.boot"): {"result": "pass"},
            (job, "kselftest.x.known_bad"): {"result": "fail"},
            (job, "kselftest.x.a"): {"result": "pass"}}
    now = {(job, "kselftest.boot"): {"result": "pass"},
           (job, "kselftest.x.known_bad"): {"result": "fail"},
           (job, "kselftest.x.a"): {"result": "fail", "detail": "shape"}}
    fails = mc.new_failures(base, now)
    assert fails == [(job, "kselftest.x.a", "shape")]       # not the known failure
    assert mc.matches("ks-block:kselftest.x.", job, "kselftest.x.a")
    assert mc.matches("kselftest.x.a", job, "kselftest.x.a")
    assert not mc.matches("ks-repaint:kselftest.x.", job, "kselftest.x.a")
    assert mc.entry_of("ks-repaint-assume-repaint-4c-2048m") == "ks-repaint"
    assert mc.entry_of("mixed-none-4c-2048m") == "mixed"


def test_pass_to_skip_is_reported_but_no_catch():
    job = "ks-block-assume-4c-2048m"
    base = {(job, "kselftest.x.a"): {"result": "pass"},
            (job, "kselftest.x.b"): {"result": "skip"},
            (job, "kselftest.x.c"): {"result": "pass"}}
    now = {(job, "kselftest.x.a"): {"result": "skip", "detail": "no block left"},
           (job, "kselftest.x.b"): {"result": "skip"},
           (job, "kselftest.x.c"): {"result": "pass"}}
    skips = mc.new_skips(base, now)
    assert skips == [(job, "kselftest.x.a", "no block left")]
    assert mc.new_failures(base, now) == []


def mkm(tmp_path, equivalent=False):
    p = tmp_path / "m.patch"
    p.write_text("Mutant: m\nClass: c\nBoots: ks-block\nExpect: ks-block:kselftest.x.a\n"
                 + ("Equivalent-under-TCG: why\nHardware-catcher: hw\n" if equivalent else ""))
    return mc.Mutant(p)


def test_pass_to_skip_is_its_own_failed_verdict(tmp_path):
    job = "ks-block-assume-4c-2048m"
    skip = [(job, "kselftest.x.a", "no block left")]
    other = [(job, "kselftest.y.b", "shape")]
    m = mkm(tmp_path)
    # the named test skips and nothing fails: no catch, not "survived" either
    v = mc.verdict_of(m, [], skip, [])
    assert v["verdict"] == "skipped" and "skipped now: " + job + ":kselftest.x.a" in v["why"]
    # another test failing does not make it a catch
    v = mc.verdict_of(m, other, skip, [])
    assert v["verdict"] == "skipped" and "kselftest.y.b" in v["why"]
    # a named test failing is a catch; the skips stay listed in the table
    assert mc.verdict_of(m, [(job, "kselftest.x.a", "")], skip,
                         [f"{job}:kselftest.x.a"])["verdict"] == "caught"
    assert mc.verdict_of(m, [], [], [])["verdict"] == "survived"
    assert mc.verdict_of(mkm(tmp_path, True), [], skip, [])["verdict"] == "skipped"
    rows = [{"id": "a", "class": "c", "boots": ["b"], "verdict": "skipped", "why": "w",
             "pass_to_skip": [{"job": job, "test": "kselftest.x.a", "detail": ""}]},
            {"id": "b", "class": "c", "boots": ["b"], "verdict": "caught", "caught_by": ["j:t"],
             "pass_to_skip": [{"job": job, "test": "kselftest.x.a", "detail": ""}]}]
    md, counts = mc.table(rows, 60)
    assert counts["skipped"] == 1 and counts["caught"] == 1
    assert f"| caught | j:t | 1: {job}:kselftest.x.a |" in md
    assert "1 hidden behind a pass -> skip" in md


def test_a_deadline_alone_is_not_a_catch():
    assert mc.deadline_only([("j", "smoke.job", "job timed out after 180 s")])
    assert not mc.deadline_only([("j", "smoke.job", "timed out"),
                                 ("j", "smoke.kernel.no_splat", "WARNING: at mmu.c")])
    assert not mc.deadline_only([])


def test_table_counts_every_verdict():
    rows = [{"id": "a", "class": "c", "boots": ["b"], "verdict": "caught", "caught_by": ["j:t"]},
            {"id": "b", "class": "c", "boots": ["b"], "verdict": "survived",
             "why": "no test failed"},
            {"id": "c", "class": "c", "boots": ["b"], "verdict": "equivalent", "why": "TCG"}]
    md, counts = mc.table(rows, 600)
    assert counts == {"caught": 1, "equivalent": 1, "skipped": 0, "survived": 1, "error": 0}
    assert "| a | c | b | caught | j:t | 0 |" in md and "wall time 10.0 min" in md


class FakeLab:
    """A tree of one file; builds always work; boots return scripted results."""

    def __init__(self, tree, results_for):
        self.tree, self.results_for, self.boots, self.trees = tree, results_for, [], []

    def make(self, configs, log, rootfs=True):
        return True

    def boot(self, entries, tag, log):
        self.boots.append((tag, entries))
        self.trees.append((self.tree / "f.c").read_text())
        return Path("/run") / tag, self.results_for(tag)


def mutant(tmp_path, name, expect, new_line):
    p = tmp_path / f"{name}.patch"
    p.write_text(f"Mutant: {name}\nClass: c\nBoots: ks-block\nExpect: {expect}\n---\n"
                 "--- a/f.c\n+++ b/f.c\n@@ -1 +1 @@\n-ok\n+" + new_line + "\n")
    return mc.Mutant(p)


def test_run_mutants_verdicts_and_every_mutant_reverted(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "f.c").write_text("ok\n")
    job = "ks-block-assume-4c-2048m"
    t = "kselftest.selftests_arm64_bbml2_bbml2_split.global_a"

    def results_for(tag):
        res = {"mutant-caught": "fail", "mutant-hidden": "skip"}.get(tag, "pass")
        return {(job, t): {"result": res, "detail": "shape"},
                (job, "kselftest.boot"): {"result": "pass"}}
    lab = FakeLab(tree, results_for)
    ms = [mutant(tmp_path, "caught", f"ks-block:{t}", "bad"),
          mutant(tmp_path, "survived", f"ks-block:{t}", "subtle"),
          mutant(tmp_path, "hidden", f"ks-block:{t}", "hides"),
          mutant(tmp_path, "nocatcher", "ks-block:kselftest.nope", "x")]
    entries = {"ks-block": {"name": "ks-block"}}
    out = tmp_path / "out"
    out.mkdir()
    baseline, rows = mc.run_mutants(None, ms, entries, lab, out, lambda m: None)
    v = {r["id"]: r["verdict"] for r in rows}
    assert v == {"caught": "caught", "survived": "survived", "hidden": "skipped",
                 "nocatcher": "error"}
    assert rows[0]["caught_by"] == [f"{job}:{t}"]
    assert rows[2]["pass_to_skip"] == [{"job": job, "test": t, "detail": "shape"}]
    assert "has no result at baseline" in rows[3]["why"]
    # each mutant was booted applied, and the tree is back as it was
    assert lab.trees == ["ok\n", "bad\n", "subtle\n", "hides\n"]
    assert (tree / "f.c").read_text() == "ok\n"
    # a tree left mutated is refused before anything runs
    (tree / "f.c").write_text("bad\n")
    with pytest.raises(mc.LabError, match="one left applied"):
        mc.run_mutants(None, ms, entries, lab, out, lambda m: None)


def test_a_catcher_that_only_skips_at_baseline_is_an_error(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "f.c").write_text("ok\n")
    job = "ks-block-assume-4c-2048m"
    t = "kselftest.selftests_arm64_bbml2_bbml2_invalid.global_block_visible"
    lab = FakeLab(tree, lambda tag: {(job, t): {"result": "skip", "detail": "no block"}})
    ms = [mutant(tmp_path, "m", f"ks-block:{t}", "bad")]
    out = tmp_path / "out"
    out.mkdir()
    _, rows = mc.run_mutants(None, ms, {"ks-block": {}}, lab, out, lambda m: None)
    assert rows[0]["verdict"] == "error" and "only skips at baseline" in rows[0]["why"]
    assert len(lab.boots) == 1          # the baseline only: nothing to gain from booting it


def test_an_object_check_catches_what_no_boot_shows(tmp_path):
    # a mutant TCG cannot show (equivalent) is caught by its Object-check:
    # a script run on each built kernel (0 pass, 1 fail); at baseline it
    # must pass, else the mutant is an error
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "f.c").write_text("ok\n")
    check = tmp_path / "objcheck.py"
    check.write_text("import sys, pathlib\n"
                     "sys.exit(1 if 'bad' in (pathlib.Path(sys.argv[1]) / 'obj').read_text()"
                     " else 0)\n")

    class BuildingLab(FakeLab):
        mbuild = tmp_path / "mb"

        def make(self, configs, log, rootfs=True):
            for c in configs:
                (self.mbuild / f"kernel-{c}").mkdir(parents=True, exist_ok=True)
                (self.mbuild / f"kernel-{c}" / "obj").write_text((self.tree / "f.c").read_text())
            return True
    job = "ks-block-assume-4c-2048m"
    lab = BuildingLab(tree, lambda tag: {(job, "kselftest.boot"): {"result": "pass"}})
    p = tmp_path / "nobarrier.patch"
    p.write_text(f"Mutant: m\nClass: c\nBoots: ks-block\nObject-check: {check}\n"
                 "Equivalent-under-TCG: the walker sees every store at once\n"
                 "Hardware-catcher: the object check\n---\n"
                 "--- a/f.c\n+++ b/f.c\n@@ -1 +1 @@\n-ok\n+bad\n")
    m = mc.Mutant(p)
    out = tmp_path / "out"
    out.mkdir()
    _, rows = mc.run_mutants(None, [m], {"ks-block": {}}, lab, out, lambda s: None)
    assert rows[0]["verdict"] == "caught", rows[0]
    assert rows[0]["caught_by"][0].startswith("object check (qemu)")
    # the same check failing on the unmutated kernel makes the mutant an error
    (tree / "f.c").write_text("bad-base\n")
    p.write_text(p.read_text().replace("-ok\n+bad\n", "-bad-base\n+ok\n"))
    _, rows = mc.run_mutants(None, [mc.Mutant(p)], {"ks-block": {}}, lab, out, lambda s: None)
    assert rows[0]["verdict"] == "error" and "object check on the qemu kernel" in rows[0]["why"]
