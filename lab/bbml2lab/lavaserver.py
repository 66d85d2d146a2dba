"""A LAVA server over XML-RPC (stdlib xmlrpc.client): the one transport.

Calls used: system.version, system.whoami, scheduler.jobs.submit, .show,
.logs, .cancel, results.get_testjob_results_yaml, scheduler.devices.show,
scheduler.workers.show and scheduler.jobs.list.

Credentials come from the environment (LAVA_URI, LAVA_USER, LAVA_TOKEN) or
else ~/.config/bbml2-lab/lava.yaml ({uri, username, token}), which must not
be readable by group or others. The token travels only in an HTTP
Authorization header, never in the URL (xmlrpc.client puts the URL into its
error texts), and every error text is passed through redact() before it
leaves this module.

Errors: TemporaryError (connection refused or reset, timeouts, HTTP or
XML-RPC 5xx, XML-RPC -32603: any exception inside a LAVA method) is retried
with backoff by call(); PermanentError (4xx, a job
rejected at submit, a reply that is not XML-RPC) is not; AuthError is the
permanent "bad token" case.
"""
import base64
import http.client
import os
import socket
import stat
import time
import urllib.parse
import xml.parsers.expat
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import LabError

CONFIG = Path("~/.config/bbml2-lab/lava.yaml")
REDACTED = "<redacted>"
_sleep = time.sleep              # tests replace it
# Job states and healths as scheduler.jobs.show reports them (LAVA 2023.01).
FINISHED = "Finished"
HEALTHS = ("Unknown", "Complete", "Incomplete", "Canceled")
# XML-RPC faults that are the server's own trouble, not the request's:
# LAVA's dispatcher turns any exception inside a method into -32603
# (linaro_django_xmlrpc Dispatcher.dispatch, with HTTP 200); -32500 and
# -32300 are the spec's application and transport errors.
SERVER_FAULTS = (-32603, -32500, -32300)


class LavaError(LabError):
    """A server call failed; the text is redacted and one line."""
    temporary = False


class TemporaryError(LavaError):
    """Worth retrying: the server or the network may recover. unsent: the
    request certainly never reached the server (connection refused), so
    even a submit may be repeated."""
    temporary = True

    def __init__(self, message, unsent=False):
        super().__init__(message)
        self.unsent = unsent


class PermanentError(LavaError):
    """Retrying the same call cannot help (4xx, rejected job)."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


class AuthError(PermanentError):
    """The server refused our user/token."""


@dataclass(frozen=True)
class Credentials:
    """Where and who; repr never shows the token."""
    uri: str
    username: str
    token: str

    def __repr__(self):
        return f"Credentials(uri={self.uri!r}, username={self.username!r}, token=<redacted>)"


def _config_path():
    return CONFIG.expanduser()


def credentials(uri=None, env=None, path=None):
    """Credentials from env LAVA_URI/LAVA_USER/LAVA_TOKEN, else the config
    file; `uri` (--server) overrides the URI. LabError, one line, if
    anything is missing or the file is readable by group/others."""
    env = os.environ if env is None else env
    path = Path(path) if path else _config_path()
    if env.get("LAVA_TOKEN"):
        found = {"uri": env.get("LAVA_URI"), "username": env.get("LAVA_USER"),
                 "token": env["LAVA_TOKEN"]}
        where = "LAVA_URI/LAVA_USER/LAVA_TOKEN"
    else:
        found, where = _read_config(path), str(path)
    if uri:
        found["uri"] = uri
    for key in ("uri", "username", "token"):
        if not found.get(key) or not isinstance(found[key], str):
            raise LabError(f"LAVA {key} not set in {where}")
    parts = urllib.parse.urlsplit(found["uri"])
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LabError(f"LAVA URI '{_strip_userinfo(found['uri'])}': expected "
                       "http(s)://host[:port]/RPC2")
    if parts.username or parts.password:
        raise LabError("LAVA URI must not carry user:token (give them in the environment "
                       f"or {path})")
    return Credentials(found["uri"], found["username"], found["token"])


def _read_config(path):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise LabError(f"no LAVA credentials: set LAVA_URI, LAVA_USER and LAVA_TOKEN "
                       f"or write {path} (mode 0600)") from None
    except OSError as e:
        raise LabError(f"{path}: cannot read: {e.strerror}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise LabError(f"{path}: readable by group or others (mode "
                       f"{stat.S_IMODE(st.st_mode):04o}); run chmod 600 {path}")
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError):
        raise LabError(f"{path}: not a readable YAML mapping") from None
    if not isinstance(data, dict):
        raise LabError(f"{path}: expected a mapping {{uri, username, token}}")
    return dict(data)


def _strip_userinfo(uri):
    parts = urllib.parse.urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


class _AuthTransport(xmlrpc.client.Transport):
    """Adds the Basic Authorization header; a per-request socket timeout."""

    def __init__(self, auth_header, timeout):
        super().__init__()
        self._auth = auth_header
        self._timeout = timeout

    def get_host_info(self, host):
        host, extra, x509 = super().get_host_info(host)
        return host, list(extra or []) + [("Authorization", self._auth)], x509

    def make_connection(self, host):
        conn = super().make_connection(host)
        conn.timeout = self._timeout
        return conn


class _SafeAuthTransport(_AuthTransport, xmlrpc.client.SafeTransport):
    """The https variant."""


class Server:
    """One LAVA server; `sleep` (between retries) is injectable for tests."""

    def __init__(self, creds, timeout=30.0, retries=5, backoff=(1.0, 30.0), sleep=None):
        self.creds = creds
        self.uri = creds.uri
        self.retries, self.backoff = retries, backoff
        self.sleep = sleep or (lambda s: _sleep(s))
        auth = "Basic " + base64.b64encode(
            f"{creds.username}:{creds.token}".encode()).decode()
        self._secrets = [s for s in (creds.token, auth, auth.split()[1]) if s]
        cls = _SafeAuthTransport if creds.uri.startswith("https:") else _AuthTransport
        self._proxy = xmlrpc.client.ServerProxy(creds.uri, transport=cls(auth, timeout),
                                                allow_none=True)

    def redact(self, text):
        """text without the token (or the auth header built from it)."""
        text = str(text)
        for s in self._secrets:
            text = text.replace(s, REDACTED)
        return text

    def _once(self, method, *args):
        fn = self._proxy
        for part in method.split("."):
            fn = getattr(fn, part)
        where = f"LAVA {self.uri} {method}"
        try:
            return fn(*args)
        except xmlrpc.client.Fault as e:
            code, text = e.faultCode, " ".join(str(e.faultString).split())
            msg = self.redact(f"{where}: fault {code}: {text}")
            if code in (401, 403):
                raise AuthError(msg, code) from None
            if isinstance(code, int) and (500 <= code < 600 or code in SERVER_FAULTS):
                raise TemporaryError(msg) from None
            raise PermanentError(msg, code) from None
        except xmlrpc.client.ProtocolError as e:
            msg = self.redact(f"{where}: HTTP {e.errcode} {e.errmsg}")
            if e.errcode in (401, 403):
                raise AuthError(msg + " (check the user and token)", e.errcode) from None
            if e.errcode >= 500:
                raise TemporaryError(msg) from None
            raise PermanentError(msg, e.errcode) from None
        except ConnectionRefusedError as e:      # the request never reached the server
            raise TemporaryError(self.redact(
                f"{where}: cannot reach the server: {type(e).__name__}: {e}"),
                unsent=True) from None
        except (ConnectionError, socket.timeout, http.client.HTTPException) as e:
            raise TemporaryError(self.redact(
                f"{where}: cannot reach the server: {type(e).__name__}: {e}")) from None
        except OSError as e:
            raise TemporaryError(self.redact(
                f"{where}: cannot reach the server: {e.strerror or e}")) from None
        except (xmlrpc.client.ResponseError, xml.parsers.expat.ExpatError) as e:
            raise PermanentError(self.redact(f"{where}: not an XML-RPC reply: {e}")) from None

    def call(self, method, *args, retries=None):
        """One call; temporary errors are retried with exponential backoff
        (`retries` times), then the last one is raised."""
        retries = self.retries if retries is None else retries
        delay, cap = self.backoff
        for attempt in range(retries + 1):
            try:
                return self._once(method, *args)
            except TemporaryError:
                if attempt == retries:
                    raise
            self.sleep(min(delay, cap))
            delay *= 2
        raise AssertionError("unreachable")

    # --- the API, typed ---------------------------------------------------
    def version(self):
        """The server's version string."""
        return str(self.call("system.version"))

    def check(self):
        """(version, user) or LavaError: unreachable server or bad token."""
        version = self.version()
        try:
            who = self.call("system.whoami")
        except AuthError:
            raise
        except PermanentError:       # no whoami on this server: the first call will tell
            return version, None
        if not who or who != self.creds.username:
            raise AuthError(f"LAVA {self.uri}: the token of user '{self.creds.username}' "
                            "was not accepted (check the user and token)", 401)
        return version, who

    def submit(self, definition):
        """Job ids (strings) of a submitted definition; PermanentError if rejected.
        Retried (with backoff) only while the connection is refused: a submit
        that reached the server but lost its reply could create a duplicate."""
        delay, cap = self.backoff
        for attempt in range(self.retries + 1):
            try:
                ids = self._once("scheduler.jobs.submit", definition)
                return [str(i) for i in (ids if isinstance(ids, list) else [ids])]
            except TemporaryError as e:
                if not e.unsent or attempt == self.retries:
                    raise
            self.sleep(min(delay, cap))
            delay *= 2
        raise AssertionError("unreachable")

    def recent_jobs(self, limit=100):
        """scheduler.jobs.list: the newest jobs (LAVA clamps to 100), each
        {id, description (the job_name), state, health, ...}."""
        data = self.call("scheduler.jobs.list", None, None, 0, int(limit))
        return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []

    def device(self, hostname):
        """scheduler.devices.show: health, state, worker, current_job, ..."""
        data = self.call("scheduler.devices.show", str(hostname))
        if not isinstance(data, dict):
            raise PermanentError(f"LAVA {self.uri} scheduler.devices.show: not a mapping")
        return data

    def worker(self, hostname):
        """scheduler.workers.show: state (Online/Offline), health, ..."""
        data = self.call("scheduler.workers.show", str(hostname))
        if not isinstance(data, dict):
            raise PermanentError(f"LAVA {self.uri} scheduler.workers.show: not a mapping")
        return {k: (str(v) if isinstance(v, xmlrpc.client.DateTime) else v)
                for k, v in data.items()}

    def show(self, job_id):
        """scheduler.jobs.show: state, health, device, ... as a dict."""
        data = self.call("scheduler.jobs.show", _id(job_id))
        if not isinstance(data, dict):
            raise PermanentError(f"LAVA {self.uri} scheduler.jobs.show: not a mapping")
        return {k: (str(v) if isinstance(v, xmlrpc.client.DateTime) else v)
                for k, v in data.items()}

    def logs(self, job_id, line=0):
        """(finished, YAML log text from `line` on)."""
        finished, data = self.call("scheduler.jobs.logs", _id(job_id), line)
        if isinstance(data, xmlrpc.client.Binary):
            data = data.data.decode("utf-8", "replace")
        return bool(finished), str(data or "")

    def results_yaml(self, job_id):
        """results.get_testjob_results_yaml: LAVA's results of the job."""
        return str(self.call("results.get_testjob_results_yaml", _id(job_id)))

    def cancel(self, job_id):
        """scheduler.jobs.cancel (a job already finished is not an error)."""
        try:
            self.call("scheduler.jobs.cancel", _id(job_id), retries=1)
        except PermanentError as e:
            if e.code not in (400, 404):
                raise

    def job_url(self, job_id):
        """The job's web page."""
        parts = urllib.parse.urlsplit(self.uri)
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc,
                                        f"/scheduler/job/{job_id}", "", ""))


def _id(job_id):
    """LAVA takes plain ids as ints and multinode ids ("12.0") as strings."""
    return int(job_id) if str(job_id).isdigit() else str(job_id)
