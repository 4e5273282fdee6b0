"""The throughput benchmark's arithmetic and the profile summary count what they say they count."""

from __future__ import annotations

import argparse
from pathlib import Path

from scripts import bench_throughput as bench
from scripts import profile_summary


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert bench.pct(values, 0.50) == 50.0
    assert bench.pct(values, 0.95) == 95.0
    assert bench.pct(values, 0.99) == 99.0
    assert bench.pct([3.0, 1.0, 2.0], 0.5) == 2.0


def test_conversations_are_the_same_for_both_stacks_and_mix_urgent_messages() -> None:
    assert bench.conversation(7, 15) == bench.conversation(7, 15)
    talks = [bench.conversation(i, 15) for i in range(200)]
    assert all(len(t) == 15 and t[0] in bench.CHAT for t in talks)
    urgent = sum(text in bench.URGENT for t in talks for text in t)
    assert 0.04 < urgent / (200 * 14) < 0.12


def test_a_round_counts_errors_as_messages_and_cpu_per_message() -> None:
    r = bench.Round("project", 1, latencies=[0.1] * 98, errors=2, empty=1, seconds=4.9,
                    cpu={"rasa": 4.0, "actions": 1.0})
    s = r.summary()
    assert s["messages"] == 100 and s["errors"] == 2 and s["empty_replies"] == 1
    assert s["msgs_per_s"] == 20.0  # answered messages per second
    assert s["cpu_ms_per_msg"] == {"rasa": 40.0, "actions": 10.0} and s["cpu_ms_per_msg_total"] == 50.0
    assert s["p95_ms"] == 100


def test_the_report_gives_medians_and_the_ratio(capsys) -> None:
    rounds = [bench.Round("stock", n, latencies=[0.2] * 10, seconds=s) for n, s in ((1, 1.0), (2, 2.0), (3, 0.5))]
    rounds += [bench.Round("project", n, latencies=[0.1] * 10, seconds=s) for n, s in ((1, 0.25), (2, 0.5), (3, 1.0))]
    out = bench.report(rounds, None, argparse.Namespace(senders=20, turns=15))
    assert out["median"]["stock"]["msgs_per_s"] == 10.0 and out["median"]["project"]["msgs_per_s"] == 20.0
    assert out["ratio_msgs_per_s"] == 2.0
    assert "project / stock throughput: 2.0×" in capsys.readouterr().out


def test_the_profile_summary_charges_the_innermost_known_part(tmp_path: Path) -> None:
    collapsed = tmp_path / "rasa.txt"
    collapsed.write_text(
        "handle (sanic/app.py:1);run (rasa/engine/runner/dask.py:2);process (rasa/nlu/classifiers/diet.py:3);"
        "matmul (tensorflow/ops.py:4) 6\n"
        "save (rasa/core/tracker_store.py:5);execute (sqlalchemy/engine/base.py:6) 3\n"
        "save (bot/tracker_store.py:7);save (rasa/core/tracker_store.py:8) 1\n"
        "_worker (concurrent/futures/thread.py:9) 50\n"
        "main (asyncio/base_events.py:1) 2\n", encoding="utf-8")
    parts, leaves, total = profile_summary.summarise(collapsed)
    assert total == 12  # the waiting worker thread is left out
    assert parts == {"NLU pipeline": 6, "tracker store (load, save, replay)": 4, "other": 2}
    assert leaves["matmul (tensorflow/ops.py)"] == 6
