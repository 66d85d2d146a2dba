"""configs/matrix.yaml and configs/boards.yaml: loading, validation, expansion.

A plan is a list of entries; each entry expands over cpus x mem_mb x modes into
JobSpecs. Every problem is reported as a LabError naming the file and the key
path, e.g. "configs/matrix.yaml: plans/check/0/cpus: expected int".
"""
import re
from dataclasses import dataclass
from pathlib import Path

import voluptuous as vol
import yaml

from . import LabError, cpus

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
SUITE = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
# Characters that would break the qemu image_arg quoting or LAVA's {kernel} format.
CMDLINE_BAD = re.compile(r"[\"'{}\\\n\r\t]")
HEX = vol.Any(vol.Match(r"^0x[0-9a-fA-F]+$", msg="expected a hex address like 0x2800000"),
              vol.All(int, vol.Range(min=0)))


def _list_of(item):
    """A scalar or a non-empty list of scalars."""
    return vol.Any(item, vol.All([item], vol.Length(min=1)))


def _cmdline(value):
    if not isinstance(value, str):
        raise vol.Invalid("expected a string")
    if CMDLINE_BAD.search(value):
        raise vol.Invalid("kernel arguments must not contain quotes, braces, backslashes or tabs/newlines")
    return value


CPUS = vol.All(int, vol.Range(min=1, max=64, msg="cpus must be 1..64"))
MEM = vol.All(int, vol.Range(min=128, max=65536, msg="mem_mb must be 128..65536"))
ENTRY_FIELDS = {
    vol.Optional("board"): vol.Match(NAME),
    vol.Optional("config"): vol.Match(NAME),
    vol.Optional("cpus"): _list_of(CPUS),
    vol.Optional("mem_mb"): _list_of(MEM),
    vol.Optional("modes"): _list_of(vol.Match(NAME)),
    vol.Optional("cmdline"): _cmdline,
    vol.Optional("timeout_min"): vol.All(int, vol.Range(min=1, max=600)),
}
MATRIX_SCHEMA = vol.Schema({
    vol.Required("configs"): vol.All([vol.Match(NAME)], vol.Length(min=1)),
    vol.Required("modes"): vol.All({vol.Match(NAME): vol.Any(_cmdline, None)}, vol.Length(min=1)),
    vol.Required("defaults"): {**ENTRY_FIELDS},
    vol.Required("plans"): vol.All({vol.Match(NAME): vol.All([{
        vol.Required("name"): vol.Match(NAME),
        vol.Required("suite"): vol.Match(SUITE, msg="suite names are [A-Za-z0-9_-]"),
        vol.Optional("description"): str,
        **ENTRY_FIELDS,
    }], vol.Length(min=1))}, vol.Length(min=1)),
})
OVERRIDES_SCHEMA = vol.Schema({
    vol.Optional("board"): vol.Match(NAME),
    vol.Optional("config"): vol.Match(NAME),
    vol.Optional("cpus"): [CPUS],
    vol.Optional("mem_mb"): [MEM],
    vol.Optional("modes"): [vol.Match(NAME)],
    vol.Optional("cmdline"): _cmdline,
    vol.Optional("timeout_min"): vol.All(int, vol.Range(min=1, max=600)),
})
MODE_NAMES = ("none", "off", "assume", "assume-repaint", "repaint")
EMULATED_ONLY_MODES = ("assume", "assume-repaint")
HARDWARE_MODES = ["none", "off", "repaint"]
KINDS = ("qemu", "qemu-uboot", "u-boot", "uefi-grub")
_RANGE = vol.All([vol.All(int, vol.Range(min=0))], vol.Length(min=2, max=2))
CPU_GROUP = {
    vol.Required("class"): vol.Match(NAME),
    vol.Required("midr"): vol.Match(r"^0x[0-9a-fA-F]{1,8}$", msg="expected a hex MIDR like 0x410fd842"),
    vol.Optional("count", default=1): vol.Any(vol.All(int, vol.Range(min=1, max=1024)), "rest",
                                              msg="count must be a positive int or 'rest'"),
}
POWER_SCHEMA = vol.Any(
    {vol.Required("driver"): "gpio",
     vol.Required("chip"): vol.All(str, vol.Length(min=1)),
     vol.Required("line"): vol.Any(vol.All(int, vol.Range(min=0)), vol.Match(NAME)),
     vol.Optional("active_low", default=False): bool,
     vol.Optional("min_off_ms", default=3000): vol.All(int, vol.Range(min=0, max=600000)),
     vol.Optional("reset_off_ms"): vol.All(int, vol.Range(min=0, max=600000)),
     vol.Optional("initial", default="off"): vol.Any("on", "off")},
    {vol.Required("driver"): "command",
     vol.Required("on"): vol.All(str, vol.Length(min=1)),
     vol.Required("off"): vol.All(str, vol.Length(min=1)),
     vol.Optional("status"): vol.All(str, vol.Length(min=1)),
     vol.Optional("min_off_ms", default=3000): vol.All(int, vol.Range(min=0, max=600000)),
     vol.Optional("reset_off_ms"): vol.All(int, vol.Range(min=0, max=600000))},
    msg="power: driver gpio {chip, line, active_low, min_off_ms, reset_off_ms, initial} "
        "or driver command {on, off, status, min_off_ms, reset_off_ms}")
BOARD_SCHEMA = vol.Schema({
    vol.Required("kind"): vol.Any(*KINDS, msg=f"kind must be one of {', '.join(KINDS)}"),
    vol.Required("platform"): vol.Any("emulated", "hardware",
                                      msg="platform must be emulated or hardware"),
    vol.Required("cpus"): vol.All([CPU_GROUP], vol.Length(min=1)),
    vol.Optional("mem_mb"): vol.All(int, vol.Range(min=128, msg="mem_mb must be at least 128")),
    vol.Optional("limits"): {vol.Optional("cpus"): _RANGE, vol.Optional("mem_mb"): _RANGE},
    vol.Required("bbml2"): vol.Any("uniform", "mixed", "none",
                                   msg="bbml2 must be uniform, mixed or none"),
    vol.Optional("modes"): vol.All([vol.Any(*MODE_NAMES)], vol.Length(min=1)),
    vol.Required("kernel_config"): vol.Match(NAME),
    vol.Required("lava"): {vol.Required("hostname"): vol.Match(NAME),
                           vol.Required("device_type"): vol.Match(NAME),
                           vol.Required("worker"): vol.Match(NAME),
                           vol.Optional("tags", default=[]): [vol.Match(NAME)]},
    vol.Required("console"): {vol.Required("device"): str,
                              vol.Required("baud"): vol.All(int, vol.Range(min=1200)),
                              vol.Optional("connection"): str},
    vol.Optional("description"): str,
    vol.Optional("power"): POWER_SCHEMA,
    vol.Optional("qemu"): {vol.Optional("cpu"): str, vol.Optional("machine"): str,
                           vol.Optional("device_dict"): str,
                           vol.Optional("el2shim", default=False): bool},
    vol.Optional("uboot"): {vol.Required("kernel_addr"): HEX, vol.Required("ramdisk_addr"): HEX,
                            vol.Required("dtb_addr"): HEX, vol.Optional("dtb"): str},
    vol.Optional("grub"): {vol.Optional("efi", default=True): bool},
})
BOARDS_SCHEMA = vol.Schema({vol.Required("boards"): vol.All({vol.Match(NAME): BOARD_SCHEMA},
                                                            vol.Length(min=1))})
# What each kind needs besides the common keys.
KIND_NEEDS = {"qemu": ["qemu"], "qemu-uboot": ["qemu", "uboot", "power", "mem_mb"],
              "u-boot": ["uboot", "power", "mem_mb"], "uefi-grub": ["grub", "power", "mem_mb"]}


@dataclass(frozen=True)
class JobSpec:
    """One boot: what to run, where, and with which kernel arguments."""
    name: str
    entry: str
    suite: str
    config: str
    board: str
    cpus: int
    mem_mb: int
    mode: str
    mode_args: str
    extra_args: str
    timeout_min: int

    @property
    def kernel_args(self):
        """Per-job kernel arguments (everything after console= and rdinit=)."""
        parts = [f"bbml2lab.suite={self.suite}", f"bbml2lab.cpus={self.cpus}",
                 f"bbml2lab.mem_mb={self.mem_mb}", self.extra_args, self.mode_args]
        return " ".join(p for p in parts if p)


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans: only true/false, so a mode named
    `off` (or `on`, `yes`, `no`) stays a string."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                              re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def load_yaml(path, loader=_Loader, what="expected a mapping at the top level"):
    """A YAML file whose top level is a mapping; LabError naming the file
    otherwise. The default loader reads YAML 1.2 booleans (see _Loader)."""
    try:
        with open(path) as f:
            data = yaml.load(f, Loader=loader)
    except OSError as e:
        raise LabError(f"{path}: cannot read: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise LabError(f"{path}: YAML error: {' '.join(str(e).split())}") from None
    if not isinstance(data, dict):
        raise LabError(f"{path}: {what}")
    return data


def _check(schema, data, path):
    try:
        return schema(data)
    except vol.MultipleInvalid as e:
        errs = sorted(e.errors, key=lambda x: [str(p) for p in x.path])
        msg = "; ".join(f"{'/'.join(map(str, x.path)) or '<top>'}: {x.msg}" for x in errs[:3])
        raise LabError(f"{path}: {msg}") from None


def _check_board(path, name, b):
    """Cross-field rules of one board; LabError naming the board."""
    where = f"{path}: boards/{name}"
    for key in KIND_NEEDS[b["kind"]]:
        if key not in b:
            raise LabError(f"{where}: kind {b['kind']} needs '{key}'")
    hardware = b["platform"] == "hardware"
    if hardware and b["kind"] in ("qemu", "qemu-uboot"):
        raise LabError(f"{where}: kind {b['kind']} is emulated, not hardware")
    rest = [i for i, g in enumerate(b["cpus"]) if g["count"] == "rest"]
    if rest and (hardware or rest != [len(b["cpus"]) - 1]):
        raise LabError(f"{where}: cpus: 'count: rest' only in the last group of an emulated board")
    for g in b["cpus"]:
        cpus.parse_midr(g["midr"])
    if not rest:
        implied = cpus.implied_bbml2(cpus.expand(b["cpus"]))
        if implied != b["bbml2"]:
            raise LabError(f"{where}: bbml2 is {b['bbml2']} but its CPUs' MIDRs make it {implied} "
                           "(allow-list: lab/bbml2lab/cpus.py)")
    elif not cpus.on_allow_list(b["cpus"][0]["midr"]) and b["bbml2"] != "none":
        raise LabError(f"{where}: bbml2 is {b['bbml2']} but the boot CPU is not on the allow-list")
    if b.get("qemu", {}).get("el2shim"):
        if b["kind"] != "qemu" or rest:
            raise LabError(f"{where}: el2shim needs kind qemu and a fixed CPU list")
        if "virtualization=on" not in b["qemu"].get("machine", ""):
            raise LabError(f"{where}: el2shim needs qemu.machine with virtualization=on")
    elif len({g["midr"] for g in b["cpus"]}) > 1 and b["platform"] == "emulated" \
            and b["kind"] in ("qemu", "qemu-uboot"):
        raise LabError(f"{where}: CPUs with different MIDRs under QEMU need qemu.el2shim "
                       "(-cpu gives every CPU the same MIDR)")
    if hardware and "limits" in b:
        raise LabError(f"{where}: limits are for emulated boards; hardware has fixed cpus/mem_mb")
    modes = b.setdefault("modes", HARDWARE_MODES if hardware else list(MODE_NAMES))
    if hardware:
        bad = [m for m in modes if m in EMULATED_ONLY_MODES]
        if bad:
            raise LabError(f"{where}: modes: {', '.join(bad)} only exist for emulated CPUs")
    if "power" in b and b["power"].get("reset_off_ms", b["power"]["min_off_ms"]) \
            < b["power"]["min_off_ms"]:
        raise LabError(f"{where}: power: reset_off_ms is below min_off_ms")
    for key, (lo, hi) in b.get("limits", {}).items():
        if lo > hi:
            raise LabError(f"{where}: limits/{key}: {lo} > {hi}")
    b["lava"]["tags"] = sorted(set(b["lava"]["tags"]) | {f"bbml2-{b['bbml2']}"})


def load_boards(path):
    """Load and validate boards.yaml; returns {name: board dict}."""
    boards = _check(BOARDS_SCHEMA, load_yaml(path), path)["boards"]
    hosts, lines = {}, {}
    for name, b in boards.items():
        _check_board(path, name, b)
        if "uboot" in b:
            b["uboot"] = {k: hex(v) if isinstance(v, int) else v for k, v in b["uboot"].items()}
        host = b["lava"]["hostname"]
        if host in hosts:
            raise LabError(f"{path}: boards/{name}: LAVA hostname {host} is also {hosts[host]}'s")
        hosts[host] = name
        p = b.get("power", {})
        if p.get("driver") == "gpio":
            line = (p["chip"], str(p["line"]))
            if line in lines:
                raise LabError(f"{path}: boards/{name}: power line {line[0]}/{line[1]} is also "
                               f"{lines[line]}'s")
            lines[line] = name
    return boards


def board_args(board, count):
    """Kernel arguments a board adds to every job: for an el2shim board its
    CPU list (el2shim.cpus=, read by el2shim from the DTB's bootargs) and
    which CPUs lack BBML2 (bbml2lab.nobbml2=, for the guest's checks)."""
    if not board.get("qemu", {}).get("el2shim"):
        return ""
    groups, out = [], []
    for c in board_cpus(board, count):
        if groups and groups[-1][1] == c["midr"]:
            groups[-1][0] += 1
        else:
            groups.append([1, c["midr"]])
    shim = ",".join(m if n == 1 else f"{n}*{m}" for n, m in groups)
    out.append(f"el2shim.cpus={shim}")
    missing = [str(i) for i, c in enumerate(board_cpus(board, count))
               if not cpus.on_allow_list(c["midr"])]
    if missing:
        out.append(f"bbml2lab.nobbml2={','.join(missing)}")
    return " ".join(out)


def board_cpus(board, count=None):
    """Per-CPU list of a board for a job with `count` CPUs."""
    return cpus.expand(board["cpus"], count)


class Matrix:
    """A validated matrix.yaml."""

    def __init__(self, path, boards):
        self.path = path
        data = _check(MATRIX_SCHEMA, load_yaml(path), path)
        self.configs = data["configs"]
        self.modes = {k: v or "" for k, v in data["modes"].items()}
        self.defaults = data["defaults"]
        self.plans = data["plans"]
        self.boards = boards
        for key in ("board", "config", "cpus", "mem_mb", "modes", "cmdline", "timeout_min"):
            if key not in self.defaults:
                raise LabError(f"{path}: defaults: '{key}' is required")
        if "rodata=full" not in self.defaults["cmdline"].split():
            raise LabError(f"{path}: defaults/cmdline: must include rodata=full")
        for plan, entries in self.plans.items():
            for i, entry in enumerate(entries):
                self._check_entry(self._merged(entry), f"plans/{plan}/{i}")

    def _merged(self, entry, overrides=None):
        merged = {**self.defaults, **entry}
        merged["cmdline"] = " ".join(x for x in (self.defaults["cmdline"],
                                                 entry.get("cmdline", "")) if x)
        for key, value in (overrides or {}).items():
            if value is None:
                continue
            merged[key] = (merged["cmdline"] + " " + value) if key == "cmdline" else value
        for key in ("cpus", "mem_mb", "modes"):
            if not isinstance(merged[key], list):
                merged[key] = [merged[key]]
        return merged

    def _check_entry(self, e, where):
        for mode in e["modes"]:
            if mode not in self.modes:
                raise LabError(f"{self.path}: {where}: unknown mode '{mode}' "
                               f"(known: {', '.join(self.modes)})")
        if e["board"] not in self.boards:
            raise LabError(f"{self.path}: {where}: unknown board '{e['board']}' "
                           f"(known: {', '.join(self.boards)})")
        if e["config"] not in self.configs:
            raise LabError(f"{self.path}: {where}: unknown kernel config '{e['config']}' "
                           f"(known: {', '.join(self.configs)})")
        board = self.boards[e["board"]]
        for mode in e["modes"]:
            if mode not in board["modes"]:
                raise LabError(f"{self.path}: {where}: board {e['board']} does not run mode "
                               f"'{mode}' (its modes: {', '.join(board['modes'])})")

    def _board_facts(self, e, explicit, where):
        """cpus/mem_mb of an entry as its board allows: hardware boards fix
        both (an explicit value is refused), emulated boards take the plan's
        within the inventory's limits (the board's own values by default)."""
        board = self.boards[e["board"]]
        if "config" not in explicit:
            e["config"] = board["kernel_config"]
        fixed = not any(g["count"] == "rest" for g in board["cpus"])
        own = {"cpus": len(board_cpus(board)) if fixed else None, "mem_mb": board.get("mem_mb")}
        for key in ("cpus", "mem_mb"):
            if board["platform"] == "hardware":
                if key in explicit and e[key] != [own[key]]:
                    raise LabError(f"{where}: board {e['board']} is hardware with {own[key]} "
                                   f"{'CPUs' if key == 'cpus' else 'MiB'}: {key} "
                                   f"{e[key]} contradicts it")
                e[key] = [own[key]]
                continue
            if key not in explicit and own[key] is not None:
                e[key] = [own[key]]
            lo, hi = board.get("limits", {}).get(key, (0, 1 << 30))
            for v in e[key]:
                if not lo <= v <= hi:
                    raise LabError(f"{where}: board {e['board']} takes {key} {lo}..{hi}, not {v}")
        for count in e["cpus"]:
            board_cpus(board, count)

    def plan_list(self, plan):
        """The plan names of a --plan value: one name, or several separated
        by commas ("nightly,nightly-mainline"). LabError for an unknown or
        repeated plan, and for an entry name two of the plans share (their
        job names would collide; never renamed silently)."""
        names = [p.strip() for p in str(plan).split(",")]
        for name in names:
            if name not in self.plans:
                raise LabError(f"{self.path}: unknown plan '{name}' "
                               f"(known: {', '.join(self.plans)})")
        seen, owner = set(), {}
        for name in names:
            if name in seen:
                raise LabError(f"--plan {plan}: plan '{name}' is given twice")
            seen.add(name)
            for entry in self.plans[name]:
                other = owner.setdefault(entry["name"], name)
                if other != name:
                    raise LabError(f"--plan {plan}: entry '{entry['name']}' is in plans "
                                   f"'{other}' and '{name}': rename one of them "
                                   "(job names start with it)")
        return names

    def expand(self, plan, overrides=None):
        """JobSpecs for a plan, or for several ("a,b": a's jobs, then b's).
        overrides: board/config/cpus/mem_mb/modes/cmdline/timeout_min (from
        the command line; cmdline appends, the others replace)."""
        return self._joined(plan, [(name, self.expand_entries(
            self.plans[name], overrides, where=f"plans/{name}")) for name in self.plan_list(plan)])

    def expand_only(self, plan, names, overrides=None):
        """JobSpecs of the named entries of a plan, or of several plans (in
        the plans' order)."""
        self.expand(plan)
        names = [n.strip() for n in names if n.strip()]
        plans = self.plan_list(plan)
        known = [e["name"] for p in plans for e in self.plans[p]]
        unknown = [n for n in names if n not in known]
        if unknown or not names:
            raise LabError(f"--only: no entry {', '.join(unknown) or '(none given)'} in plan "
                           f"'{plan}' (known: {', '.join(known)})")
        return self._joined(plan, [(p, self.expand_entries(
            [e for e in self.plans[p] if e["name"] in names], overrides, where=f"plans/{p}"))
            for p in plans])

    @staticmethod
    def _joined(plan, per_plan):
        """The jobs of [(plan name, jobs)] in order; LabError naming both
        plans if two of them make a job of the same name (a plan's own
        repeats are numbered _2 by expand_entries)."""
        owner, jobs = {}, []
        for name, specs in per_plan:
            for spec in specs:
                other = owner.setdefault(spec.name, name)
                if other != name:
                    raise LabError(f"--plan {plan}: job '{spec.name}' comes from plans "
                                   f"'{other}' and '{name}': rename an entry of one of them")
                jobs.append(spec)
        return jobs

    def expand_entries(self, entries, overrides=None, where="entry"):
        """JobSpecs for explicit entries (dicts with at least name and suite)."""
        if overrides:
            overrides = _check(OVERRIDES_SCHEMA, {k: v for k, v in overrides.items()
                                                  if v is not None}, "command line")
            if overrides.get("board", self.defaults["board"]) not in self.boards:
                raise LabError(f"--board: unknown board '{overrides['board']}' "
                               f"(known: {', '.join(self.boards)})")
            if overrides.get("config", self.configs[0]) not in self.configs:
                raise LabError(f"--config: unknown kernel config '{overrides['config']}' "
                               f"(known: {', '.join(self.configs)})")
            for mode in overrides.get("modes", []):
                if mode not in self.modes:
                    raise LabError(f"--modes: unknown mode '{mode}' "
                                   f"(known: {', '.join(self.modes)})")
        jobs, names = [], set()
        for i, entry in enumerate(entries):
            e = self._merged(entry, overrides)
            self._check_entry(e, f"{where}/{i}")
            explicit = set(entry) | {k for k, v in (overrides or {}).items() if v is not None}
            self._board_facts(e, explicit, f"{self.path}: {where}/{i}")
            for cpus in e["cpus"]:
                for mem in e["mem_mb"]:
                    for mode in e["modes"]:
                        name = f"{e['name']}-{mode}-{cpus}c-{mem}m"
                        base, n = name, 2
                        while name in names:
                            name, n = f"{base}_{n}", n + 1
                        names.add(name)
                        jobs.append(JobSpec(
                            name=name, entry=e["name"], suite=e["suite"], config=e["config"],
                            board=e["board"], cpus=cpus, mem_mb=mem, mode=mode,
                            mode_args=self.modes[mode],
                            extra_args=" ".join(x for x in (e["cmdline"], board_args(
                                self.boards[e["board"]], cpus)) if x),
                            timeout_min=e["timeout_min"]))
        return jobs


def parse_int_list(text, what):
    """'2048,8192' -> [2048, 8192] with a clear error for the CLI."""
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise LabError(f"{what}: expected comma-separated integers, got '{text}'") from None
    if not values:
        raise LabError(f"{what}: empty list")
    return values


def load(matrix_path, boards_path):
    """Load boards then matrix (the matrix refers to boards)."""
    return Matrix(Path(matrix_path), load_boards(Path(boards_path)))

