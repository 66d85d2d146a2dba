"""KTAP parser: nesting styles, directives, plan checks, cut streams."""
from bbml2lab import console, ktap
from conftest import by_name, read


def parse(text, cut=False, prefix="s"):
    return by_name(ktap.parse_results(console.split_lines(text), prefix, cut=cut))


def test_plain():
    r = parse("KTAP version 1\n1..3\nok 1 a\nnot ok 2 b\nok 3 - c # note here\n")
    assert {k: v["result"] for k, v in r.items()} == {"s.a": "pass", "s.b": "fail", "s.c": "pass"}
    assert r["s.c"]["detail"] == "note here"


def test_crlf_endings_stripped():
    r = parse("KTAP version 1\r\r\n1..2\r\r\nok 1 a\r\r\nnot ok 2 b # why\r\r\n")
    assert r["s.a"]["result"] == "pass"
    assert r["s.b"] == {"name": "s.b", "result": "fail", "detail": "why"}


def test_nested_two_levels_ktap_indent():
    text = ("KTAP version 1\n1..2\nok 1 init\n  KTAP version 1\n  # Subtest: cpus\n  1..2\n"
            "  ok 1 cpu0_online\n  not ok 2 cpu1_online\nnot ok 2 cpus\n")
    r = parse(text)
    assert list(r) == ["s.init", "s.cpus", "s.cpus.cpu0_online", "s.cpus.cpu1_online"]
    assert r["s.cpus.cpu1_online"]["result"] == "fail"


def test_nested_three_levels_ktap_indent():
    text = ("KTAP version 1\n1..1\n  KTAP version 1\n  1..1\n    KTAP version 1\n    1..2\n"
            "    ok 1 leaf_a\n    ok 2 leaf_b # SKIP later\n  ok 1 mid\nok 1 top\n")
    r = parse(text)
    assert r["s.top.mid.leaf_a"]["result"] == "pass"
    assert r["s.top.mid.leaf_b"]["result"] == "skip"
    assert r["s.top.mid.leaf_b"]["detail"] == "later"
    assert len(r) == 4


def test_kselftest_runner_three_levels(data):
    con = console.parse(read(data / "kselftest-runner.console"))
    assert con.ended and con.rc == 1
    r = by_name(ktap.parse_results(con.ktap, "kselftest"))
    top = "kselftest.selftests_arm64_bbml2_split"
    assert r[top]["result"] == "fail" and r[top]["detail"] == "exit=1"
    assert r[f"{top}.global_split_4k"]["result"] == "pass"
    assert r[f"{top}.global_split_2m"]["result"] == "fail"
    assert r[f"{top}.global_split_1g"]["result"] == "skip"
    assert r[f"{top}.global_split_1g"]["detail"] == "no 1G block in this VM"
    modes = "kselftest.selftests_arm64_bbml2_modes"
    assert r[f"{modes}.repaint.cpu1_pte_mapped"]["result"] == "pass"   # "# " + indent
    assert r[f"{modes}.outer.inner_a"]["result"] == "pass"             # "# # " level 3
    assert r[f"{modes}.outer.inner_b"]["result"] == "skip"             # TODO, known failure
    assert r["kselftest.selftests_arm64_bbml2_kfence"]["result"] == "skip"
    dup = "kselftest.selftests_arm64_bbml2_dup"
    assert [r[f"{dup}.{n}"]["result"] for n in ("same", "same_2", "same_3")] == ["pass"] * 3
    # runner diagnostics ("# timeout set to 45") are not results, no plan complaints
    assert not [n for n in r if n.endswith(".ktap") or "missing" in n]
    assert len(r) == 16


def test_duplicate_names_at_same_level_only():
    r = parse("KTAP version 1\n1..3\n  1..1\n  ok 1 x\nok 1 x\nok 2 x\nok 3 x_2\n")
    assert set(r) == {"s.x", "s.x.x", "s.x_2", "s.x_2_2"}


def test_directives():
    text = ("TAP version 13\n1..7\nok 1 a # SKIP no hardware\nnot ok 2 b # TODO fix later\n"
            "ok 3 c # XFAIL known bug\nnot ok 4 d # skip\nok 5 e # XPASS\nok 6 f # TODO\n"
            "ok 7 g # online=4 asked=4\n")
    r = parse(text)
    got = {k: (v["result"], v["detail"]) for k, v in r.items()}
    assert got == {
        "s.a": ("skip", "no hardware"),
        "s.b": ("skip", "TODO (known failure): fix later"),
        "s.c": ("pass", "XFAIL: known bug"),
        "s.d": ("skip", ""),
        "s.e": ("fail", "XPASS: passed unexpectedly"),
        "s.f": ("pass", "TODO:"),
        "s.g": ("pass", "online=4 asked=4"),
    }


def test_plan_missing_results_without_cut():
    r = parse("KTAP version 1\n1..3\nok 1 a\nok 2 b\n")
    assert r["s.missing_3"] == {"name": "s.missing_3", "result": "fail",
                                "detail": "missing: no result line"}


def test_plan_extra_results_flagged():
    r = parse("KTAP version 1\n1..2\nok 1 a\nok 2 b\nok 3 c\n")
    assert r["s.c"]["result"] == "pass"
    assert r["s.ktap"]["result"] == "fail"
    assert r["s.ktap"]["detail"] == "plan 1..2 but 3 results (extra: 3)"


def test_plan_at_end_is_fine():
    r = parse("TAP version 13\nok 1 a\nok 2 b\n1..2\n")
    assert set(r) == {"s.a", "s.b"}


def test_no_plan_is_flagged():
    r = parse("KTAP version 1\nok 1 a\n")
    assert r["s.ktap"]["detail"] == "no plan line"


def test_skip_all_plan():
    r = parse("KTAP version 1\n1..0 # SKIP suite 'x' is not in this initramfs\n")
    assert r == {"s.ktap": {"name": "s.ktap", "result": "skip",
                            "detail": "suite 'x' is not in this initramfs"}}


def test_no_ktap_at_all():
    r = parse("sh: /lab/bin/foo: not found\n", cut=True)
    assert r["s.ktap"]["result"] == "fail"
    assert r["s.ktap"]["detail"] == "no KTAP output (stream cut)"


def test_bail_out():
    r = parse("KTAP version 1\n1..3\nok 1 a\nBail out! debugfs missing\nok 2 ignored\n")
    assert r["s.a"]["result"] == "pass"
    assert r["s.bail_out"] == {"name": "s.bail_out", "result": "fail",
                               "detail": "Bail out! debugfs missing"}
    assert r["s.missing_2"]["detail"] == "missing: bailed out (debugfs missing)"
    assert r["s.missing_3"]["result"] == "fail"
    assert "s.ignored" not in r


def test_nested_bail_out_under_runner():
    r = parse("TAP version 13\n1..1\n# 1..2\n# ok 1 x\n# Bail out! no memory\n"
              "not ok 1 selftests: a: b # exit=1\n")
    assert r["s.selftests_a_b"]["result"] == "fail"
    assert r["s.selftests_a_b.bail_out"]["result"] == "fail"
    assert r["s.selftests_a_b.missing_2"]["detail"] == "missing: bailed out (no memory)"


def test_cut_stream_mid_plan_and_mid_subtest(data):
    con = console.parse(read(data / "cut-stream.console"))
    assert con.began == "smoke" and not con.ended
    r = by_name(ktap.parse_results(con.ktap, "smoke", cut=True))
    assert r["smoke.init_started"]["result"] == "pass"
    assert r["smoke.cpus"]["result"] == "fail"           # orphaned subtest gets its name
    assert r["smoke.cpus"]["detail"].startswith("missing: stream cut")
    assert r["smoke.cpus.cpu1_online"]["result"] == "pass"
    assert r["smoke.cpus.missing_3"]["detail"] == "missing: stream cut"
    assert r["smoke.cpus.missing_4"]["result"] == "fail"
    assert r["smoke.missing_4"]["detail"] == "missing: stream cut"
    assert r["smoke.missing_5"]["result"] == "fail"
    assert "smoke.missing_3" not in r                     # that one is smoke.cpus
    passes = [n for n, v in r.items() if v["result"] == "pass"]
    assert sorted(passes) == ["smoke.cmdline_readable", "smoke.cpus.cpu0_online",
                              "smoke.cpus.cpu1_online", "smoke.init_started"]


def test_cut_stream_before_plan():
    r = parse("KTAP version 1\nok 1 a\n", cut=True)
    assert r["s.ktap"]["detail"] == "stream cut before the plan line"


def test_runner_diagnostics_without_structure_are_not_nesting():
    r = parse("TAP version 13\n1..1\n# ok, starting\n# timeout set to 45\nok 1 t\n")
    assert set(r) == {"s.t"}


def test_kernel_lines_between_results_and_spliced(data):
    con = console.parse(read(data / "spliced.console"))
    r = by_name(ktap.parse_results(con.ktap, "smoke"))
    assert list(r) == ["smoke.first", "smoke.some_test_name", "smoke.foo_bar", "smoke.last"]
    assert r["smoke.some_test_name"]["result"] == "pass"
    assert r["smoke.foo_bar"] == {"name": "smoke.foo_bar", "result": "fail",
                                  "detail": "ptdump shows a block"}
    assert r["smoke.last"]["result"] == "skip"


def test_cut_kselftest_program_keeps_the_runners_name():
    """A boot that hangs inside a kselftest program: its subtests keep the
    program's name (from the runner's "# selftests: ..." line), so that
    results and expectations naming the program still match them; they were
    missing_3.* (split-wrong-output-address, 2026-12-06)."""
    text = ("TAP version 13\n1..3\n# selftests: arm64/bbml2: bbml2_mode\n# TAP version 13\n"
            "# 1..1\n# ok 1 mode.a\n# # Totals: pass:1\nok 1 selftests: arm64/bbml2: bbml2_mode\n"
            "# timeout set to 0\n# selftests: arm64/bbml2: bbml2_split\n# TAP version 13\n"
            "# 1..3\n# ok 1 split.x\n# # diagnostics\n# not ok 2 split.y\n")
    r = parse(text, cut=True)
    prog = "s.selftests_arm64_bbml2_bbml2_split"
    assert r[prog]["result"] == "fail"
    assert r[prog]["detail"].startswith("missing: stream cut")
    assert r[f"{prog}.split_x"]["result"] == "pass"
    assert r[f"{prog}.split_y"]["result"] == "fail"
    assert r[f"{prog}.missing_3"]["detail"] == "missing: stream cut"
    assert r["s.selftests_arm64_bbml2_bbml2_mode.mode_a"]["result"] == "pass"
    assert r["s.missing_3"]["detail"] == "missing: stream cut"
    assert not [k for k in r if k.startswith("s.missing_2")]


def test_runner_header_names_only_a_program_cut_after_it():
    """A header whose program finished names nothing else: a later cut
    block without a header stays missing_<n>."""
    text = ("TAP version 13\n1..2\n# selftests: a: b\n# 1..1\n# ok 1 x\nok 1 selftests: a: b\n"
            "# 1..2\n# ok 1 y\n")
    r = parse(text, cut=True)
    assert r["s.selftests_a_b.x"]["result"] == "pass"
    assert r["s.missing_2"]["result"] == "fail"
    assert r["s.missing_2.y"]["result"] == "pass"
