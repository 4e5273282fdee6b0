"""The two stacks the throughput benchmark compares, as processes: start, charge CPU to, profile and stop them.

The stock bot is `rasa init --no-prompt` trained once per Rasa version under var/bench/; the project is started
as the Procfile starts it (scripts/serve_rasa.py, scripts/serve_actions.py, the desk) in a temporary directory,
wired to the fake Telegram and Zalo servers. Every process runs in its own process group, so `Procs.stop` leaves
nothing behind.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.local_servers import Postgres, Redis, free_port, scaled_settings

ROOT = Path(__file__).resolve().parent.parent
RASA_BIN = ROOT / ".venv" / "bin" / "rasa"
PYTHON = ROOT / ".venv" / "bin" / "python"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of a live process and all its live descendants (a server and the workers it forked)."""
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parent[pid] = int(fields[1])
        ticks[pid] = int(fields[11]) + int(fields[12])
    total = 0
    for pid in ticks:
        node = pid
        while node and node != root:
            node = parent.get(node, 0)
        if node == root:
            total += ticks[pid]
    return total / CLK_TCK


@dataclass
class Procs:
    """Processes of one stack, by name."""

    tmp: Path
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    charged: dict[str, int] = field(default_factory=dict)  # other processes whose CPU counts (databases)

    def spawn(self, name: str, cmd: list[str], env: dict[str, str], cwd: Path) -> None:
        """Start one process in its own process group, its output in the temporary directory."""
        with open(self.tmp / f"{name}.log", "ab") as log:
            self.procs[name] = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                                start_new_session=True)

    def cpu(self) -> dict[str, float]:
        """CPU seconds per process, with the workers it forked."""
        groups = {name: p.pid for name, p in self.procs.items()} | self.charged
        return {name: tree_cpu_seconds(pid) for name, pid in groups.items()}

    def alive(self) -> None:
        """Fail fast when a process died."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                tail = (self.tmp / f"{name}.log").read_text(errors="replace")[-3000:]
                raise SystemExit(f"{name} exited with {proc.returncode}:\n{tail}")

    def stop(self) -> None:
        """SIGTERM every process group, SIGKILL what is left after 20 s."""
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def base_env() -> dict[str, str]:
    """What every process gets: quiet TensorFlow, no telemetry."""
    return {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
            "PYTHONWARNINGS": "ignore", "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}


def stock_bot(cache: Path) -> Path:
    """The stock `rasa init` project, trained once per Rasa version (cached)."""
    from importlib.metadata import version

    home = cache / f"stock-rasa-{version('rasa')}"
    if not list((home / "models").glob("*.tar.gz")):
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        print(f"training the stock `rasa init` bot in {home} (once)…", file=sys.stderr, flush=True)
        subprocess.run([str(RASA_BIN), "init", "--no-prompt", "--init-dir", str(home)], cwd=home.parent,
                       env=base_env(), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return home


@dataclass
class Target:
    """One stack under load: where its REST webhook is and which processes to charge."""

    name: str
    url: str
    procs: Procs
    urls: list[str] = field(default_factory=list)  # every Rasa replica (url is the first)


def start_stock(home: Path, tmp: Path) -> Target:
    """`rasa run` on the stock project, as `rasa init` leaves it (in-memory tracker and lock stores)."""
    port = free_port()
    procs = Procs(tmp)
    procs.spawn("rasa", [str(RASA_BIN), "run", "--port", str(port), "--interface", "127.0.0.1"], base_env(), home)
    return Target("stock", f"http://127.0.0.1:{port}", procs)


def start_project(model: Path, tmp: Path, tg: Any, zalo: Any, extra_env: dict[str, str],
                  replicas: int = 1) -> tuple[Target, dict]:
    """The project's processes as the Procfile starts them (Rasa `replicas` times), Zalo on the fake."""
    from tests.fakes.telegram_api import FakeTelegram  # noqa: F401  (the fakes' package must be importable)

    ports = {"rasa": free_port(), "actions": free_port(), "desk": free_port()}
    rasa_ports = [ports["rasa"]] + [free_port() for _ in range(replicas - 1)]
    token = secrets.token_urlsafe(16)
    zalo_keys = {"ZALO_APP_ID": zalo.app_id, "ZALO_APP_SECRET": zalo.app_secret,
                 "ZALO_OA_SECRET_KEY": "bench-oa-secret", "ZALO_ACCESS_TOKEN": "AT-1",
                 "ZALO_REFRESH_TOKEN": "RT-1", "ZALO_API_BASE_URL": zalo.base_url,
                 "ZALO_OAUTH_BASE_URL": zalo.base_url}
    env = {**base_env(), "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp / 'app.db'}",
           "APP_VAR_DIR": str(tmp / "var"), "TRACKER_SQLITE_PATH": str(tmp / "tracker.db"),
           "TRACKER_DATABASE_URL": "", "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{ports['actions']}/webhook",
           "RASA_AUTH_TOKEN": token, "RASA_URL": f"http://127.0.0.1:{ports['rasa']}",
           "DESK_HOST": "127.0.0.1", "DESK_PORT": str(ports["desk"]),
           "DESK_PUBLIC_URL": f"http://127.0.0.1:{ports['desk']}", "DESK_API_TOKEN": token,
           "DESK_SESSION_SECRET": secrets.token_urlsafe(32), "TELEGRAM_BOT_TOKEN": tg.token,
           "TELEGRAM_API_BASE_URL": tg.api_root, "TELEGRAM_COUNSELOR_CHAT_ID": "-100777",
           "TELEGRAM_SUPERVISOR_CHAT_ID": "", "TELEGRAM_UPDATE_MODE": "polling", "TELEGRAM_WEBHOOK_SECRET": "",
           **zalo_keys, **extra_env}
    procs = Procs(tmp)
    procs.spawn("actions", [str(PYTHON), "-m", "scripts.serve_actions", "--actions", "actions",
                            "--port", str(ports["actions"])], env, ROOT)
    for number, port in enumerate(rasa_ports, 1):
        procs.spawn("rasa" if replicas == 1 else f"rasa-{number}",
                    [str(PYTHON), "-m", "scripts.serve_rasa", "--model", str(model), "--port", str(port), "--endpoints",
                     env.get("RASA_ENDPOINTS") or "endpoints.yml", "--credentials", "credentials.yml", "--enable-api"],
                    env, ROOT)
    procs.spawn("desk", [str(PYTHON), "-m", "bot.desk"], env, ROOT)
    urls = [f"http://127.0.0.1:{port}" for port in rasa_ports]
    return Target("project", urls[0], procs, urls), {"token": token, **zalo_keys}


def start_profiles(target: Target, folder: Path) -> list[subprocess.Popen]:
    """py-spy sampling every process of a stack (collapsed stacks, one file per process), if py-spy is there."""
    spy = shutil.which("py-spy") or str(ROOT / ".venv" / "bin" / "py-spy")
    if not Path(spy).exists():
        print("--profile: py-spy is not installed (.venv/bin/pip install py-spy)", file=sys.stderr)
        return []
    folder.mkdir(parents=True, exist_ok=True)
    return [subprocess.Popen([spy, "record", "--pid", str(proc.pid), "--rate", "200", "--format", "raw",
                              "--nonblocking", "--output", str(folder / f"{target.name}-{name}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name, proc in target.procs.procs.items()]


def stop_profiles(spies: list[subprocess.Popen]) -> None:
    """Stop the samplers; each writes its file on SIGINT."""
    for spy in spies:
        spy.send_signal(signal.SIGINT)
    for spy in spies:
        try:
            spy.wait(timeout=30)
        except subprocess.TimeoutExpired:
            spy.kill()


def start_scaled_servers(tmp: Path) -> tuple[dict[str, str], Any, dict[str, int]]:
    """PostgreSQL and Redis on loopback (scripts/local_servers.py): the project's settings, a stopper, their pids."""
    # PostgreSQL's own directory: as root the cluster runs as `postgres`, which cannot enter the private tmp.
    pg_home = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    (tmp / "redis").mkdir()
    pg, redis = Postgres(pg_home), Redis(tmp / "redis")
    pg.init()
    redis.start()
    pg.create_database("trackers")

    def stop() -> None:
        redis.stop()
        pg.stop()
        shutil.rmtree(pg_home, ignore_errors=True)

    return scaled_settings(pg, "trackers", redis.port), stop, {"postgres": pg.proc.pid, "redis": redis.proc.pid}
