"""A scripted LAVA server for the client's tests: stdlib XML-RPC on
127.0.0.1:0, the calls bbml2lab.lavaserver makes, HTTP Basic auth with one
user and token, and per job name a list of scripts (one per attempt) that
say what the job does: its states poll by poll, its health and log, HTTP 500
answers while polling, XML-RPC fault -32603 (LAVA's answer to any exception
inside a method) while polling or fetching, a log that arrives late, a
rejected submit. Devices and workers (scheduler.devices.show / .workers.show)
have a state and health the tests set: a worker killed mid-job is Offline
while its job stays Running (LAVA 2023.01 reaps nothing).

Also an artifact server (ArtifactServer): a directory over HTTP on
127.0.0.1:0, for the manifest and the HEAD checks.
"""
import base64
import functools
import http.server
import json
import re
import threading
import xmlrpc.client
import xmlrpc.server
from dataclasses import dataclass, field

import yaml

from bbml2lab import lavalog


class _OneLine(yaml.SafeDumper):
    """Flow YAML with every record on one line: strings that would wrap or
    need escapes are double-quoted."""


def _str(dumper, value):
    style = '"' if re.search(r"[\x00-\x1f\x7f\\']", value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_OneLine.add_representer(str, _str)


def server_log(jsonl_text):
    """A lava-run log (JSON lines) as a server's job log: one YAML list item
    per record, `- {dt: ..., lvl: ..., msg: ...}`."""
    out = []
    for line in jsonl_text.splitlines():
        rec = lavalog._load(line) if line.strip() else None
        if isinstance(rec, dict):
            out.append("- " + yaml.dump(rec, Dumper=_OneLine, default_flow_style=True,
                                        width=1 << 30).strip())
    return "\n".join(out) + "\n"


def results_yaml(log_text):
    """What results.get_testjob_results_yaml returns for a log's results."""
    rows = []
    for n, r in enumerate(lavalog.parse(log_text).results, 1):
        suite = "lava" if r.get("definition") == "lava" else f"1_{r.get('definition')}"
        rows.append({"id": n, "suite": suite, "name": r.get("case"), "result": r.get("result"),
                     "metadata": r})
    return yaml.safe_dump(rows)


@dataclass
class Script:
    """One attempt of one job."""
    log: str
    health: str = "Complete"
    states: tuple = ("Submitted", "Running", "Finished")  # per show(); the last repeats
    device: str = "vboard-none-01"
    late_log: int = 0          # logs() answers without the final verdict record this often
    http_500: int = 0          # show() answers HTTP 500 this often first
    reject: str = None         # submit answers Fault 400 with this text
    fault_show: int = 0        # show() answers Fault -32603 this often first
    fault_logs: int = 0        # logs() answers Fault -32603 this often first
    kill_worker: bool = False  # its device's worker goes Offline once it runs
    polls: int = field(default=0, init=False)


INTERNAL = "Internal Server Error (contact server administrator for details): "


class _Handler(xmlrpc.server.SimpleXMLRPCRequestHandler):
    rpc_paths = ("/RPC2",)

    def do_POST(self):
        fake = self.server.fake
        header = self.headers.get("Authorization", "")
        fake.user = None
        if header and not fake.ignore_auth:
            if header != fake.auth_header:
                fake.record("auth-refused", header)
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            fake.user = fake.username
        super().do_POST()

    def log_message(self, *args):
        pass


class _RPCServer(xmlrpc.server.SimpleXMLRPCServer):
    def _marshaled_dispatch(self, data, dispatch_method=None, path=None):
        self.fake.http_error = None
        response = super()._marshaled_dispatch(data, dispatch_method, path)
        if self.fake.http_error:
            raise RuntimeError("scripted HTTP 500")      # do_POST answers 500
        return response


class FakeLava:
    """The fake server; use as a context manager."""

    def __init__(self, username="lab-admin", token="tok-9f8e7d6c5b4a-secret"):
        self.username, self.token = username, token
        self.auth_header = "Basic " + base64.b64encode(f"{username}:{token}".encode()).decode()
        self.scripts, self.jobs, self.calls, self.called = {}, {}, [], {}
        self.next_id = 100
        self.user = None
        self.ignore_auth = False     # a server that takes any token and knows no one
        self.submit_500 = 0          # submits answered with HTTP 500
        self.http_error = None
        # device -> {health, state, worker}; worker -> {state, health}
        self.devices = {d: {"health": "Good", "state": "Idle", "worker": "worker-01"}
                        for d in ("vboard-none-01", "vboard-uniform-01")}
        self.workers = {"worker-01": {"state": "Online", "health": "Active"}}
        # device type -> {health_disabled, health_check (YAML text or None)}
        self.device_types = {"bbml2-qemu-uboot": {"health_disabled": False, "health_check": None}}
        self.may_change_device_types = True    # the user has change_devicetype
        self.rpc = _RPCServer(("127.0.0.1", 0), requestHandler=_Handler, allow_none=True,
                              logRequests=False)
        self.rpc.fake = self
        for name, fn in (("system.version", lambda: "2023.01"),
                         ("system.whoami", lambda: self.user),
                         ("scheduler.jobs.submit", self._submit),
                         ("scheduler.jobs.show", self._show),
                         ("scheduler.jobs.logs", self._logs),
                         ("scheduler.jobs.cancel", self._cancel),
                         ("results.get_testjob_results_yaml", self._results),
                         ("scheduler.devices.show", self._device),
                         ("scheduler.jobs.list", self._list),
                         ("scheduler.workers.show", self._worker),
                         ("scheduler.device_types.show", self._dt_show),
                         ("scheduler.device_types.get_health_check", self._dt_get_hc),
                         ("scheduler.device_types.set_health_check", self._dt_set_hc),
                         ("scheduler.device_types.update", self._dt_update)):
            self.rpc.register_function(self._recorded(name, fn), name)
        self.thread = threading.Thread(target=self.rpc.serve_forever, daemon=True)

    @property
    def uri(self):
        return f"http://127.0.0.1:{self.rpc.server_address[1]}/RPC2"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.rpc.shutdown()
        self.rpc.server_close()

    def record(self, method, *args):
        self.calls.append((method, args))
        self.called.setdefault(method, threading.Event()).set()

    def wait_for(self, method, timeout=60):
        """Block until `method` has been called (no sleeping)."""
        return self.called.setdefault(method, threading.Event()).wait(timeout)

    def _recorded(self, name, fn):
        @functools.wraps(fn)
        def wrapper(*args):
            self.record(name, *args)
            return fn(*args)
        return wrapper

    def script(self, job, *scripts):
        """Attempts of the job named `job` (the plan's job name), in order."""
        self.scripts[job] = list(scripts)

    def submitted(self, job=None):
        """[(id, job name)] in submit order."""
        return [(i, j["name"]) for i, j in self.jobs.items() if job in (None, j["name"])]

    def _auth(self):
        if self.user is None:
            raise xmlrpc.client.Fault(401, "Authentication with user and token required")

    def _submit(self, definition):
        self._auth()
        if self.submit_500 > 0:          # the reply is lost: did the job get created?
            self.submit_500 -= 1
            self.http_error = 500
            return 0
        try:
            name = yaml.safe_load(definition)["job_name"].split(" ")[1]   # "bbml2-lab NAME RUN"
        except (yaml.YAMLError, KeyError, TypeError, IndexError):
            raise xmlrpc.client.Fault(400, "Problem with submitted job data: no job_name")
        queue = self.scripts.get(name)
        if not queue:
            raise xmlrpc.client.Fault(400, f"Problem with submitted job data: no script for {name}")
        script = queue.pop(0)
        if script.reject:
            raise xmlrpc.client.Fault(400, f"Problem with submitted job data: {script.reject}")
        self.next_id += 1
        self.jobs[self.next_id] = {"name": name, "script": script, "definition": definition,
                                   "canceled": False,
                                   "job_name": yaml.safe_load(definition)["job_name"]}
        return self.next_id

    def _job(self, job_id):
        job = self.jobs.get(int(job_id))
        if job is None:
            raise xmlrpc.client.Fault(404, f"Job '{job_id}' was not found.")
        return job

    def _state(self, job):
        s = job["script"]
        if job["canceled"]:
            return "Finished", "Canceled"
        state = s.states[min(s.polls, len(s.states) - 1)]
        return state, (s.health if state == "Finished" else "Unknown")

    def _show(self, job_id):
        job = self._job(job_id)
        s = job["script"]
        if s.fault_show > 0:
            s.fault_show -= 1
            raise xmlrpc.client.Fault(-32603, INTERNAL + "OperationalError")
        if s.http_500 > 0:
            s.http_500 -= 1
            self.http_error = 500
            return {}
        state, health = self._state(job)
        s.polls += 1
        if s.kill_worker and state == "Running":
            self.workers[self.devices[s.device]["worker"]]["state"] = "Offline"
        return {"id": int(job_id), "description": f"bbml2-lab {job['name']}", "state": state,
                "health": health, "device": s.device if state != "Submitted" else None,
                "device_type": "bbml2-qemu-uboot", "failure_comment": None}

    def _logs(self, job_id, line=0):
        job = self._job(job_id)
        s = job["script"]
        if s.fault_logs > 0:
            s.fault_logs -= 1
            raise xmlrpc.client.Fault(-32603, INTERNAL + "OSError")
        state, _ = self._state(job)
        text = s.log
        if s.late_log > 0:
            s.late_log -= 1
            text = "\n".join(x for x in text.splitlines()
                             if "case: job" not in x or "definition: lava" not in x) + "\n"
        lines = text.splitlines(keepends=True)[int(line):]
        return state == "Finished", xmlrpc.client.Binary("".join(lines).encode())

    def _cancel(self, job_id):
        self._auth()
        self._job(job_id)["canceled"] = True
        return True

    def _results(self, job_id):
        return results_yaml(self._job(job_id)["script"].log)

    def _list(self, state=None, health=None, start=0, limit=25):
        ids = sorted(self.jobs, reverse=True)[int(start):int(start) + min(int(limit), 100)]
        return [{"id": i, "description": self.jobs[i]["job_name"],
                 "state": self._state(self.jobs[i])[0]} for i in ids]

    def _device(self, hostname):
        if hostname not in self.devices:
            raise xmlrpc.client.Fault(404, f"Device '{hostname}' was not found.")
        return {"hostname": hostname, "device_type": "bbml2-qemu-uboot",
                "current_job": None, **self.devices[hostname]}

    def _worker(self, hostname):
        if hostname not in self.workers:
            raise xmlrpc.client.Fault(404, f"Worker '{hostname}' was not found.")
        return {"hostname": hostname, "devices": sorted(
            d for d, v in self.devices.items() if v["worker"] == hostname),
            **self.workers[hostname]}


    def _dt(self, name):
        if name not in self.device_types:
            raise xmlrpc.client.Fault(404, f"Device-type '{name}' was not found.")
        return self.device_types[name]

    def _dt_change(self):
        if not self.may_change_device_types:      # as LAVA's check_perm says it
            raise xmlrpc.client.Fault(403, f"User '{self.user}' is missing permission "
                                      "lava_scheduler_app.change_devicetype .")

    def _dt_show(self, name):
        return {"name": name, "health_disabled": self._dt(name)["health_disabled"]}

    def _dt_get_hc(self, name):
        text = self._dt(name)["health_check"]
        if text is None:
            raise xmlrpc.client.Fault(404, f"Device-type '{name}' was not found.")
        return text

    def _dt_set_hc(self, name, config):
        self._dt_change()
        self._dt(name)["health_check"] = config      # LAVA writes a file of any name

    def _dt_update(self, name, description, display, owners_only, health_frequency,
                   health_denominator, health_disabled):
        self._dt_change()
        if health_disabled is not None:
            self._dt(name)["health_disabled"] = bool(health_disabled)


class ArtifactServer:
    """A directory on 127.0.0.1:0 over HTTP (GET and HEAD)."""

    def __init__(self, root):
        handler = functools.partial(_QuietFiles, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def publish(root, files, build=None):
    """Write files {relpath: sha256} (content irrelevant) and a manifest;
    build: also serve them under builds/<build>/ and name it."""
    manifest = {"git_revision": "0" * 40, "kernel_versions": {"qemu": "6.12.117-test"}}
    if build:
        manifest["build"] = build
    for rel, sha in files.items():
        if build:
            served = root / "builds" / build / rel
            served.parent.mkdir(parents=True, exist_ok=True)
            served.write_bytes(b"artifact " + rel.encode())
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"artifact " + rel.encode())
        manifest[rel] = {"sha256": sha, "size": path.stat().st_size}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return manifest
