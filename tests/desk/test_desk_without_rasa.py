"""The desk process runs without Rasa and Sanic: its modules and the senders it uses must not import them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = ("import json, sys\n"
         "import bot.desk.app, bot.desk.__main__, bot.sending.outbound\n"
         "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'rasa', 'sanic'})))\n")


def loaded_frameworks(code: str) -> list[str]:
    """Run `code` in a fresh interpreter at the project root; the JSON list it prints last."""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_desk_and_senders_import_neither_rasa_nor_sanic() -> None:
    assert loaded_frameworks(PROBE) == []


def test_the_probe_sees_rasa_when_it_is_imported() -> None:
    # the check above could not fail if the probe never saw these modules
    assert loaded_frameworks(PROBE.replace("bot.sending.outbound", "bot.sending.outbound, bot.channels.base")) \
        == ["rasa", "sanic"]
