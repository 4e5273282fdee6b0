"""Held-out evaluation: intent accuracy, macro-F1, and triage recall / false alarms by diacritics.

Usage: python scripts/eval.py --model models/current.tar.gz --data tests/eval/heldout.yml --out docs/eval-report.md
The code is bot/staff/evaluation.py (the training pipeline uses the same evaluation); this is its command line.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.staff.evaluation import main

if __name__ == "__main__":
    sys.exit(main())
