"""Turns a period's raw figures into the report: tables of suppressed cells and a few summary sentences.

Every count goes through `cell` here, the only place raw counts become something shown; every table and
sentence is in Vietnamese. `make_report` is what the command line and the console call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.engine import Engine

from bot.cases.models import URGENCIES
from bot.content.provinces import Provinces
from bot.outreach.models import R_FAILED, R_PENDING, R_SENT, R_SKIPPED
from bot.outreach.views import OTHER_REASON, SKIP_LABELS, STATE_LABELS
from bot.reporting.cases import resolved_share, wait_summary
from bot.reporting.figures import Figures, gather, title_of
from bot.reporting.tables import (
    CHANNEL_LABELS,
    URGENCY_LABELS,
    Cell,
    Period,
    Report,
    Table,
    cell,
    channel_label,
    spoken,
)
from bot.review_queue import REASON_LABELS
from bot.senders import CHANNELS

TOP_QUESTIONS = 15
NOT_ENOUGH = "Chưa đủ 10 câu trả lời"
ALL_LABEL = "Tất cả"


def _by_channel(counters: list[Counter[str]]) -> tuple[tuple[Cell, ...], ...]:
    """One row per channel that has anything, then the total."""
    channels = [c for c in CHANNELS if any(counter[c] for counter in counters)]
    channels += sorted({c for counter in counters for c in counter if c not in CHANNEL_LABELS})
    rows = [(channel_label(c), *(cell(counter[c]) for counter in counters)) for c in channels]
    rows.append((ALL_LABEL, *(cell(sum(counter.values())) for counter in counters)))
    return tuple(rows)


def reach_tables(f: Figures) -> list[Table]:
    """Residents and conversations by channel and by day, and the questions asked."""
    t = f.tracker
    note = "" if t.available else "Không đọc được kho hội thoại của trợ lý: các số liệu này để trống."
    by_channel = Table("reach_by_channel", "Người dân theo kênh", "Người dân và cuộc trò chuyện theo kênh",
                       ("Kênh", "Số người dân", "Số cuộc trò chuyện"), _by_channel([t.residents, t.conversations]),
                       note, chart="bar", chart_column=1)
    by_day = Table("reach_by_day", "Theo ngày", "Người dân và cuộc trò chuyện theo ngày",
                   ("Ngày", "Số người dân", "Số cuộc trò chuyện"),
                   tuple((f"{d:%d/%m/%Y}", cell(t.residents_by_day[d]), cell(t.conversations_by_day[d]))
                         for d in f.period.days()), note, chart="bar", chart_column=2)
    return [by_channel, by_day]


def question_table(f: Figures, titles: Mapping[str, str]) -> Table:
    """The most asked questions by topic; the rest in one line."""
    ranked = sorted(f.tracker.questions.items(), key=lambda kv: (-kv[1], title_of(kv[0], titles)))
    rows: list[tuple[Cell, ...]] = [(title_of(k, titles), cell(n)) for k, n in ranked[:TOP_QUESTIONS]]
    if rest := sum(n for _, n in ranked[TOP_QUESTIONS:]):
        rows.append(("Các chủ đề khác", cell(rest)))
    return Table("questions", "Câu hỏi theo chủ đề", "Câu hỏi người dân hỏi nhiều nhất, theo chủ đề",
                 ("Chủ đề", "Số lượt hỏi"), tuple(rows),
                 "Đếm tin nhắn của người dân theo chủ đề trợ lý nhận ra (không kể chào hỏi, cảm ơn).",
                 chart="barh")


def unanswered_table(f: Figures) -> Table:
    """What the bot could not answer, by reason (no text)."""
    rows = tuple((REASON_LABELS.get(r, r).capitalize(), cell(n)) for r, n in sorted(f.unanswered.items()))
    return Table("unanswered", "Chưa trả lời được", "Tin nhắn trợ lý chưa trả lời được, theo lý do",
                 ("Lý do", "Số tin nhắn"), (*rows, (ALL_LABEL, cell(sum(f.unanswered.values())))),
                 "Từ hàng chờ xem xét của cán bộ; không ghi nội dung tin nhắn.", chart=None)


def case_tables(f: Figures) -> list[Table]:
    """Cases by urgency, channel and province; time to claim; re-escalations and resolved share; outcomes."""
    c = f.cases
    urgency = Table("cases_by_urgency", "Ca theo mức độ", "Ca chuyển tư vấn viên theo mức độ khẩn cấp",
                    ("Mức độ", "Số ca"), (*((URGENCY_LABELS.get(u, u), cell(c.by_urgency[u])) for u in URGENCIES),
                                          (ALL_LABEL, cell(c.total))), chart="bar")
    channel = Table("cases_by_channel", "Ca theo kênh", "Ca chuyển tư vấn viên theo kênh", ("Kênh", "Số ca"),
                    _by_channel([c.by_channel]))
    province = Table("cases_by_province", "Ca theo tỉnh", "Ca chuyển tư vấn viên theo tỉnh, thành phố",
                     ("Tỉnh, thành phố", "Số ca"),
                     tuple((p, cell(n)) for p, n in sorted(c.by_province.items(), key=lambda kv: (-kv[1], kv[0]))))
    claim_rows = [(URGENCY_LABELS.get(u, u), cell(len(c.waits.get(u, []))), *wait_summary(c.waits.get(u, [])))
                  for u in URGENCIES]
    claim_rows.append((ALL_LABEL, cell(len(c.all_waits())), *wait_summary(c.all_waits())))
    claims = Table("claim_times", "Thời gian nhận ca", "Thời gian từ lúc chuyển ca đến lúc có tư vấn viên nhận",
                   ("Mức độ", "Số ca đã nhận", "Trung vị", "90% số ca được nhận trong"), tuple(claim_rows),
                   "Trung vị: một nửa số ca được nhận nhanh hơn. Để trống («—») khi dưới 5 ca.")
    follow = Table("case_follow_up", "Nhắc lại và xử lý xong", "Ca phải nhắc lại và ca đã xử lý xong",
                   ("Chỉ số", "Giá trị"),
                   (("Số ca phải nhắc lại (báo giám sát)", cell(c.reescalated_cases)),
                    ("Số lần nhắc lại", cell(c.reescalations)), ("Số ca đã xử lý xong", cell(c.resolved)),
                    ("Tỉ lệ đã xử lý xong", resolved_share(c))),
                   "Tính trên các ca chuyển đến trong kỳ báo cáo.")
    outcomes = Table("outcomes", "Kết quả xử lý", "Kết quả của các ca đã xử lý xong trong kỳ", ("Kết quả", "Số ca"),
                     tuple((o.label, int(o.count) if o.count.isdigit() else o.count) for o in c.outcomes),
                     chart="barh")
    return [urgency, channel, province, claims, follow, outcomes]


def outreach_tables(f: Figures) -> list[Table]:
    """Broadcasts, what became of their recipients, subscriptions and polls."""
    o = f.outreach
    lines = tuple((b.id, b.day, b.excerpt, channel_label(b.channel) if b.channel else ALL_LABEL,
                   b.province or ALL_LABEL, STATE_LABELS.get(b.state, b.state), cell(b.recipients),
                   cell(b.status[R_SENT]), cell(b.status[R_SKIPPED]), cell(b.status[R_FAILED]),
                   cell(b.status[R_PENDING])) for b in o.broadcasts)
    broadcasts = Table("broadcasts", "Tin đã gửi", "Các tin gửi đến người đăng ký trong kỳ",
                       ("Mã tin", "Ngày gửi", "Nội dung (đầu tin)", "Kênh", "Tỉnh", "Trạng thái", "Người nhận",
                        "Đã gửi", "Bỏ qua", "Lỗi", "Chưa gửi"), lines)
    delivery = Table("delivery", "Kết quả gửi tin", "Kết quả gửi tin, cộng tất cả các tin", ("Kết quả", "Số người"),
                     (("Đã gửi", cell(o.total(R_SENT))), ("Bỏ qua", cell(o.total(R_SKIPPED))),
                      ("Lỗi", cell(o.total(R_FAILED))), ("Chưa gửi", cell(o.total(R_PENDING)))), chart="bar")
    reasons = o.skip_reasons()
    skipped = Table("skip_reasons", "Lý do bỏ qua", "Người nhận bị bỏ qua, theo lý do", ("Lý do", "Số người"),
                    tuple((SKIP_LABELS.get(r, OTHER_REASON), cell(reasons[r]))
                          for r in [*SKIP_LABELS, *sorted(set(reasons) - set(SKIP_LABELS))]),
                    "Người có ca đang xử lý, đã hủy đăng ký hay đã xin xóa dữ liệu không bao giờ nhận tin.",
                    chart="barh")
    subs = Table("subscriptions", "Đăng ký nhận tin", "Đăng ký và hủy đăng ký nhận tin theo kênh",
                 ("Kênh", "Đăng ký mới", "Hủy đăng ký trong kỳ", "Đang nhận tin (cuối kỳ)"),
                 _by_channel([o.new_subscriptions, o.unsubscribed, o.active_at_end]))
    poll_rows: list[tuple[Cell, ...]] = []
    for poll in o.polls:
        for option in poll.options:
            poll_rows.append((poll.broadcast_id, poll.question, option.label,
                              NOT_ENOUGH if option.count is None else cell(option.count), cell(poll.total)))
    polls = Table("polls", "Thăm dò ý kiến", "Kết quả thăm dò ý kiến (ẩn danh)",
                  ("Mã tin", "Câu hỏi", "Phương án", "Số người chọn", "Tổng số trả lời"), tuple(poll_rows),
                  "Chỉ hiện kết quả khi có từ 10 người trả lời; kết quả chung của cả cuộc thăm dò.")
    return [broadcasts, delivery, skipped, subs, polls]


def summary(f: Figures, titles: Mapping[str, str]) -> tuple[str, ...]:
    """A few sentences a staff member can copy into the official report."""
    p, t, c, o = f.period, f.tracker, f.cases, f.outreach
    lines = []
    if t.available:
        lines.append(f"Từ {p.start:%d/%m/%Y} đến {p.end:%d/%m/%Y}, trợ lý đã trò chuyện với "
                     f"{spoken(cell(t.total_residents))} người dân trong {spoken(cell(t.total_conversations))} "
                     "cuộc trò chuyện trên Zalo, Messenger và Telegram.")
        if t.questions:
            top = max(t.questions.items(), key=lambda kv: (kv[1], kv[0]))[0]
            lines.append(f"Chủ đề được hỏi nhiều nhất: «{title_of(top, titles)}».")
    else:
        lines.append("Không đọc được kho hội thoại của trợ lý, nên chưa có số người dân và cuộc trò chuyện.")
    median, _ = wait_summary(c.all_waits())
    wait = f"; một nửa số ca được nhận trong vòng {median}" if median != "—" else ""
    lines.append(f"Có {spoken(cell(c.total))} ca được chuyển cho tư vấn viên{wait}; "
                 f"tỉ lệ đã xử lý xong: {resolved_share(c)}.")
    lines.append(f"Đã gửi {spoken(cell(len(o.broadcasts)))} tin truyền thông; {spoken(cell(o.total(R_SENT)))} "
                 f"lượt người nhận được tin, {spoken(cell(sum(o.unsubscribed.values())))} người hủy đăng ký "
                 "trong kỳ.")
    lines.append("Mọi số từ 1 đến 4 được ghi là «<5» để không ai bị nhận ra; báo cáo không có tên, số điện "
                 "thoại hay nội dung tin nhắn của người dân.")
    return tuple(lines)


def assemble(f: Figures, titles: Mapping[str, str], made_at: datetime) -> Report:
    """The report of already gathered figures."""
    tables = [*reach_tables(f), question_table(f, titles), unanswered_table(f), *case_tables(f), *outreach_tables(f)]
    return Report(f.period, made_at, summary(f, titles), tuple(tables))


def make_report(engine: Engine, tracker: Engine | None, period: Period, provinces: Provinces,
                titles: Mapping[str, str], now: datetime) -> Report:
    """Gather and assemble the report of a period."""
    return assemble(gather(engine, tracker, period, provinces), titles, now)
