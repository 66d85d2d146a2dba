"""powerconf: labpower's config rendered from the board inventory."""
import pytest

from bbml2lab import LabError, cli, config, powerconf
from conftest import LAB

GPIO = {"driver": "gpio", "chip": "lab-relays", "line": "rpi4-01-pwr", "active_low": True,
        "min_off_ms": 5000, "reset_off_ms": 6000, "initial": "off"}
CMD = {"driver": "command", "on": "lab/vboard/vboard start vb1",
       "off": "lab/vboard/vboard stop vb1", "status": "lab/vboard/vboard status vb1",
       "min_off_ms": 1000}


def section(text, name):
    """{key: value} of one [board NAME] section."""
    out, inside = {}, False
    for line in text.splitlines():
        if line.startswith("["):
            inside = line == f"[board {name}]"
        elif inside and " = " in line:
            k, v = line.split(" = ", 1)
            out[k] = v
    return out


def test_gpio_section():
    text = powerconf.render({"rpi4-01": {"power": GPIO}, "virt": {}})
    assert section(text, "rpi4-01") == {
        "driver": "gpio", "chip": "lab-relays", "line": "rpi4-01-pwr", "active_low": "true",
        "initial": "off", "min_off_ms": "5000", "reset_off_ms": "6000"}
    assert "[board virt]" not in text       # no power block, no section
    assert text.startswith("# labpower config, generated from configs/boards.yaml")


def test_defaults_and_offset_line():
    text = powerconf.render({"b": {"power": {"driver": "gpio", "chip": "gpiochip2", "line": 3}}})
    s = section(text, "b")
    assert (s["line"], s["active_low"], s["initial"]) == ("3", "false", "off")
    assert (s["min_off_ms"], s["reset_off_ms"]) == ("3000", "3000")


def test_command_section_with_cwd():
    s = section(powerconf.render({"vb1": {"power": CMD}}, base_dir="/srv/lab"), "vb1")
    assert s["on"] == "lab/vboard/vboard start vb1"
    assert s["status"] == "lab/vboard/vboard status vb1"
    assert s["cwd"] == "/srv/lab"
    assert (s["min_off_ms"], s["reset_off_ms"]) == ("1000", "1000")


@pytest.mark.parametrize("command,argv", [
    ("pduclient --daemon 127.0.0.1 --port 1 --command on",
     ["pduclient", "--daemon", "127.0.0.1", "--port", "1", "--command", "on"]),
    ("sh -c 'echo a b; exit 3'", ["sh", "-c", "echo a b; exit 3"]),
    ('x "100% sure" it\\\'s', ["x", "100% sure", "it's"]),
    ("x tab\\\tin ü", ["x", "tab\tin", "ü"]),
])
def test_argv_encoding_round_trips(command, argv):
    words = powerconf.encode_argv(command, "w")
    assert all(0x21 <= ord(c) <= 0x7e for c in words.replace(" ", ""))
    assert powerconf.decode_argv(words) == argv


def test_encoding_is_exact():
    assert powerconf.encode_argv("a 'b c' 50%", "w") == "a b%20c 50%25"


@pytest.mark.parametrize("power,msg", [
    ({**CMD, "on": "vboard start | tee log"}, r"on: shell operator '\|'.*without a shell"),
    ({**CMD, "off": "vboard 'stop"}, r"off: cannot split .*No closing quotation"),
    ({**CMD, "on": "vboard ''"}, r"on: empty argument"),
    ({**CMD, "on": "   "}, r"on: empty command"),
    ({**CMD, "on": 5}, r"on: expected a command string"),
    ({k: v for k, v in CMD.items() if k != "off"}, r"driver command needs 'off'"),
    ({**GPIO, "reset_off_ms": 100}, r"reset_off_ms 100 is below min_off_ms 5000"),
    ({**GPIO, "min_off_ms": -5}, r"min_off_ms: expected milliseconds"),
    ({**GPIO, "min_off_ms": True}, r"min_off_ms: expected milliseconds"),
    ({**GPIO, "chip": "lab\nrelays"}, r"chip: .* cannot be written"),
    ({**GPIO, "line": " x"}, r"line: .* cannot be written"),
    ({k: v for k, v in GPIO.items() if k != "chip"}, r"driver gpio needs 'chip'"),
    ({**GPIO, "on": "x"}, r"driver gpio takes no on"),
    ({**GPIO, "initial": "up"}, r"initial: expected on or off"),
    ({**GPIO, "active_low": "yes"}, r"active_low: expected true or false"),
    ({"driver": "relay"}, r"driver: expected gpio or command, got 'relay'"),
])
def test_refusals(power, msg):
    with pytest.raises(LabError, match=r"^boards/b1/power.*" + msg):
        powerconf.render({"b1": {"power": power}})


def test_duplicate_line_refused():
    with pytest.raises(LabError, match=r"boards/b/power: chip lab-relays line 1 is also a's"):
        powerconf.render({"a": {"power": {**GPIO, "line": 1}}, "b": {"power": {**GPIO, "line": "1"}}})


def test_bad_board_name_and_no_power():
    with pytest.raises(LabError, match=r"board name 'a b' is not valid"):
        powerconf.render({"a b": {"power": GPIO}})
    with pytest.raises(LabError, match=r"no board has a power block"):
        powerconf.render({"virt": {"kind": "qemu"}})


def test_real_inventory_renders():
    boards = config.load_boards(LAB.parent / "configs/boards.yaml")
    text = powerconf.render(boards, base_dir="/srv/lab")
    powered = [n for n, b in boards.items() if "power" in b]
    assert powered and text.count("[board ") == len(powered)
    for name in powered:
        s = section(text, name)
        p = boards[name]["power"]
        assert s["driver"] == p["driver"]
        assert int(s["min_off_ms"]) == p["min_off_ms"]
        if p["driver"] == "command":
            assert powerconf.decode_argv(s["on"]) == p["on"].split()


def test_cli_power_config(tmp_path, capsys):
    out = tmp_path / "labpower.conf"
    assert cli.main(["power-config", "-o", str(out), "--base-dir", "/srv/lab",
                     "--lock-wait-ms", "20000"]) == 0
    text = out.read_text()
    assert "\nlock_wait_ms = 20000\n" in text and "cwd = /srv/lab" in text
    assert capsys.readouterr().out == f"{out}: {text.count('[board ')} board(s)\n"
    assert cli.main(["power-config"]) == 0
    assert capsys.readouterr().out == text.replace("lock_wait_ms = 20000\n\n", "").replace(
        "/srv/lab", str(LAB.parent))


def test_cli_power_config_errors(tmp_path, capsys):
    bad = tmp_path / "boards.yaml"
    bad.write_text("boards: [1\n")
    assert cli.main(["power-config", "--boards", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad}: YAML error") and err.count("\n") == 1
    assert cli.main(["power-config", "-o", str(tmp_path / "no/such/dir/x.conf")]) == 2
    assert "cannot write" in capsys.readouterr().err
