"""`make run-scaled`: the scaled layout of docs/deploy.md on this machine, with the same Procfile as `make run`.

Starts a local PostgreSQL (the project's database and Rasa's trackers) and Redis (Rasa's lock store) from
Debian's packages on loopback, keeping PostgreSQL's data between runs, then runs the Procfile with
`RASA_ENDPOINTS=endpoints-scaled.yml`, `SANIC_WORKERS` Rasa workers on one address (default 2) and as many
action server workers. Stopping it (Ctrl-C) stops the Procfile's processes, then the two servers. Every service
listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from scripts.local_servers import Postgres, Redis, scaled_settings

ROOT = Path(__file__).resolve().parents[1]
PG_PORT, REDIS_PORT = 55432, 56379


def data_dir() -> Path:
    """Where the servers keep their files: var/scaled, or (as root) a directory the `postgres` user can enter."""
    if chosen := os.environ.get("SCALED_DATA_DIR"):
        return Path(chosen)
    if os.geteuid() != 0:
        return ROOT / "var" / "scaled"
    # var/ is private to its owner (0700); PostgreSQL runs as `postgres` when we are root.
    tag = hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]
    return Path("/var/tmp") / f"gbv-bot-scaled-{tag}"


def main(argv: list[str] | None = None) -> int:
    """Start the servers, run the Procfile until it stops, stop the servers; the Procfile's exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=int(os.environ.get("SANIC_WORKERS", "2")))
    parser.add_argument("--pg-port", type=int, default=int(os.environ.get("SCALED_PG_PORT", PG_PORT)))
    parser.add_argument("--redis-port", type=int, default=int(os.environ.get("SCALED_REDIS_PORT", REDIS_PORT)))
    parser.add_argument("--env-file", default=".env", help="honcho's environment file (its values win)")
    args = parser.parse_args(argv)
    home = data_dir()
    (home / "postgres").mkdir(parents=True, exist_ok=True, mode=0o700)
    (home / "redis").mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.geteuid() == 0:
        closed = [d for d in home.resolve().parents if not d.stat().st_mode & 0o001]
        if closed:
            sys.exit(f"PostgreSQL runs as `postgres` here and cannot enter {closed[0]}: choose another SCALED_DATA_DIR")
        shutil.chown(home, "postgres", "postgres")
        home.chmod(0o700)
    pg = Postgres(home / "postgres", port=args.pg_port)
    redis = Redis(home / "redis", port=args.redis_port)
    pg.ensure(databases=("trackers",))
    try:
        redis.start()
        env = {**os.environ, **scaled_settings(pg, "trackers", redis.port),
               "SANIC_WORKERS": str(args.workers), "ACTION_SERVER_SANIC_WORKERS": str(args.workers)}
        print(f"PostgreSQL on 127.0.0.1:{pg.port} (data in {home / 'postgres'}), Redis on 127.0.0.1:{redis.port}, "
              f"{args.workers} Rasa workers", flush=True)
        procfile = subprocess.Popen([str(ROOT / ".venv" / "bin" / "honcho"), "start", "-f", "Procfile", "-e", args.env_file],
                                    cwd=ROOT, env=env)
        signal.signal(signal.SIGTERM, lambda *_: procfile.send_signal(signal.SIGTERM))
        while True:
            try:
                return procfile.wait()
            except KeyboardInterrupt:  # honcho got the same Ctrl-C and stops its processes
                continue
    finally:
        redis.stop()
        pg.stop()


if __name__ == "__main__":
    sys.exit(main())
