"""The training report for staff (Vietnamese Markdown and HTML, with a confusion-matrix image).

The HTML escapes every value it shows; only the template's own markup is HTML.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader

from bot.content.intents import INTENT_TITLES
from bot.staff.gate import pct
from bot.staff.pipeline import ACCEPTED, FAILED, OK, REFUSED, PipelineResult

MD_NAME, HTML_NAME = "training-report.md", "training-report.html"
CONFUSION_PNG, TOPICS_PNG, HISTORY_CSV = "confusion-matrix.png", "per-topic.png", "history.csv"
OUTCOME_TEXT = {ACCEPTED: "ĐƯỢC CHẤP NHẬN", REFUSED: "BỊ TỪ CHỐI", "stopped": "DỪNG LẠI"}
HISTORY_FIELDS = ["thoi_gian", "ket_qua", "hieu_dung", "nhan_ra_khan_cap", "bao_dong_nham", "thoi_gian_chay_giay"]


def duration(seconds: float) -> str:
    """Seconds as Vietnamese text, e.g. 133 → "2 phút 13 giây"."""
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} phút {rest} giây" if minutes else f"{rest} giây"


def title_of(label: str, titles: dict[str, str]) -> str:
    """Vietnamese name of an intent or FAQ topic."""
    return titles.get(label) or INTENT_TITLES.get(label) or label


def top_confusions(figures: dict[str, Any], titles: dict[str, str], limit: int = 10) -> list[dict[str, Any]]:
    """The most frequent mix-ups (asked X, understood Y)."""
    confusion = figures.get("confusion") or {}
    labels, matrix = confusion.get("labels") or [], confusion.get("matrix") or []
    pairs = [(matrix[i][j], labels[i], labels[j]) for i in range(len(labels)) for j in range(len(labels))
             if i != j and matrix[i][j]]
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    return [{"count": n, "gold": g, "gold_title": title_of(g, titles), "pred": p, "pred_title": title_of(p, titles)}
            for n, g, p in pairs[:limit]]


def per_topic_rows(candidate: dict[str, Any], current: dict[str, Any] | None,
                   titles: dict[str, str]) -> list[dict[str, Any]]:
    """One row per intent/topic: how often the new (and the old) model understood it, weakest first."""
    rows = []
    before = (current or {}).get("per_intent") or {}
    for label, v in (candidate.get("per_intent") or {}).items():
        old = before.get(label)
        rows.append({"label": label, "title": title_of(label, titles), "support": v.get("support", 0),
                     "recall": pct(v.get("recall")), "precision": pct(v.get("precision")),
                     "f1": f"{float(v.get('f1') or 0):.2f}".replace(".", ","),
                     "recall_value": float(v.get("recall") or 0),
                     "old_recall": pct(old.get("recall")) if old else "–",
                     "weak": float(v.get("recall") or 0) < 0.6})
    rows.sort(key=lambda r: (r["recall_value"], r["label"]))
    return rows


def metric_rows(result: PipelineResult) -> list[dict[str, Any]]:
    """The headline figures with plain explanations."""
    cand, cur = result.candidate_eval or {}, result.current_eval or {}
    checks = {c.name: c for c in (result.decision.checks if result.decision else ())}
    rows = [
        ("urgent_recall", "Nhận ra tin nhắn khẩn cấp",
         "Trong các tin nhắn thử của người đang bị bạo lực hoặc cần giúp, trợ lý chuyển được bao nhiêu cho tư vấn viên.",
         "ít nhất 98%"),
        ("false_alarm_rate", "Báo động nhầm",
         "Tin nhắn bình thường bị chuyển nhầm cho tư vấn viên (càng thấp càng đỡ việc, nhưng không nguy hiểm).",
         "theo dõi"),
        ("intent_accuracy", "Hiểu đúng câu hỏi",
         "Trong tất cả câu thử, trợ lý hiểu đúng ý (đúng chủ đề) bao nhiêu.", "không giảm quá 2 điểm"),
        ("macro_f1", "Điểm trung bình các chủ đề (F1)",
         "Trung bình độ chính xác của từng chủ đề, chủ đề ít câu cũng được tính ngang nhau.", "theo dõi"),
    ]
    out = []
    for key, label, meaning, requirement in rows:
        fmt = (lambda v: f"{float(v):.3f}".replace(".", ",") if v is not None else "–") if key == "macro_f1" else pct
        check = checks.get(key)
        out.append({"label": label, "meaning": meaning, "requirement": requirement,
                    "current": fmt(cur.get(key)) if cur else "–", "candidate": fmt(cand.get(key)) if cand else "–",
                    "verdict": "" if check is None else ("đạt" if check.passed else "KHÔNG ĐẠT")})
    return out


def _confusion_png(figures: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    confusion = figures["confusion"]
    labels, matrix = confusion["labels"], confusion["matrix"]
    shares = [[value / (sum(row) or 1) for value in row] for row in matrix]
    size = max(6.0, 0.28 * len(labels) + 3)
    fig, ax = plt.subplots(figsize=(size, size), dpi=100)
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)))
    ax.set_yticks(range(len(labels)))
    short = [label.replace("faq/", "") for label in labels]
    ax.set_xticklabels(short, rotation=90, fontsize=7)
    ax.set_yticklabels(short, fontsize=7)
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if not value:
                continue
            if i == j:
                color = "white" if shares[i][j] > 0.5 else "black"
                ax.text(j, i, str(value), ha="center", va="center", fontsize=6, color=color)
            else:
                ax.text(j, i, str(value), ha="center", va="center", fontsize=7, color="#b00020", fontweight="bold")
    ax.set_xlabel("Trợ lý hiểu là…")
    ax.set_ylabel("Câu hỏi thật sự là…")
    ax.set_title("Ma trận nhầm lẫn: số trên đường chéo là hiểu đúng, số đỏ ngoài đường chéo là nhầm")
    fig.colorbar(image, ax=ax, fraction=0.03, label="tỉ lệ trong mỗi hàng")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _topics_png(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ordered = list(reversed(rows))
    fig, ax = plt.subplots(figsize=(10, max(4.0, 0.26 * len(ordered) + 1.5)), dpi=100)
    values = [r["recall_value"] * 100 for r in ordered]
    colors = ["#c62828" if v < 60 else "#f9a825" if v < 80 else "#2e7d32" for v in values]
    bars = ax.barh(range(len(ordered)), values, color=colors)
    ax.bar_label(bars, labels=[f"{v:.0f}%" for v in values], padding=2, fontsize=6)
    ax.set_yticks(range(len(ordered)))
    ax.set_yticklabels([r["label"].replace("faq/", "") for r in ordered], fontsize=7)
    ax.set_xlim(0, 108)
    ax.set_xlabel("% câu thử được hiểu đúng (đỏ < 60%, vàng < 80%, xanh ≥ 80%)")
    ax.set_title("Kết quả theo từng chủ đề (mô hình mới)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def read_history(path: Path) -> list[dict[str, str]]:
    """Earlier runs, oldest first."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def append_history(path: Path, result: PipelineResult) -> None:
    """Add this run to the history.csv of the report folder."""
    cand = result.candidate_eval or {}
    new = not path.exists()
    with path.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HISTORY_FIELDS)
        if new:
            writer.writeheader()
        writer.writerow({"thoi_gian": result.started_at.strftime("%Y-%m-%d %H:%M"), "ket_qua": result.outcome,
                         "hieu_dung": cand.get("intent_accuracy", ""), "nhan_ra_khan_cap": cand.get("urgent_recall", ""),
                         "bao_dong_nham": cand.get("false_alarm_rate", ""),
                         "thoi_gian_chay_giay": round(result.seconds)})


def context(result: PipelineResult, history: list[dict[str, str]], images: dict[str, str]) -> dict[str, Any]:
    """Everything the templates show."""
    cand = result.candidate_eval or {}
    next_step = {
        ACCEPTED: "Chạy `make deploy-model` để nạp mô hình mới vào trợ lý đang chạy (người dân không bị gián đoạn).",
        REFUSED: "Trợ lý vẫn dùng mô hình cũ, không có gì bị hỏng. Xem các chủ đề hay bị nhầm bên dưới, thêm hoặc "
                 "sửa câu hỏi mẫu cho rõ hơn, rồi chạy lại `make train`.",
    }.get(result.outcome, "Sửa các lỗi được liệt kê bên dưới rồi chạy lại `make train`.")
    steps = [{"label": s.label, "status": {OK: "xong", FAILED: "LỖI"}.get(s.status, "bỏ qua"),
              "time": duration(s.seconds) if s.seconds else "–", "detail": s.detail} for s in result.steps]
    return {
        "when": result.started_at.strftime("%d/%m/%Y %H:%M"), "outcome": result.outcome,
        "outcome_text": OUTCOME_TEXT.get(result.outcome, result.outcome), "message": result.message,
        "next_step": next_step, "reasons": result.decision.reasons() if result.decision else [],
        "metrics": metric_rows(result) if result.candidate_eval else [],
        "messages": cand.get("messages"),
        "confusions": top_confusions(cand, result.titles) if cand else [],
        "topics": per_topic_rows(cand, result.current_eval, result.titles) if cand else [],
        "misses": [{"text": m.get("text"), "pred": title_of(str(m.get("pred_intent")), result.titles)}
                   for m in (cand.get("misses") or [])[:20]],
        "steps": steps, "total_time": duration(result.seconds),
        "errors": [p.line() for p in result.problems if p.severity == "error"],
        "warnings": [p.line() for p in result.problems if p.severity != "error"],
        "history": list(reversed(history[-10:])), "images": images,
        "pct": lambda v: pct(float(v)) if v not in (None, "") else "–",
        "outcome_label": lambda o: OUTCOME_TEXT.get(o, o),
    }


def render_report(result: PipelineResult, out_dir: Path) -> list[Path]:
    """Write training-report.md/.html (and the images when there was an evaluation); returns the files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    append_history(out_dir / HISTORY_CSV, result)
    images: dict[str, str] = {}
    for name in (CONFUSION_PNG, TOPICS_PNG):
        (out_dir / name).unlink(missing_ok=True)
    written = [out_dir / HISTORY_CSV]
    if result.candidate_eval and result.candidate_eval.get("confusion"):
        _confusion_png(result.candidate_eval, out_dir / CONFUSION_PNG)
        _topics_png(per_topic_rows(result.candidate_eval, result.current_eval, result.titles), out_dir / TOPICS_PNG)
        images = {"confusion": CONFUSION_PNG, "topics": TOPICS_PNG}
        written += [out_dir / CONFUSION_PNG, out_dir / TOPICS_PNG]
    ctx = context(result, read_history(out_dir / HISTORY_CSV), images)
    folder = Path(__file__).parent / "templates"
    md_env = Environment(loader=FileSystemLoader(folder), autoescape=False, trim_blocks=True, lstrip_blocks=True,
                         keep_trailing_newline=True)
    # Always escape: select_autoescape(["html"]) did not match "report.html.j2", so test sentences (residents'
    # words) went into the page as markup. The template holds all the HTML; no value is marked safe.
    html_env = Environment(loader=FileSystemLoader(folder), autoescape=True, trim_blocks=True, lstrip_blocks=True)
    (out_dir / MD_NAME).write_text(md_env.get_template("report.md.j2").render(**ctx), encoding="utf-8")
    (out_dir / HTML_NAME).write_text(html_env.get_template("report.html.j2").render(**ctx), encoding="utf-8")
    written += [out_dir / MD_NAME, out_dir / HTML_NAME]
    result.report_files = written
    return written
