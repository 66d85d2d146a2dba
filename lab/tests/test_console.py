"""Console cleanup: kernel lines, splices, markers."""
from bbml2lab import console
from conftest import read


def test_separate_splice_and_kernel_lines():
    lines = console.split_lines("a\r\r\nok 3 some_te[   12.345678] random: crng init done\r\r\n"
                                "[   12.400000] other\r\nst_name\r\r\nb")
    assert console.separate(lines) == [
        ("user", "a"), ("kernel", "[   12.345678] random: crng init done"),
        ("kernel", "[   12.400000] other"), ("user", "ok 3 some_test_name"), ("user", "b")]


def test_trailing_fragment_kept_when_stream_ends():
    lines = ["ok 1 abc[    1.000000] msg"]
    assert console.separate(lines) == [("kernel", "[    1.000000] msg"), ("user", "ok 1 abc")]


def test_markers(data):
    c = console.parse(read(data / "spliced.console"))
    assert c.boot == {"suite": "smoke", "cpus": "0-3", "mem_kb": 1020608}
    assert (c.began, c.ended, c.rc, c.poweroff, c.dmesg_complete) == ("smoke", True, 1, True, True)
    assert c.linux_version == "6.12.117 (root@vm) (gcc) #1 SMP PREEMPT"
    assert "[   12.345678] random: crng init done" in c.kernel
    assert len(c.dmesg) == 4 and all(line.startswith("[") for line in c.dmesg)
    assert not any(line.startswith("[") for line in c.ktap)


def test_end_marker_of_other_suite_is_not_the_end():
    c = console.parse("bbml2-lab: suite a begin\nbbml2-lab: suite b end rc=0\nok 1 x\n")
    assert not c.ended
    assert c.ktap[:2] == ["bbml2-lab: suite b end rc=0", "ok 1 x"]


def test_nothing_printed():
    c = console.parse("")
    assert c.boot is None and c.began is None and not c.poweroff and c.ktap == []


def test_universal_newline_reading_gives_same_result(data):
    """Text read with universal newlines turns "\\r\\r\\n" into blank lines;
    they must not break the splice repair."""
    a = console.parse(read(data / "spliced.console"))
    b = console.parse((data / "spliced.console").read_text())
    assert [x for x in b.ktap if x] == [x for x in a.ktap if x]
    assert "ok 2 some_test_name" in b.ktap
