"""kernel/matrix.py: fragments, the cells from a results directory, W=1
comparison, the table and the JSON (no kernel, no QEMU, no root)."""
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "kernel"))
import matrix  # noqa: E402


def test_every_fragment_parses_and_names_a_known_board():
    sys.path.insert(0, str(REPO / "lab"))
    from bbml2lab import config
    m = config.load(REPO / "configs/matrix.yaml", REPO / "configs/boards.yaml")
    for p in sorted((REPO / "configs/matrix").glob("*.config")):
        meta = matrix.fragment_meta(p)
        assert meta["board"] in m.boards, p
        assert f"matrix-{meta['name']}" in m.configs, p
        assert meta["options"] or meta["name"] in ("llvm", "w1"), p
        for mode in matrix.MODES:
            assert mode in m.boards[meta["board"]]["modes"]


def test_fragment_meta_keys_and_options(tmp_path):
    f = tmp_path / "x.config"
    f.write_text("# matrix-title: X pages\n# matrix-board: qemu-virt-mte\n"
                 "# matrix-cmdline: kasan=on\n# matrix-tagged: 1\n"
                 "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"s\"\n")
    meta = matrix.fragment_meta(f)
    assert meta["title"] == "X pages" and meta["board"] == "qemu-virt-mte"
    assert meta["cmdline"] == "kasan=on" and meta["tagged"] is True
    assert meta["options"] == {"CONFIG_A": "y", "CONFIG_B": "n", "CONFIG_C": '"s"'}
    f.write_text("# matrix-bogus: 1\n")
    with pytest.raises(ValueError, match="matrix-bogus"):
        matrix.fragment_meta(f)


def test_w1_is_build_only():
    assert matrix.fragment_meta(REPO / "configs/matrix/w1.config")["build_only"]


def test_select():
    names = ["16k", "64k", "llvm"]
    assert matrix.select(names, "") == names
    assert matrix.select(names, "llvm,16k") == ["16k", "llvm"]
    with pytest.raises(ValueError, match="4k"):
        matrix.select(names, "4k")


def test_dotconfig_has(tmp_path):
    c = tmp_path / ".config"
    c.write_text("CONFIG_A=y\n# CONFIG_B is not set\n")
    assert matrix.dotconfig_has(c, {"CONFIG_A": "y", "CONFIG_B": "n", "CONFIG_D": "n"}) == []
    assert matrix.dotconfig_has(c, {"CONFIG_B": "y"}) == ["CONFIG_B=y (have n)"]


def entry(name, result="pass", detail="", job="j"):
    return {"name": name, "result": result, "detail": detail, "suite": "kselftest", "job": job}


KS = "kselftest.selftests_arm64_bbml2_bbml2_split"
JOB_ENTRIES = [
    entry("kselftest.boot"), entry(KS), entry(KS + ".split_module_load_alias"),
    entry(KS + ".split_memfd_secret_1"), entry(KS + ".split_pud_x", "skip"),
    entry("kselftest.selftests_arm64_bbml2_bbml2_mode", "fail"),   # no subtests: a leaf
    entry("kselftest.suite_complete"), entry("kselftest.poweroff"),
    entry("kselftest.kernel.no_splat"), entry("kselftest.kernel.mode_matches_board"),
    entry("kselftest.lava.job"),
]


def test_leaf_tests_drop_parents_and_harness():
    names = [e["name"].rsplit(".", 1)[-1] for e in matrix.leaf_tests(JOB_ENTRIES)]
    assert names == ["split_module_load_alias", "split_memfd_secret_1", "split_pud_x",
                     "selftests_arm64_bbml2_bbml2_mode"]


def test_cell_counts_and_failures():
    cell = matrix.cell_from_job({"name": "j", "verdict": "fail", "linear_map": {"map": "blocks"}},
                                JOB_ENTRIES, tagged=True)
    assert cell["booted"] and cell["kselftests"] == {"pass": 2, "fail": 1, "skip": 1}
    assert cell["splats"] == 0 and cell["result"] == "fail"
    assert cell["failed_tests"] == ["selftests_arm64_bbml2_bbml2_mode"]
    assert cell["tagged_check"]["result"] == "pass"
    assert "module_load" in " ".join(cell["tagged_check"]["tests"])


def test_cell_splat_fails_and_no_tests_fails():
    ents = [e for e in JOB_ENTRIES if "bbml2_mode" not in e["name"]]
    ents = [entry("kselftest.kernel.no_splat", "fail", "WARNING: at pageattr.c:103")
            if e["name"] == "kselftest.kernel.no_splat" else e for e in ents]
    cell = matrix.cell_from_job({"name": "j", "verdict": "fail"}, ents)
    assert cell["splats"] == 1 and cell["result"] == "fail"
    assert "pageattr" in matrix.fmt_cell(cell)
    bare = matrix.cell_from_job({"name": "j", "verdict": "pass"}, [entry("kselftest.boot")])
    assert bare["result"] == "fail"        # booted, but no kselftest ran


def test_tagged_check_fails_without_the_tests():
    ents = [e for e in JOB_ENTRIES if "split_" not in e["name"] and "bbml2_mode" not in e["name"]]
    ents.append(entry(KS + ".split_other"))
    cell = matrix.cell_from_job({"name": "j", "verdict": "pass"}, ents, tagged=True)
    assert cell["tagged_check"]["result"] == "fail" and cell["result"] == "fail"


def write_run(d, jobs, entries, error=None):
    d.mkdir(parents=True)
    (d / "metadata.json").write_text(json.dumps({"jobs": jobs, "error": error}))
    (d / "results.json").write_text(json.dumps(entries))
    return d


def test_cells_from_run_and_missing_mode(tmp_path):
    ok = [e for e in JOB_ENTRIES if "bbml2_mode" not in e["name"]]
    run = write_run(tmp_path / "r", [{"name": "a", "mode": "assume", "verdict": "pass"}],
                    [{**e, "job": "a"} for e in ok], error="deadline")
    cells = matrix.cells_from_run(run)
    assert cells["assume"]["result"] == "pass"
    assert cells["assume-repaint"]["result"] == "fail"
    assert cells["assume-repaint"]["error"] == "deadline"


def test_w1_parse_and_new():
    touched = {"arch/arm64/mm/mmu.c", "arch/arm64/include/asm/pgtable.h"}
    base = matrix.parse_warnings(
        "/b/src/arch/arm64/mm/mmu.c:10:5: warning: no previous prototype for 'f' [-Wmissing-prototypes]\n"
        "/b/src/mm/other.c:3:1: warning: unrelated [-Wx]\n", touched, ["/b/src"])
    patched = matrix.parse_warnings(
        "/b/linux/arch/arm64/mm/mmu.c:12:5: warning: no previous prototype for 'f' [-Wmissing-prototypes]\n"
        "/b/linux/arch/arm64/include/asm/pgtable.h:7:2: warning: new  one [-Wy]\n"
        "/b/linux/mm/other.c:3:1: warning: unrelated [-Wx]\n", touched, ["/b/linux"])
    assert base == [("arch/arm64/mm/mmu.c", "no previous prototype for 'f' [-Wmissing-prototypes]")]
    assert matrix.new_warnings(base, patched) == [("arch/arm64/include/asm/pgtable.h", "new one [-Wy]")]
    assert matrix.new_warnings(patched, base) == []


def test_series_files_lists_touched_paths():
    files = matrix.series_files()
    assert "arch/arm64/mm/mmu.c" in files and all(not f.startswith("b/") for f in files)


def rows():
    cell_ok = {"result": "pass", "booted": True, "kselftests": {"pass": 5, "fail": 0, "skip": 1},
               "splats": 0, "linear_map": "blocks"}
    return [
        {"name": "16k", "title": "16K pages", "build": {"result": "ok", "seconds": 400},
         "cells": {"assume": cell_ok, "assume-repaint": {**cell_ok, "linear_map": "pages"}}},
        {"name": "rt", "title": "PREEMPT_RT", "build": {"result": "fail", "detail": "config: X"},
         "cells": {m: matrix.skip_cell("not built") for m in matrix.MODES}},
        {"name": "w1", "title": "W=1", "build": {"result": "ok", "detail": "0 new"},
         "cells": {m: matrix.skip_cell("W=1 changes no code") for m in matrix.MODES}},
    ]


def test_table_and_totals():
    t = matrix.table(rows())
    lines = t.splitlines()
    assert lines[0] == "| configuration | built | assume | assume-repaint |"
    assert "| 16K pages | yes (400 s) | booted, kselftests 5/0/1, no splat, map=blocks |" in t
    assert "**FAIL**: config: X" in t and "skip: not built" in t
    assert matrix.totals(rows()) == {"pass": 2, "fail": 1, "skip": 4, "xfail": 0}


def test_write_results(tmp_path):
    out, md, t = matrix.write_results(rows(), 61.0, tmp_path, ["matrix.py"])
    doc = json.loads((out / "matrix.json").read_text())
    assert doc["kind"] == "kernel-matrix" and doc["modes"] == matrix.MODES
    assert [r["name"] for r in doc["rows"]] == ["16k", "rt", "w1"]
    assert doc["totals"] == t and md.rstrip().endswith("2 passed, 1 failed, 4 skipped, 0 expected failures")
    assert out.name.split("-")[1:3] == ["kernel", "matrix"]


def test_built_objects_follow_the_directory_makefile(tmp_path):
    (tmp_path / "arch/mm").mkdir(parents=True)
    (tmp_path / "arch/mm/Makefile").write_text(
        "obj-y := a.o b.o \\\n\tc.o\nobj-$(CONFIG_X) += x.o\nobj-$(CONFIG_Y) += y.o\n")
    cfg = tmp_path / ".config"
    cfg.write_text("CONFIG_X=y\n# CONFIG_Y is not set\n")
    got = matrix.built_objects(tmp_path, cfg, ["arch/mm/a.c", "arch/mm/c.c", "arch/mm/x.c",
                                               "arch/mm/y.c", "arch/mm/z.c"])
    assert got == ["arch/mm/a.c", "arch/mm/c.c", "arch/mm/x.c"]


def test_unbuilt_touched_files_are_left_out_of_w1(tmp_path):
    (tmp_path / "mm").mkdir()
    (tmp_path / "mm/Makefile").write_text(
        "mmu-y := memory.o \\\n\tpagewalk.o\n"
        "memory-hotplug-$(CONFIG_MEMORY_HOTPLUG) += memory_hotplug.o\n"
        "obj-$(CONFIG_KFENCE) += kfence.o\nobj-y += $(mmu-y) $(memory-hotplug-y)\n")
    cfg = tmp_path / ".config"
    cfg.write_text("CONFIG_MMU=y\n# CONFIG_MEMORY_HOTPLUG is not set\nCONFIG_KFENCE=y\n")
    assert matrix.unbuilt(tmp_path, cfg, "mm/memory_hotplug.c")
    assert not matrix.unbuilt(tmp_path, cfg, "mm/pagewalk.c")
    assert not matrix.unbuilt(tmp_path, cfg, "mm/kfence.c")
    assert not matrix.unbuilt(tmp_path, cfg, "mm/unlisted.c")
    cfg.write_text("CONFIG_MEMORY_HOTPLUG=y\n")
    assert not matrix.unbuilt(tmp_path, cfg, "mm/memory_hotplug.c")


def test_xfail_rows():
    cells = {"assume": {"result": "fail", "booted": False, "status": "complete"},
             "assume-repaint": {"result": "pass", "booted": True, "kselftests":
                                {"pass": 1, "fail": 0, "skip": 0}, "splats": 0}}
    out = matrix.apply_xfail(cells, "base fails too")
    assert out["assume"]["result"] == "xfail"
    assert matrix.fmt_cell(out["assume"]).startswith("XFAIL (base fails too): not booted")
    assert out["assume-repaint"]["result"] == "fail"
    assert "XPASS" in matrix.fmt_cell(out["assume-repaint"])
    rows = [{"build": {"result": "ok"}, "cells": out}]
    assert matrix.totals(rows, ["assume", "assume-repaint"]) == {
        "pass": 0, "fail": 1, "skip": 0, "xfail": 1}
    same = {"m": {"result": "pass"}}
    assert matrix.apply_xfail(same, "") == {"m": {"result": "pass"}}
