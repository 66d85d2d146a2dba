"""Render LAVA jobs and device dictionaries from jinja2 templates; validate jobs.

A job is composed from three separately rendered templates, each of which
must produce valid YAML on its own:
  job/header.jinja2          mapping: device_type, job_name, timeouts, context...
  deploy/<board kind>.jinja2 list: the deploy + boot actions for that device kind
  test/ktap-monitors.jinja2  list: the test action (monitors)
so a broken template is reported by name, with the jinja2 or YAML problem.
"""
import json
from pathlib import Path

import jinja2
import voluptuous
import yaml

from . import LabError
from .config import load_yaml

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
BASE_CMDLINE = "rdinit=/init"


def _one_line(text):
    return " ".join(str(text).split())


class Renderer:
    """Renders jobs from template_dir and qemu device dictionaries on top of
    LAVA's device-type templates (device_types_dir, from lava-server)."""

    def __init__(self, template_dir=TEMPLATE_DIR, device_types_dir=None, qemu_options=()):
        # qemu_options: extra QEMU arguments for every qemu job (e.g.
        # bench/sweep.py's "-icount shift=0"), after the per-job ones.
        self.qemu_options = list(qemu_options)
        # "{job}" in an option is the job's name (per-boot files of a plugin).
        self.template_dir = Path(template_dir)
        self.device_types_dir = Path(device_types_dir) if device_types_dir else None
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(self.template_dir)),
                                      undefined=jinja2.StrictUndefined, trim_blocks=True,
                                      keep_trailing_newline=True, autoescape=False)
        self.env.filters["tojson"] = _tojson

    def options_for(self, spec):
        return [o.replace("{job}", spec.name) for o in self.qemu_options]

    def _render_yaml(self, name, ctx, expect):
        """Render one template and parse it; errors name the template."""
        try:
            text = self.env.get_template(name).render(**ctx)
        except jinja2.TemplateNotFound as e:
            raise LabError(f"template {e.name}: not found in {self.template_dir}") from None
        except jinja2.TemplateSyntaxError as e:
            raise LabError(f"template {e.name or name}:{e.lineno}: jinja2 syntax error: "
                           f"{_one_line(e.message)}") from None
        except jinja2.UndefinedError as e:
            raise LabError(f"template {name}: {_one_line(e.message)}") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise LabError(f"template {name}: rendered text is not valid YAML: {_one_line(e)}") from None
        if not isinstance(data, expect):
            raise LabError(f"template {name}: expected a YAML {expect.__name__}, "
                           f"got {type(data).__name__}")
        return data

    def job(self, spec, board, kernel_url, initrd_url, dtb_url=None, sha256=None,
            queue_hours=None, provenance=None, shim_url=None, tags=None, run_id=None):
        """The job dict for spec on board (artifact URLs already resolved).
        sha256: {"kernel", "ramdisk", "dtb", "shim"} hashes to pin (server
        jobs); queue_hours: a queue timeout; provenance: extra metadata (git
        revision, kernel version) as {key: text}; shim_url: el2shim, which
        an el2shim board boots as QEMU's -kernel with the Image beside it;
        tags: device tags the job requests (server jobs: the board's, so LAVA
        cannot run it on another board of the same device type); run_id:
        appended to the job name (server jobs), so a job left on a server
        can be traced to its run."""
        if board.get("qemu", {}).get("el2shim") and not shim_url:
            raise LabError(f"board {spec.board} boots under el2shim: no el2shim URL given")
        console = f"console={board['console']['device']},{board['console']['baud']}"
        cmdline = f"{console} {BASE_CMDLINE} {spec.kernel_args}"
        if board["kind"] == "qemu":
            q = board["qemu"]
            context = {"arch": "arm64", "cpu": q.get("cpu", "max"),
                       "machine": q.get("machine", "virt"), "memory": spec.mem_mb,
                       "extra_options": qemu_extra_options(spec) + self.options_for(spec)}
        else:
            context = {"extra_kernel_args": f"{BASE_CMDLINE} {spec.kernel_args}",
                       "console_device": board["console"]["device"]}
            if "uboot" in board:          # GRUB servers load where GRUB decides
                u = board["uboot"]
                context.update(booti_kernel_addr=u["kernel_addr"],
                               booti_ramdisk_addr=u["ramdisk_addr"],
                               booti_dtb_addr=u["dtb_addr"])
        ctx = {
            "device_type": board["lava"]["device_type"], "job_name": f"bbml2-lab {spec.name}" + (f" {run_id}" if run_id else ""),
            "timeout_min": spec.timeout_min, "context": context,
            "metadata": {"bbml2lab.suite": spec.suite, "bbml2lab.mode": spec.mode,
                         "bbml2lab.config": spec.config, "bbml2lab.board": spec.board,
                         "bbml2lab.cpus": spec.cpus, "bbml2lab.mem_mb": spec.mem_mb,
                         "bbml2lab.cmdline": cmdline},
            "suite": spec.suite, "cmdline": cmdline, "kernel_url": kernel_url,
            "initrd_url": initrd_url, "dtb_url": dtb_url, "sha256": dict(sha256 or {}),
            "shim_url": shim_url, "shim_kernel_addr": EL2SHIM_KERNEL_ADDR,
            "queue_hours": queue_hours, "tags": list(tags or []), **timeouts(spec, board),
            "panic_end": board["platform"] == "hardware",
        }
        for key, value in (provenance or {}).items():
            ctx["metadata"][f"bbml2lab.{key}"] = value
        job = self._render_yaml("job/header.jinja2", ctx, dict)
        job["actions"] = (self._render_yaml(f"deploy/{DEPLOY[board['kind']]}.jinja2", ctx, list)
                          + self._render_yaml("test/ktap-monitors.jinja2", ctx, list))
        return job, cmdline

    def device(self, spec, board):
        """Rendered device YAML text for a local qemu board."""
        if board["kind"] != "qemu":
            raise LabError(f"board {spec.board}: kind {board['kind']} cannot run locally "
                           "(use `run.py lab` for lab boards)")
        if not self.device_types_dir or not (self.device_types_dir / "qemu.jinja2").is_file():
            raise LabError(f"LAVA device-type templates not found in {self.device_types_dir} "
                           "(need qemu.jinja2 from the lava-server package; see --device-types)")
        name = board["qemu"].get("device_dict", "qemu-local.jinja2")
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(
            [str(self.template_dir / "devices"), str(self.device_types_dir)]),
            trim_blocks=True, autoescape=False)
        q = board["qemu"]
        ctx = {"cpu": q.get("cpu", "max"), "machine": q.get("machine", "virt"),
               "memory": spec.mem_mb,
               "extra_options": qemu_extra_options(spec) + self.options_for(spec)}
        try:
            text = env.get_template(name).render(**ctx)
            data = yaml.safe_load(text)
        except jinja2.TemplateNotFound as e:
            raise LabError(f"device template {e.name}: not found") from None
        except jinja2.TemplateSyntaxError as e:
            raise LabError(f"device template {e.name or name}:{e.lineno}: jinja2 syntax error: "
                           f"{_one_line(e.message)}") from None
        except yaml.YAMLError as e:
            raise LabError(f"device template {name}: rendered text is not valid YAML: "
                           f"{_one_line(e)}") from None
        if not isinstance(data, dict) or "actions" not in data:
            raise LabError(f"device template {name}: rendered device has no 'actions'")
        return text


# Deploy/boot template per board kind: a virtual u-boot board boots exactly
# like a physical one.
# Where el2shim expects the kernel Image (SHIM_KERNEL_ADDR, lab/el2shim/shim.h).
EL2SHIM_KERNEL_ADDR = "0x40400000"

DEPLOY = {"qemu": "qemu", "qemu-uboot": "u-boot", "u-boot": "u-boot", "uefi-grub": "grub"}


# Lab boards: deploy and boot budgets in minutes, and how often LAVA retries
# a deploy (failure_retry counts attempts). The job timeout adds them up like
# TuxRun: deploy x attempts + boot + test + margin, so a retried download
# cannot eat the test's time.
LAB_DEPLOY_MIN, LAB_BOOT_MIN, LAB_DEPLOY_RETRY, LAB_MARGIN_MIN = 5, 5, 1, 2


def timeouts(spec, board):
    """deploy_min, boot_min, deploy_retry, job_min for the templates."""
    t = spec.timeout_min
    if board["kind"] == "qemu":
        return {"deploy_min": min(2, t), "boot_min": t, "deploy_retry": 0, "job_min": t}
    return {"deploy_min": LAB_DEPLOY_MIN, "boot_min": LAB_BOOT_MIN,
            "deploy_retry": LAB_DEPLOY_RETRY,
            "job_min": LAB_DEPLOY_MIN * (1 + LAB_DEPLOY_RETRY) + LAB_BOOT_MIN + t
            + LAB_MARGIN_MIN}


def _tojson(value):
    """JSON (hence YAML) literal; an undefined variable fails with its name."""
    if isinstance(value, jinja2.Undefined):
        str(value)                     # StrictUndefined raises UndefinedError here
    return json.dumps(value)


def qemu_extra_options(spec):
    """qemu options that follow the job: CPU count, and exit instead of reboot."""
    return [f"-smp {spec.cpus}", "-no-reboot"]


def validate_job(job, where="job"):
    """LAVA's own submit-time schema check (strict); LabError on any problem."""
    from lava_common.schemas import validate
    try:
        validate(job, strict=True, extra_context_variables=[])
    except voluptuous.Invalid as e:
        path = "/".join(map(str, e.path))
        raise LabError(f"{where}: LAVA schema: {_one_line(e.msg)}"
                       + (f" (at {path})" if path else "")) from None
    except Exception as e:  # e.g. `minutes: four` -> TypeError in lava_common.timeout
        raise LabError(f"{where}: LAVA schema: {type(e).__name__}: {_one_line(e)}") from None


def validate_file(path):
    """Schema-check one job YAML file, read as LAVA reads it (YAML 1.1)."""
    job = load_yaml(path, yaml.SafeLoader, "not a job (expected a mapping)")
    validate_job(job, where=str(path))


def dump(data):
    """YAML text for a job, in a stable, readable form."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=1000)
