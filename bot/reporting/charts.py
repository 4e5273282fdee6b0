"""Bar charts of the report's tables as PNG images (matplotlib's Agg canvas, no pyplot, nothing at import time).

A count hidden by the small-count rule is never drawn as its value: it gets no bar, only the text "<5" where the
bar would stand. Labels use DejaVu Sans (shipped with matplotlib), which has every Vietnamese letter.
"""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.reporting.tables import Cell, Table, is_suppressed

TOTAL_LABELS = ("Tất cả",)  # a table's total row is not a bar
COLOR, MUTED = "#2f6f9f", "#777777"
MAX_LABEL = 48


def font_path(bold: bool = False) -> Path:
    """DejaVu Sans inside matplotlib's own data folder."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name


def _short(label: str) -> str:
    label = unicodedata.normalize("NFC", label)
    return label if len(label) <= MAX_LABEL else label[:MAX_LABEL - 1].rstrip() + "…"


def bars(table: Table) -> list[tuple[str, Cell]]:
    """The (label, value) pairs a table's chart draws: its rows without the total, in table order."""
    return [(str(row[0]), row[table.chart_column]) for row in table.rows if str(row[0]) not in TOTAL_LABELS]


def chart_png(table: Table, width: float = 7.0) -> bytes | None:
    """The table's chart, or None when it has no chart or nothing to draw (every value 0)."""
    pairs = bars(table)
    if table.chart is None or not pairs or not any(v for _, v in pairs):
        return None
    labels = [_short(label) for label, _ in pairs]
    heights = [v if isinstance(v, int) else 0 for _, v in pairs]
    horizontal = table.chart == "barh"
    tall = max(2.4, 0.38 * len(pairs) + 1.0) if horizontal else 3.2
    with matplotlib.rc_context({"font.family": "DejaVu Sans", "font.size": 9, "axes.spines.top": False,
                                "axes.spines.right": False}):
        fig = Figure(figsize=(width, tall), dpi=150)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        positions = list(range(len(pairs)))
        top = max(heights) or 1
        if horizontal:
            ax.barh(positions, heights, color=COLOR)
            ax.set_yticks(positions)
            ax.set_yticklabels(labels)
            ax.invert_yaxis()
            ax.set_xlim(0, top * 1.18)
            ax.set_xlabel(table.headers[table.chart_column])
        else:
            ax.bar(positions, heights, color=COLOR)
            ax.set_xticks(positions)
            many = len(pairs) > 12
            ax.set_xticklabels([label if not many or i % max(1, len(pairs) // 12) == 0 else ""
                                for i, label in enumerate(labels)], rotation=45 if many else 0,
                               ha="right" if many else "center")
            ax.set_ylim(0, top * 1.18)
            ax.set_ylabel(table.headers[table.chart_column])
        for pos, (_, value) in zip(positions, pairs):
            text, color = ("<5", MUTED) if is_suppressed(value) else (str(value), "black")
            if not value and not is_suppressed(value):
                continue
            height = value if isinstance(value, int) else 0
            if horizontal:
                ax.text(height + top * 0.01, pos, text, va="center", color=color)
            elif len(pairs) <= 20:
                ax.text(pos, height + top * 0.01, text, ha="center", va="bottom", color=color)
        ax.set_title(table.title, fontsize=10, loc="left")
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    return buffer.getvalue()
