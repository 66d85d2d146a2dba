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

from . import LabError

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
BOARD_SCHEMA = vol.Schema({
    vol.Required("kind"): vol.Any("qemu", "u-boot", msg="kind must be qemu or u-boot"),
    vol.Required("device_type"): vol.Match(NAME),
    vol.Required("bbml2"): vol.Any("uniform", "mixed", "none",
                                   msg="bbml2 must be uniform, mixed or none"),
    vol.Required("console"): {vol.Required("device"): str,
                              vol.Required("baud"): vol.All(int, vol.Range(min=1200))},
    vol.Optional("description"): str,
    vol.Optional("qemu"): {vol.Optional("cpu"): str, vol.Optional("machine"): str,
                           vol.Optional("device_dict"): str},
    vol.Optional("uboot"): {vol.Required("kernel_addr"): HEX, vol.Required("ramdisk_addr"): HEX,
                            vol.Required("dtb_addr"): HEX, vol.Optional("dtb"): str},
    vol.Optional("power"): {vol.Required("gpio_chip"): str,
                            vol.Required("gpio_line"): vol.All(int, vol.Range(min=0)),
                            vol.Optional("active_low"): bool},
})
BOARDS_SCHEMA = vol.Schema({vol.Required("boards"): vol.All({vol.Match(NAME): BOARD_SCHEMA},
                                                            vol.Length(min=1))})


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


def load_boards(path):
    """Load and validate boards.yaml; returns {name: board dict}."""
    boards = _check(BOARDS_SCHEMA, load_yaml(path), path)["boards"]
    for name, b in boards.items():
        need = {"qemu": ["qemu"], "u-boot": ["uboot", "power"]}[b["kind"]]
        for key in need:
            if key not in b:
                raise LabError(f"{path}: boards/{name}: kind {b['kind']} needs a '{key}' section")
        if "uboot" in b:
            b["uboot"] = {k: hex(v) if isinstance(v, int) else v for k, v in b["uboot"].items()}
    return boards


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

    def expand(self, plan, overrides=None):
        """JobSpecs for a plan. overrides: board/config/cpus/mem_mb/modes/cmdline/
        timeout_min (from the command line; cmdline appends, the others replace)."""
        if plan not in self.plans:
            raise LabError(f"{self.path}: unknown plan '{plan}' (known: {', '.join(self.plans)})")
        return self.expand_entries(self.plans[plan], overrides, where=f"plans/{plan}")

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
                            mode_args=self.modes[mode], extra_args=e["cmdline"],
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

