"""The staff command line: help, checks, export/import, topics (flags and interactive), review queue."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.cases.store import CaseStore
from bot.db.engine import session_factory
from bot.review_queue import ReviewItem, record_unanswered
from bot.staff.cli import Tool, build_parser, main
from bot.staff.cli.app import AREAS
from bot.staff.cli.review import dismiss as dismiss_command
from tests.staff.helpers import snapshot

EXAMPLES = ["Ly hôn thì ai được nuôi con?", "ly hon thi ai nuoi con", "bố mẹ ly hôn con ở với ai",
            "quyen nuoi con khi ly hon", "con dưới 36 tháng tuổi ở với mẹ phải không",
            "ly hôn rồi có được thăm con không", "tranh chap nuoi con giai quyet sao", "con 7 tuổi có được chọn ở với ai",
            "nguoi khong nuoi con co phai cap duong", "tiền cấp dưỡng nuôi con tính thế nào"]


def tool(repo: Path, day: date, answers: list[str] | None = None, engine=None) -> tuple[Tool, io.StringIO]:
    out = io.StringIO()
    replies = iter(answers or [])
    return Tool(root=repo, content_dir=repo / "content", out=out, err=out, ask=lambda _p: next(replies), today=day,
                engine=engine), out


def test_help_is_bilingual(capsys: pytest.CaptureFixture[str]) -> None:
    text = build_parser().format_help()
    assert "Công cụ cho cán bộ" in text and "Staff tool" in text
    with pytest.raises(SystemExit) as exc:
        main(["content", "--help"])
    assert exc.value.code == 0
    sub = capsys.readouterr().out
    assert "Xuất ra .xlsx" in sub and "export to .xlsx" in sub


def test_content_check_pass_and_fail(repo: Path, day: date) -> None:
    t, out = tool(repo, day)
    assert main(["content", "check"], tool=t) == 0
    assert "ĐẠT: không có lỗi" in out.getvalue()
    path = repo / "content" / "faq" / "safety_plan.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("checked: 2026-11-22", "checked: 2024-01-01"),
                    encoding="utf-8")
    t, out = tool(repo, day)
    assert main(["content", "check"], tool=t) == 1
    assert "[LỖI] chủ đề safety_plan" in out.getvalue() and "đã quá một năm" in out.getvalue()


def test_export_then_import_unchanged(repo: Path, day: date, tmp_path: Path) -> None:
    t, out = tool(repo, day)
    assert main(["content", "export", str(tmp_path / "noi-dung.xlsx")], tool=t) == 0
    assert "Đã xuất" in out.getvalue()
    t, out = tool(repo, day)
    assert main(["content", "import", str(tmp_path / "noi-dung.xlsx")], tool=t) == 0
    assert "Không có gì thay đổi" in out.getvalue()
    t, out = tool(repo, day)
    assert main(["content", "export", "--csv", str(tmp_path / "csv")], tool=t) == 0
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == ["events.csv", "faq.csv", "hotlines.csv"]


def test_import_dry_run_writes_nothing(repo: Path, day: date, tmp_path: Path) -> None:
    t, _ = tool(repo, day)
    main(["content", "export", "--csv", str(tmp_path / "csv")], tool=t)
    faq = tmp_path / "csv" / "faq.csv"
    faq.write_text(faq.read_text(encoding="utf-8-sig") + "safety_plan,,,,,tui muon len ke hoach an toan\r\n",
                   encoding="utf-8-sig")
    before = snapshot(repo / "content")
    t, out = tool(repo, day)
    assert main(["content", "import", str(faq), "--dry-run"], tool=t) == 0
    assert "Sẽ cập nhật: content/faq/safety_plan.yml" in out.getvalue()
    assert snapshot(repo / "content") == before
    t, out = tool(repo, day)
    assert main(["content", "import", str(faq)], tool=t) == 0
    assert "Đã cập nhật: content/faq/safety_plan.yml" in out.getvalue()
    assert snapshot(repo / "content") != before


def test_import_errors_are_printed_in_vietnamese(repo: Path, day: date, tmp_path: Path) -> None:
    bad = tmp_path / "hotlines.csv"
    bad.write_text("Loại,Số điện thoại,Cơ quan/tổ chức,Nguồn,Ngày rà soát\r\nkhẩn cấp,113,Công an,x,hôm qua\r\n",
                   encoding="utf-8-sig")
    t, out = tool(repo, day)
    assert main(["content", "import", str(bad)], tool=t) == 1
    text = out.getvalue()
    assert "[LỖI] Trang “Đường dây nóng”, dòng 2, cột “Ngày rà soát”" in text
    assert "KHÔNG NHẬP" in text and "Chưa có gì bị thay đổi" in text


def test_topic_add_edit_show(repo: Path, day: date) -> None:
    args = ["topic", "add", "custody", "--title", "Ly hôn thì ai nuôi con?", "--answer",
            "Hai bên thỏa thuận; nếu không thỏa thuận được thì Tòa án quyết định.",
            "--source", "Luật Hôn nhân và gia đình số 52/2014/QH13, Điều 81"]
    for example in EXAMPLES:
        args += ["--example", example]
    t, out = tool(repo, day)
    assert main(args, tool=t) == 0, out.getvalue()
    assert "Đã lưu: content/faq/custody.yml" in out.getvalue()
    data = yaml.safe_load((repo / "content" / "faq" / "custody.yml").read_text(encoding="utf-8"))
    assert data["checked"] == day and data["examples"] == EXAMPLES

    t, out = tool(repo, day)
    assert main(["topic", "edit", "custody", "--add-example", "ck vk ly di con theo ai"], tool=t) == 0
    assert yaml.safe_load((repo / "content" / "faq" / "custody.yml").read_text(encoding="utf-8"))["examples"][-1] \
        == "ck vk ly di con theo ai"
    t, out = tool(repo, day)
    assert main(["topic", "show", "custody"], tool=t) == 0
    assert "ck vk ly di con theo ai" in out.getvalue()
    t, out = tool(repo, day)
    assert main(["topic", "list"], tool=t) == 0
    topics = len(list((repo / "content" / "faq").glob("*.yml")))
    assert "custody" in out.getvalue() and f"Tổng cộng {topics} chủ đề." in out.getvalue()


def test_topic_edit_refuses_an_unknown_number(repo: Path, day: date) -> None:
    before = (repo / "content" / "faq" / "safety_plan.yml").read_bytes()
    t, out = tool(repo, day)
    assert main(["topic", "edit", "safety_plan", "--answer", "Gọi ngay 0999 888 777."], tool=t) == 1
    assert "KHÔNG LƯU" in out.getvalue() and "0999888777" in out.getvalue()
    assert (repo / "content" / "faq" / "safety_plan.yml").read_bytes() == before


def test_topic_edit_refuses_to_drop_below_ten_examples(repo: Path, day: date) -> None:
    examples = yaml.safe_load((repo / "content" / "faq" / "international_day.yml").read_text(encoding="utf-8"))[
        "examples"]
    args = ["topic", "edit", "international_day"]
    for example in examples[: len(examples) - 9]:
        args += ["--remove-example", example]
    t, out = tool(repo, day)
    assert main(args, tool=t) == 1
    assert "cần ít nhất 10" in out.getvalue()


def test_topic_add_interactive(repo: Path, day: date) -> None:
    answers = ["custody", "Ly hôn thì ai nuôi con?", "Hai bên thỏa thuận.", "Nếu không, Tòa án quyết định.", ".",
               "Luật Hôn nhân và gia đình 2014", "", *EXAMPLES, "", "c"]
    t, out = tool(repo, day, answers)
    assert main(["topic", "add", "--interactive"], tool=t) == 0, out.getvalue()
    data = yaml.safe_load((repo / "content" / "faq" / "custody.yml").read_text(encoding="utf-8"))
    assert data["answer"] == "Hai bên thỏa thuận.\nNếu không, Tòa án quyết định."
    assert data["checked"] == day and len(data["examples"]) == 10


def test_topic_edit_interactive_can_be_cancelled(repo: Path, day: date) -> None:
    before = (repo / "content" / "faq" / "safety_plan.yml").read_bytes()
    t, out = tool(repo, day, ["Tiêu đề mới", ".", "", "", "", "k"])
    assert main(["topic", "edit", "safety_plan", "-i"], tool=t) == 1
    assert "Đã hủy" in out.getvalue()
    assert (repo / "content" / "faq" / "safety_plan.yml").read_bytes() == before


def test_review_commands(repo: Path, day: date, store: CaseStore) -> None:
    first = record_unanswered(store, "zalo:1", "Tôi là Hùng, cho hỏi ly hôn thì ai nuôi con", "nlu_fallback",
                              0.2)
    second = record_unanswered(store, "zalo:2", "giá vàng hôm nay", "out_of_scope", 0.9)
    t, out = tool(repo, day, engine=store.engine)
    assert main(["review", "list"], tool=t) == 0
    assert "“Tôi là [tên], cho hỏi ly hôn thì ai nuôi con”" in out.getvalue()
    assert "zalo:1" not in out.getvalue()
    t, out = tool(repo, day, engine=store.engine)
    assert main(["review", "assign", str(first), "safety_plan"], tool=t) == 1
    assert "[tên]" in out.getvalue()
    t, out = tool(repo, day, engine=store.engine)
    assert main(["review", "new-topic", str(first), "custody", "--title", "Ly hôn thì ai nuôi con?", "--answer",
                 "Hai bên thỏa thuận.", "--source", "Luật HNGĐ 2014", "--text", "ly hôn thì ai nuôi con",
                 "--by", "lan"], tool=t) == 0
    assert "ít nhất 10" in out.getvalue() and "Đã lưu: content/faq/custody.yml" in out.getvalue()
    t, out = tool(repo, day, engine=store.engine)
    assert main(["review", "dismiss", str(second)], tool=t) == 0
    t, out = tool(repo, day, engine=store.engine)
    assert main(["review", "list"], tool=t) == 0
    assert "Hàng đợi trống" in out.getvalue()


@pytest.mark.parametrize("argv", [["content"], ["topic", "add", "X", "--title"], ["nope"]])
def test_bad_arguments_exit_with_usage(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(argv)
    assert exc.value.code == 2


def test_each_command_is_declared_once_and_parses_to_its_handler() -> None:
    table = {area.name: [command.name for command in area.commands] for area in AREAS}
    assert table == {"content": ["build", "check-built", "check", "export", "import"],
                     "topic": ["list", "show", "add", "edit"], "model": ["train", "deploy"],
                     "review": ["list", "assign", "new-topic", "dismiss", "purge"], "report": ["report"],
                     "broadcast": ["create", "approve", "cancel", "status", "list"]}
    handlers = [command.handler for area in AREAS for command in area.commands]
    assert len(set(handlers)) == len(handlers)
    assert build_parser().parse_args(["review", "dismiss", "3"]).handler is dismiss_command


def test_review_actor_defaults_to_the_shell_user(repo: Path, day: date, store: CaseStore,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    item = record_unanswered(store, "zalo:2", "giá vàng hôm nay", "out_of_scope", 0.9)
    monkeypatch.setenv("USER", "hoa")
    t, out = tool(repo, day, engine=store.engine)
    assert main(["review", "dismiss", str(item)], tool=t) == 0, out.getvalue()
    t, out = tool(repo, day, engine=store.engine)
    assert main(["review", "dismiss", str(item)], tool=t) == 1
    assert "KHÔNG THỰC HIỆN: mục #" in out.getvalue()
    with session_factory(store.engine)() as s:
        assert s.execute(select(ReviewItem.handled_by)).scalar_one() == "hoa"


def test_python_m_bot_help_runs() -> None:
    done = subprocess.run([sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, check=False,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert "{content,topic,model,review,broadcast,report}" in done.stdout and "docs/staff-guide.md" in done.stdout
