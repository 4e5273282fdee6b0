"""The training report's HTML escapes every text it shows (test sentences, step details, messages)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.staff.pipeline import FAILED, REFUSED, PipelineResult, Step
from bot.staff.report import HTML_NAME, MD_NAME, render_report

SCRIPT = "<script>alert('xss')</script>"
IMG = '<img src=x onerror="alert(1)">'


def test_html_report_escapes_example_texts(tmp_path: Path) -> None:
    result = PipelineResult(
        started_at=datetime(2026, 11, 22, 9, 0), outcome=REFUSED, message=f"thử {IMG}",
        steps=[Step("train", "Huấn luyện mô hình mới", FAILED, 1.0, detail=IMG)],
        candidate_eval={"messages": 3, "misses": [{"text": f"chồng tôi đánh tôi {SCRIPT}", "pred_intent": "greet"}]},
        titles={"greet": f"Chào {SCRIPT}"})
    render_report(result, tmp_path)
    html = (tmp_path / HTML_NAME).read_text(encoding="utf-8")
    assert "<script>" not in html and "<img src=x" not in html
    assert "chồng tôi đánh tôi &lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    assert "<table>" in html and "<h2>" in html  # the template's own markup is untouched
    md = (tmp_path / MD_NAME).read_text(encoding="utf-8")
    assert SCRIPT in md  # Markdown is plain text for staff; it is not rendered as HTML by the tools
