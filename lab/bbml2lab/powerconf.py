"""labpower's config file, rendered from the board inventory.

configs/boards.yaml is the one source of truth: every board's `power` block
(as config.load_boards() returns it) becomes a `[board NAME]` section of the
flat file that lab/power/labpower reads (/etc/labpower.conf by default).

Command lines (`on`, `off`, `status`) are split with shlex, as LAVA splits
its power commands (no shell), and written one argument per space-separated
word, with every byte outside printable ASCII, and ' ' and '%', as %XX.
"""
import shlex

from . import LabError

NAME_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
SHELL_OPERATORS = {"|", "||", "&", "&&", ";", ";;", ">", ">>", "<", "<<", "2>", "2>&1", "&>"}
GPIO_KEYS = {"driver", "chip", "line", "active_low", "min_off_ms", "reset_off_ms", "initial"}
COMMAND_KEYS = {"driver", "on", "off", "status", "min_off_ms", "reset_off_ms"}
DEFAULT_MIN_OFF_MS = 3000


def encode_arg(arg):
    """One argument as one word: %XX for '%', space, controls and non-ASCII."""
    if not arg:
        raise ValueError("empty argument")
    out = []
    for byte in arg.encode():
        if byte <= 0x20 or byte >= 0x7f or byte == 0x25:
            out.append(f"%{byte:02X}")
        else:
            out.append(chr(byte))
    return "".join(out)


def decode_argv(text):
    """The inverse of encode_argv (what labpower's parser does)."""
    args = []
    for word in text.split():
        raw, i = bytearray(), 0
        while i < len(word):
            if word[i] == "%":
                raw.append(int(word[i + 1:i + 3], 16))
                i += 3
            else:
                raw.append(ord(word[i]))
                i += 1
        args.append(raw.decode())
    return args


def encode_argv(command, where):
    """A shell-free command string (shlex rules) -> the config file's word list."""
    try:
        args = shlex.split(command)
    except ValueError as e:
        raise LabError(f"{where}: cannot split '{command}': {e}") from None
    if not args:
        raise LabError(f"{where}: empty command")
    for a in args:
        if a in SHELL_OPERATORS:
            raise LabError(f"{where}: shell operator '{a}' in '{command}': power commands run "
                           "without a shell (wrap it as sh -c '...')")
        if not a:
            raise LabError(f"{where}: empty argument in '{command}'")
        if "\0" in a:
            raise LabError(f"{where}: NUL byte in '{command}'")
    return " ".join(encode_arg(a) for a in args)


def _value(v, where):
    text = str(v)
    if not text or text != text.strip() or any(c in text for c in "\n\r\0") or text[0] == "#":
        raise LabError(f"{where}: {text!r} cannot be written to the config file "
                       "(empty, surrounding blanks, a newline, or a leading '#')")
    return text


def _ms(p, key, where, default):
    v = p.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 86400000:
        raise LabError(f"{where}/{key}: expected milliseconds 0..86400000, got {v!r}")
    return v


def board_section(name, power, where, base_dir=None):
    """The `[board NAME]` section (list of lines) of one board's power block."""
    if not name or set(name) - NAME_OK or not name[0].isalnum() or len(name) > 63:
        raise LabError(f"{where}: board name '{name}' is not valid for labpower")
    if not isinstance(power, dict):
        raise LabError(f"{where}: expected a mapping")
    driver = power.get("driver")
    keys = {"gpio": GPIO_KEYS, "command": COMMAND_KEYS}.get(driver)
    if keys is None:
        raise LabError(f"{where}/driver: expected gpio or command, got {driver!r}")
    extra = sorted(set(power) - keys)
    if extra:
        raise LabError(f"{where}: driver {driver} takes no {', '.join(extra)}")
    min_off = _ms(power, "min_off_ms", where, DEFAULT_MIN_OFF_MS)
    reset_off = _ms(power, "reset_off_ms", where, min_off)
    if reset_off < min_off:
        raise LabError(f"{where}: reset_off_ms {reset_off} is below min_off_ms {min_off}")
    lines = [f"[board {name}]", f"driver = {driver}"]
    if driver == "gpio":
        for key in ("chip", "line"):
            if key not in power:
                raise LabError(f"{where}: driver gpio needs '{key}'")
            if isinstance(power[key], bool):
                raise LabError(f"{where}/{key}: expected a name or an offset")
            lines.append(f"{key} = {_value(power[key], f'{where}/{key}')}")
        active_low = power.get("active_low", False)
        if not isinstance(active_low, bool):
            raise LabError(f"{where}/active_low: expected true or false")
        initial = power.get("initial", "off")
        if initial not in ("on", "off"):
            raise LabError(f"{where}/initial: expected on or off, got {initial!r}")
        lines += [f"active_low = {'true' if active_low else 'false'}", f"initial = {initial}"]
    else:
        for key in ("on", "off", "status"):
            if key in power:
                if not isinstance(power[key], str):
                    raise LabError(f"{where}/{key}: expected a command string")
                lines.append(f"{key} = {encode_argv(power[key], f'{where}/{key}')}")
            elif key != "status":
                raise LabError(f"{where}: driver command needs '{key}'")
        if base_dir is not None:
            lines.append(f"cwd = {_value(base_dir, f'{where} (base dir)')}")
    lines += [f"min_off_ms = {min_off}", f"reset_off_ms = {reset_off}"]
    return lines


def render(boards, source="configs/boards.yaml", base_dir=None, lock_wait_ms=None):
    """The whole config file for {name: board} (boards without `power` are left
    out). base_dir: the directory command boards' commands run in (their
    relative paths, e.g. lab/vboard/vboard, are relative to it)."""
    out = [f"# labpower config, generated from {source} by `lab/run.py power-config`.",
           "# Do not edit: change the inventory and generate it again.", ""]
    if lock_wait_ms is not None:
        out += [f"lock_wait_ms = {_ms({'v': lock_wait_ms}, 'v', 'lock_wait_ms', 0)}", ""]
    seen, count = {}, 0
    for name, board in boards.items():
        power = board.get("power")
        if power is None:
            continue
        where = f"boards/{name}/power"
        if power.get("driver") == "gpio":
            key = (str(power.get("chip")), str(power.get("line")))
            if key in seen:
                raise LabError(f"{where}: chip {key[0]} line {key[1]} is also {seen[key]}'s")
            seen[key] = name
        out += board_section(name, power, where, base_dir) + [""]
        count += 1
    if not count:
        raise LabError(f"{source}: no board has a power block")
    return "\n".join(out)
