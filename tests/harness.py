"""Integration-test harness: real Envoy gateways with the Signet module, on free loopback ports.

    with start_gateway(workdir, pki, filters=[...], partners=[...]) as gw:
        out = https_request(gw.port, ca=pki.platform_ca, cert=..., key=..., path="/x")
        assert out.status == 200 and gw.upstream.hits() == 1
        gw.counter("wasmcustom.signet.gateway.requests")

Every process runs in its own process group and is stopped (TERM, then KILL) when the context
exits, whatever happened inside; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import selectors
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
from envoy_path import envoy_path  # noqa: E402

# SIGNET_WASM runs the suite against another build (e.g. an older one, to show a test catches a
# regression).
WASM = Path(os.environ.get("SIGNET_WASM", REPO / "target" / "wasm32-wasip1" / "release" / "signet.wasm"))
SAN_DOMAIN = "partners.signet.test"
DEFAULT_PARTNERS = [
    {"id": "dfsp-a", "tls_names": [f"dfsp-a.{SAN_DOMAIN}"], "source_cidrs": ["127.0.0.1/32"]},
    {"id": "dfsp-b", "tls_names": [f"dfsp-b.{SAN_DOMAIN}"], "source_cidrs": ["127.0.0.2/32"]},
]
DEFAULT_FILTERS = [{"root_id": "gateway", "configuration": {}}]
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0


class HarnessError(Exception):
    pass


class GatewayStartError(HarnessError):
    """Envoy exited or never became ready; `log` holds its output."""

    def __init__(self, message: str, log: str):
        super().__init__(f"{message}\n--- envoy log (tail) ---\n{log[-6000:]}")
        self.log = log


# --- PKI --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    """The demo PKI of scripts/pki (see README.md for the layout)."""

    root: Path

    @property
    def platform_ca(self) -> Path:
        return self.root / "platform" / "ca" / "ca.crt"

    def client(self, party: str, name: str = "client") -> tuple[Path, Path]:
        """(certificate, key) of a TLS client certificate, e.g. client("dfsp-a")."""
        base = self.root / party / "tls" / name
        return base.with_suffix(".crt"), base.with_suffix(".key")

    @property
    def expired(self) -> tuple[Path, Path]:
        return self.client("dfsp-a", "expired")

    @property
    def foreign(self) -> tuple[Path, Path]:
        return self.client("foreign")

    @property
    def unregistered(self) -> tuple[Path, Path]:
        return self.client("unregistered")


def ensure_pki(root: Path) -> Pki:
    """Builds (or reuses; the script skips what exists) the demo PKI under root."""
    run([str(REPO / "scripts" / "pki"), "demo", str(root)], timeout=120)
    return Pki(root)


# --- processes --------------------------------------------------------------------------------


def run(cmd: list[str], timeout: float, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, start_new_session=True
    )
    if check and proc.returncode != 0:
        raise HarnessError(f"{cmd} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


class Proc:
    """A child in its own process group, output to a log file."""

    def __init__(
        self, cmd: list[str], log_path: Path, stdout_pipe: bool = False, env: dict | None = None,
        cwd: Path | None = None,
    ):
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.popen = subprocess.Popen(
            cmd,
            cwd=cwd,
            env={**os.environ, **env} if env else None,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout_pipe else self._log,
            stderr=self._log,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """TERM the whole group, then KILL it if it lingers; never waits unbounded."""
        for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, STOP_TIMEOUT)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # Stragglers in the group (none expected) get the KILL too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        if self.popen.stdout:
            self.popen.stdout.close()
        self._log.close()


def read_line(proc: Proc, timeout: float) -> str:
    """First stdout line of proc, within timeout."""
    assert proc.popen.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.popen.stdout, selectors.EVENT_READ)
    try:
        if not sel.select(timeout):
            raise HarnessError(f"no output within {timeout}s; log:\n{proc.log()}")
        return proc.popen.stdout.readline().decode(errors="replace").strip()
    finally:
        sel.close()


# --- the demo upstream --------------------------------------------------------------------------


class Upstream:
    """scripts/upstream.py on a free port (it binds port 0 and reports the port)."""

    def __init__(self, workdir: Path):
        self.proc = Proc(
            [sys.executable, str(REPO / "scripts" / "upstream.py"), "--port", "0"],
            workdir / "upstream.log",
            stdout_pipe=True,
        )
        try:
            line = read_line(self.proc, 10)
            if not line.startswith("listening on "):
                raise HarnessError(f"unexpected upstream output: {line!r}")
            self.port = int(line.rsplit(":", 1)[1])
        except BaseException:
            self.proc.stop()
            raise

    def hits(self) -> int:
        """Requests that reached the upstream so far."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/__hits", timeout=5) as r:
            return int(json.load(r)["hits"])

    def stop(self) -> None:
        self.proc.stop()


# --- the gateway --------------------------------------------------------------------------------


@dataclass
class Gateway:
    proc: Proc
    admin_port: int
    port: int
    upstream: Upstream | None
    config: Path
    params: dict = field(default_factory=dict)

    def admin(self, path: str) -> str:
        url = f"http://127.0.0.1:{self.admin_port}{path}"
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read().decode()

    def stats(self, contains: str = "") -> dict[str, int]:
        """Counters and gauges whose name contains the text (histograms left out)."""
        out = {}
        for line in self.admin("/stats").splitlines():
            name, sep, value = line.partition(": ")
            if sep and contains in name and value.strip().lstrip("-").isdigit():
                out[name] = int(value)
        return out

    def counter(self, name: str) -> int:
        """A stat by exact name; a missing stat is an error, not 0."""
        stats = self.stats(name)
        if name not in stats:
            raise HarnessError(f"no stat {name}; have: {sorted(stats)}")
        return stats[name]

    def decisions(self, filter: str, reason: str | None = None, partner: str | None = None,
                  profile: str | None = None) -> int:
        """The sum of a filter's `decisions` counters (docs/stats.md) over every component left
        None. A verdict's counter is created when it first happens, so none yet is 0."""
        part = lambda v: re.escape(v) if v is not None else r"[^.]+"  # noqa: E731
        pattern = re.compile(rf"wasmcustom\.signet\.{re.escape(filter)}\.{part(profile)}\.decisions"
                             rf"\.partner\.{part(partner)}\.reason\.{part(reason)}")
        return sum(v for k, v in self.stats(f"wasmcustom.signet.{filter}.").items()
                   if pattern.fullmatch(k))

    def prometheus(self) -> list[tuple[str, dict, float]]:
        """`/stats/prometheus` as (metric, labels, value) samples."""
        out = []
        for line in self.admin("/stats/prometheus").splitlines():
            m = re.fullmatch(r"([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)", line)
            if m and not line.startswith("#"):
                labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
                out.append((m.group(1), labels, float(m.group(3))))
        return out

    def access_log(self, request_id: str, timeout: float = 5.0) -> dict:
        """The JSON access-log entry of a request (envoy/*.yaml `json_format`), with each
        filter's audit record (a JSON string in the line) parsed; a filter that wrote none is
        absent from `audit`."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.log().splitlines():
                if request_id not in line or not line.startswith("{"):
                    continue
                entry = json.loads(line)
                if entry.get("request_id") == request_id:
                    entry["audit"] = {k: json.loads(v) for k, v in entry.get("audit", {}).items()
                                      if isinstance(v, str) and v.startswith("{")}
                    return entry
            if time.monotonic() > deadline:
                raise HarnessError(f"no access-log entry for {request_id}")
            time.sleep(0.05)

    def log(self) -> str:
        return self.proc.log()

    # --- file-based dynamic configuration (start_gateway(dynamic=True)) ---

    live_dir: Path | None = None
    listener: str = "platform"

    def push(self, timeout: float = 20.0, **changes) -> "Push":
        """Re-renders the LDS/CDS files with the parameters changed (scripts/live-config: checked,
        renamed into place) and waits until Envoy has taken or refused the new listener:
        listener_manager.lds.update_success or update_rejected moved, and no listener is
        warming. On success the new parameters become this gateway's; on refusal they do not."""
        if self.live_dir is None:
            raise HarnessError("push needs start_gateway(dynamic=True)")
        params = {**self.params, **changes}
        rejected = self.counter("listener_manager.lds.update_rejected")
        started = time.monotonic()
        write_live_config(params, self.live_dir)
        # Envoy re-reads every watched file on each rename into the directory, so "an update
        # was counted" may be the old file read again: wait for the new file's version.
        version = json.loads((self.live_dir / "lds.yaml").read_text())["version_info"]
        deadline = started + timeout
        while time.monotonic() < deadline:
            if not self.proc.alive():
                raise HarnessError(f"envoy exited during a push:\n{self.log()[-4000:]}")
            now = self.stats("listener_manager.")
            if now["listener_manager.lds.update_rejected"] > rejected:
                return Push(False, time.monotonic() - started, now)
            if (self.stat_text("listener_manager.lds.version_text") == version
                    and now["listener_manager.total_listeners_warming"] == 0):
                self.params = params
                return Push(True, time.monotonic() - started, now)
            time.sleep(0.02)
        raise HarnessError(f"push not taken or refused within {timeout}s:\n{self.log()[-4000:]}")

    def stat_text(self, name: str) -> str | None:
        """A text stat (e.g. listener_manager.lds.version_text), unquoted."""
        for line in self.admin(f"/stats?filter={name}").splitlines():
            key, sep, value = line.partition(": ")
            if sep and key == name:
                return value.strip().strip('"')
        return None

    def listener_port(self) -> int:
        return _listener_port(self.admin_port, self.listener)


@dataclass
class Push:
    accepted: bool
    seconds: float  # from the rename to Envoy's verdict (update counted, nothing warming)
    stats: dict


def write_live_config(params: dict, live_dir: Path) -> Path:
    """scripts/live-config: bootstrap.yaml, cds.yaml, lds.yaml under live_dir; the bootstrap.
    Raises HarnessError (nothing written) when live-config refuses the parameters."""
    params_file = live_dir.parent / f"{live_dir.name}.params.json"
    live_dir.mkdir(parents=True, exist_ok=True)
    params_file.write_text(json.dumps(params, indent=2))
    run([sys.executable, str(REPO / "scripts" / "live-config"), "--params", str(params_file),
         "--dir", str(live_dir)], timeout=30)
    return live_dir / "bootstrap.yaml"


def render(template: str, params: dict, out: Path) -> Path:
    """Renders envoy/<template> with params through scripts/render."""
    params_file = out.with_suffix(".params.json")
    params_file.write_text(json.dumps(params, indent=2))
    run(
        [
            sys.executable,
            str(REPO / "scripts" / "render"),
            str(REPO / "envoy" / template),
            "--params",
            str(params_file),
            "--out",
            str(out),
        ],
        timeout=30,
    )
    # Every rendered config also passes the shipped checker (header-after-body flag, no
    # FAIL_OPEN, keys only from the environment).
    run([sys.executable, str(REPO / "scripts" / "check-config"), str(out)], timeout=30)
    return out


def demo_env(params: dict, pki: Pki) -> dict:
    """The environment a template's demo parameters expect: "demo_env": {VAR: pki file}
    (private keys reach the VM through vm_config.environment_variables, never the YAML)."""
    return {var: (pki.root / rel).read_text() for var, rel in params.get("demo_env", {}).items()}


def validate(config: Path, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`envoy --mode validate` (it also loads the Wasm module and runs on_configure)."""
    proc = subprocess.run(
        [str(envoy_path()), "--mode", "validate", "-c", str(config), "--disable-hot-restart"],
        capture_output=True, text=True, timeout=60, start_new_session=True,
        env={**os.environ, **env} if env else None, cwd=cwd,
    )
    return proc


def _wait_ready(proc: Proc, admin_file: Path) -> int:
    deadline = time.monotonic() + START_TIMEOUT
    admin_port = None
    while time.monotonic() < deadline:
        if not proc.alive():
            raise GatewayStartError(f"envoy exited with {proc.popen.returncode}", proc.log())
        if admin_port is None and admin_file.exists():
            text = admin_file.read_text().strip()
            if text:
                admin_port = int(text.rsplit(":", 1)[1])
        if admin_port is not None:
            with contextlib.suppress(OSError, http.client.HTTPException):
                url = f"http://127.0.0.1:{admin_port}/ready"
                with urllib.request.urlopen(url, timeout=1) as r:
                    if r.status == 200:
                        return admin_port
        time.sleep(0.1)
    raise GatewayStartError(f"envoy not ready within {START_TIMEOUT}s", proc.log())


def _listener_port(admin_port: int, name: str) -> int:
    url = f"http://127.0.0.1:{admin_port}/listeners?format=json"
    with urllib.request.urlopen(url, timeout=5) as r:
        listeners = json.load(r)["listener_statuses"]
    for status in listeners:
        if status.get("name") == name:
            return int(status["local_address"]["socket_address"]["port_value"])
    raise HarnessError(f"no listener {name} in {listeners}")


@contextlib.contextmanager
def start_gateway(
    workdir: Path,
    pki: Pki,
    *,
    filters: list | None = None,
    partners: list | None = None,
    template: str = "platform.yaml",
    listener: str = "platform",
    params: dict | None = None,
    concurrency: int = 1,
    env: dict | None = None,
    with_upstream: bool = True,
    patch: Callable[[dict], None] | None = None,
    dynamic: bool = False,
    envoy_args: list | None = None,
) -> Iterator[Gateway]:
    """Starts a demo upstream and an Envoy rendered from envoy/<template>; stops both on exit.

    filters: Signet filters in order, [{"root_id", "configuration", "name"?}] (default: gateway).
    partners: [{"id", "san", "source_cidrs"}] (default: dfsp-a from 127.0.0.1, dfsp-b from
    127.0.0.2). params: extra or overriding render parameters. Ports are chosen by the kernel
    (port 0) and read back from Envoy's admin endpoint, so parallel gateways never collide.
    env: extra environment of the Envoy process (private keys for host_env_keys).
    with_upstream=False: no demo upstream (an egress gateway's upstream is a platform gateway).
    patch: edits the rendered config (parsed YAML) before Envoy starts, e.g. an HTTP/2 upstream
    cluster; the result passes scripts/check-config again.
    dynamic=True: the platform gateway from file-based LDS/CDS (scripts/live-config, bootstrap
    envoy/dynamic/platform.yaml) in workdir/live; Gateway.push(...) changes it live.
    envoy_args: extra Envoy options, e.g. ["--drain-time-s", "2"].
    """
    workdir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        upstream = Upstream(workdir) if with_upstream else None
        if upstream is not None:
            stack.callback(upstream.stop)
        all_params = {
            "admin_port": 0,
            "listen_address": "127.0.0.1",
            "listen_port": 0,
            "upstream_host": "127.0.0.1",
            "upstream_port": upstream.port if upstream else 0,
            "wasm_path": str(WASM),
            "pki_dir": str(pki.root),
            "partners": DEFAULT_PARTNERS if partners is None else partners,
            "filters": DEFAULT_FILTERS if filters is None else filters,
            **(params or {}),
        }
        if dynamic:
            if template != "platform.yaml" or patch is not None:
                raise HarnessError("dynamic=True runs envoy/platform.yaml, without patch")
            config = write_live_config(all_params, workdir / "live")
            # The bootstrap with the LDS/CDS files it names, as one configuration.
            run([sys.executable, str(REPO / "scripts" / "check-config"), str(config)], timeout=30)
        else:
            config = render(template, all_params, workdir / "envoy.yaml")
        if patch is not None:
            doc = yaml.safe_load(config.read_text())
            patch(doc)
            config.write_text(yaml.safe_dump(doc, sort_keys=False))
            run([sys.executable, str(REPO / "scripts" / "check-config"), str(config)], timeout=30)
        gw = stack.enter_context(run_envoy(config, workdir, listener=listener, env=env,
                                           concurrency=concurrency, envoy_args=envoy_args))
        gw.upstream, gw.params = upstream, all_params
        gw.live_dir = workdir / "live" if dynamic else None
        yield gw


@contextlib.contextmanager
def run_envoy(
    config: Path,
    workdir: Path,
    *,
    listener: str = "platform",
    env: dict | None = None,
    concurrency: int = 1,
    envoy_args: list | None = None,
    cwd: Path | None = None,
) -> Iterator[Gateway]:
    """Envoy on a rendered config (admin and listener ports read back from it), stopped on exit.
    cwd: the directory its relative paths are taken from (an example's: the repository root)."""
    admin_file = workdir / "admin-address"
    admin_file.unlink(missing_ok=True)
    proc = Proc(
        [
            str(envoy_path()),
            "-c",
            str(config),
            "--disable-hot-restart",
            "--concurrency",
            str(concurrency),
            "--admin-address-path",
            str(admin_file),
            "--file-flush-interval-msec",
            "200",
            "--log-level",
            "info",
            *(envoy_args or []),
        ],
        workdir / "envoy.log",
        env=env,
        cwd=cwd,
    )
    try:
        admin_port = _wait_ready(proc, admin_file)
        yield Gateway(proc=proc, admin_port=admin_port, port=_listener_port(admin_port, listener),
                      upstream=None, config=config, listener=listener)
    finally:
        proc.stop()


# --- a TLS client that tells refusals apart ----------------------------------------------------


@dataclass
class Outcome:
    """What happened to one request: a response, a TLS alert from the server, or a close."""

    kind: str  # "response" | "alert" | "closed"
    status: int | None = None
    body: bytes = b""
    headers: list = field(default_factory=list)
    alert: str | None = None  # OpenSSL's reason, e.g. "TLSV1_ALERT_UNKNOWN_CA"
    stage: str = ""  # "handshake" | "after_handshake"
    detail: str = ""

    def json(self) -> dict:
        return json.loads(self.body)


CLOSED_ERRORS = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    BrokenPipeError,
    ssl.SSLEOFError,
    ssl.SSLZeroReturnError,
)


def _classify(err: Exception, stage: str) -> Outcome:
    if isinstance(err, ssl.SSLCertVerificationError):
        raise err  # the client refused the server: a harness or PKI bug, not a refusal
    if isinstance(err, ssl.SSLError) and "ALERT" in (err.reason or ""):
        return Outcome("alert", alert=err.reason, stage=stage, detail=str(err))
    if isinstance(err, CLOSED_ERRORS):
        return Outcome("closed", stage=stage, detail=repr(err))
    raise err


def tls_context(
    ca: Path, cert: Path | None = None, key: Path | None = None, tls_version: str | None = None
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(ca))
    if cert is not None:
        ctx.load_cert_chain(str(cert), str(key) if key else None)
    if tls_version is not None:
        version = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}[tls_version]
        ctx.minimum_version = ctx.maximum_version = version
    return ctx


def https_request(
    port: int,
    *,
    ca: Path,
    cert: Path | None = None,
    key: Path | None = None,
    source_ip: str | None = None,
    tls_version: str | None = None,
    method: str = "GET",
    path: str = "/",
    headers: dict | list | None = None,
    body: bytes | None = None,
    await_alert: float = 0.0,
    timeout: float = 5.0,
) -> Outcome:
    """One HTTP/1.1 request over TLS to 127.0.0.1:port, from source_ip when given.

    Timeouts raise (a hang is never a refusal). await_alert > 0: after the handshake, wait that
    long for the server to speak first; under TLS 1.3 a server rejects a client certificate
    only after the client's handshake has finished, so this reads its alert before a request
    write could race with the server's close.
    """
    ctx = tls_context(ca, cert, key, tls_version)
    raw = socket.create_connection(
        ("127.0.0.1", port),
        timeout=timeout,
        source_address=(source_ip, 0) if source_ip else None,
    )
    try:
        try:
            tls = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        except (ssl.SSLError, OSError) as err:
            return _classify(err, "handshake")
        raw = tls
        if await_alert > 0:
            tls.settimeout(await_alert)
            try:
                data = tls.recv(1)
                if data == b"":
                    return Outcome("closed", stage="after_handshake", detail="EOF before request")
                raise HarnessError(f"server sent data before any request: {data!r}")
            except (TimeoutError, socket.timeout):
                pass  # the server accepted the handshake and waits for a request
            except (ssl.SSLError, OSError) as err:
                return _classify(err, "after_handshake")
            tls.settimeout(timeout)
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=ctx)
        conn.sock = tls  # reuse the connected socket
        try:
            hdrs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
            conn.putrequest(method, path, skip_accept_encoding=True)
            for name, value in hdrs:
                conn.putheader(name, value)
            if body is not None:
                conn.putheader("content-length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            data = resp.read()
            return Outcome("response", resp.status, data, resp.getheaders(), stage="http")
        except (ssl.SSLError, OSError, http.client.HTTPException) as err:
            return _classify(err, "after_handshake")
    finally:
        raw.close()
