"""`python -m bot …`: the staff tool (Vietnamese messages; help in Vietnamese and English)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from bot.config import CONTENT_DIR, ROOT, env, load_dotenv

Printer = Callable[[str], None]


def _parse_day(text: str) -> date:
    from bot.staff.sheets import parse_date

    parsed = parse_date(text)
    if parsed is None:
        raise argparse.ArgumentTypeError(f"ngày không hợp lệ / invalid date: {text} (YYYY-MM-DD)")
    return parsed


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the whole tool."""
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Công cụ cho cán bộ: sửa nội dung, kiểm tra, huấn luyện, nạp mô hình, hàng đợi xem xét. / "
                    "Staff tool: edit content, check, train, deploy the model, review queue.",
        epilog="Hướng dẫn từng bước / step-by-step guide: docs/staff-guide.md")
    sub = parser.add_subparsers(dest="area", required=True, metavar="{content,topic,model,review}")

    content = sub.add_parser("content", help="Nội dung: kiểm tra, xuất/nhập Excel / content: check, export, import")
    csub = content.add_subparsers(dest="command", required=True)
    csub.add_parser("build", help="Sinh dữ liệu huấn luyện từ content/faq / generate training data from content/faq")
    csub.add_parser("check-built", help="Kiểm tra dữ liệu sinh ra đã cập nhật / check generated files are current")
    check = csub.add_parser("check", help="Kiểm tra toàn bộ nội dung / run every content check")
    check.add_argument("--today", type=_parse_day, help="ngày dùng để so (mặc định hôm nay) / date to check against")
    export = csub.add_parser("export", help="Xuất ra .xlsx hoặc thư mục .csv / export to .xlsx or a folder of .csv")
    export.add_argument("path", nargs="?", default=None,
                        help="tệp .xlsx, hoặc thư mục khi dùng --csv (mặc định var/noi-dung.xlsx) / output file or folder")
    export.add_argument("--csv", action="store_true", help="xuất thành các tệp .csv / write CSV files")
    imp = csub.add_parser("import", help="Nhập lại từ .xlsx/.csv (chỉ ghi khi mọi dòng hợp lệ) / "
                                         "import .xlsx/.csv (writes only if every row is valid)")
    imp.add_argument("path", nargs="?", default=None,
                     help="tệp .xlsx, tệp .csv hoặc thư mục chứa .csv (mặc định var/noi-dung.xlsx) / "
                          ".xlsx file, .csv file or folder")
    imp.add_argument("--dry-run", action="store_true", help="chỉ kiểm tra, không ghi / validate only")
    imp.add_argument("--allow-delete", action="store_true",
                     help="cho phép xóa chủ đề không có trong bảng tính / delete topics missing from the sheet")
    imp.add_argument("--today", type=_parse_day, help=argparse.SUPPRESS)

    topic = sub.add_parser("topic", help="Chủ đề FAQ: xem, thêm, sửa / FAQ topics: list, show, add, edit")
    tsub = topic.add_subparsers(dest="command", required=True)
    tsub.add_parser("list", help="Liệt kê chủ đề / list topics")
    show = tsub.add_parser("show", help="Xem một chủ đề / show one topic")
    show.add_argument("name")
    for name, text in (("add", "Thêm chủ đề mới / add a topic"), ("edit", "Sửa chủ đề / edit a topic")):
        p = tsub.add_parser(name, help=text)
        p.add_argument("name", nargs="?" if name == "add" else None, help="mã chủ đề, ví dụ safety_plan / topic id")
        p.add_argument("-i", "--interactive", action="store_true", help="hỏi từng mục / prompt for each field")
        p.add_argument("--title", help="tiêu đề / title")
        p.add_argument("--answer", help="câu trả lời / answer")
        p.add_argument("--answer-file", type=Path, help="đọc câu trả lời từ tệp / read the answer from a file")
        p.add_argument("--source", help="nguồn / source")
        p.add_argument("--checked", type=_parse_day, help="ngày rà soát (mặc định hôm nay) / review date")
        if name == "add":
            p.add_argument("--example", action="append", default=[], help="câu hỏi mẫu (lặp lại được) / example")
        else:
            p.add_argument("--add-example", action="append", default=[], help="thêm câu hỏi mẫu / add an example")
            p.add_argument("--remove-example", action="append", default=[], help="bỏ câu hỏi mẫu / remove an example")
            p.add_argument("--checked-today", action="store_true", help="đặt ngày rà soát là hôm nay / reviewed today")

    model = sub.add_parser("model", help="Huấn luyện an toàn và nạp mô hình / safe training and deployment")
    msub = model.add_subparsers(dest="command", required=True)
    msub.add_parser("train", help="Kiểm tra → huấn luyện → chấm điểm → cổng kiểm tra → báo cáo / "
                                  "checks → train → evaluate → gate → report")
    deploy = msub.add_parser("deploy", help="Nạp mô hình đã được chấp nhận vào Rasa đang chạy, tự quay lại nếu lỗi / "
                                            "load the accepted model into running Rasa, roll back on failure")
    deploy.add_argument("--model", type=Path, help="mặc định models/current.tar.gz / default models/current.tar.gz")
    deploy.add_argument("--previous", type=Path, help="mô hình để quay lại (mặc định models/previous.tar.gz)")
    deploy.add_argument("--url", help="địa chỉ Rasa (mặc định $RASA_URL hoặc http://127.0.0.1:5005) / Rasa URL")
    deploy.add_argument("--force", action="store_true",
                        help="nạp cả mô hình chưa qua cổng kiểm tra / deploy a model that did not pass the gate")

    review = sub.add_parser("review", help="Hàng đợi tin nhắn chưa trả lời được / review queue")
    rsub = review.add_subparsers(dest="command", required=True)
    lst = rsub.add_parser("list", help="Xem các tin nhắn đang chờ / list pending messages")
    lst.add_argument("--limit", type=int, default=50)
    assign = rsub.add_parser("assign", help="Thêm vào chủ đề có sẵn / add to an existing topic as an example")
    assign.add_argument("id", type=int)
    assign.add_argument("topic")
    newt = rsub.add_parser("new-topic", help="Tạo chủ đề mới từ tin nhắn / start a new topic from the message")
    newt.add_argument("id", type=int)
    newt.add_argument("topic")
    newt.add_argument("--title", required=True)
    newt.add_argument("--answer", required=True)
    newt.add_argument("--source", required=True)
    for p in (assign, newt):
        p.add_argument("--text", help="viết lại câu hỏi trước khi thêm / reword the question first")
    dismiss = rsub.add_parser("dismiss", help="Bỏ qua tin nhắn / dismiss")
    dismiss.add_argument("id", type=int)
    for p in (assign, newt, dismiss):
        p.add_argument("--by", default=os.environ.get("USER", "staff"), help="tên người xử lý / who handled it")
    purge = rsub.add_parser("purge", help="Xóa mục đã xử lý quá N ngày / delete handled items older than N days")
    purge.add_argument("--days", type=int, default=90)
    return parser


class Tool:
    """Runs one command; paths, input and output are injectable for tests."""

    def __init__(self, root: Path = ROOT, content_dir: Path = CONTENT_DIR, out: TextIO | None = None,
                 err: TextIO | None = None, ask: Callable[[str], str] = input, today: date | None = None,
                 engine: Any = None) -> None:
        self.root, self.content_dir = root, content_dir
        self.nlu_dir = root / "data" / "nlu"
        self.out, self.err, self.ask = out or sys.stdout, err or sys.stderr, ask
        self._today, self._engine = today, engine

    def say(self, text: str = "") -> None:
        """Print to standard output."""
        print(text, file=self.out)

    def warn(self, text: str) -> None:
        """Print to standard error."""
        print(text, file=self.err)

    @property
    def today(self) -> date:
        """Today in Vietnam (or the injected date)."""
        from bot.staff.topics import today_vn

        return self._today or today_vn()

    def engine(self) -> Any:
        """The project database (created on first use)."""
        if self._engine is None:
            from bot.db import init_db, make_engine

            self._engine = make_engine()
            init_db(self._engine)
        return self._engine

    # ------------------------------------------------------------------ content
    def content_build(self, args: argparse.Namespace) -> int:
        """Regenerate data/nlu/faq.yml and domain/faq.yml."""
        from bot.content import faq

        for path in faq.build(self.content_dir, self.root):
            self.say(f"đã cập nhật / updated: {path.relative_to(self.root)}")
        return 0

    def content_check_built(self, args: argparse.Namespace) -> int:
        """Fail when the generated files are stale."""
        from bot.content import faq

        if not faq.is_built(self.content_dir, self.root):
            self.warn("data/nlu/faq.yml hoặc domain/faq.yml chưa khớp content/faq: chạy `make content`. "
                      "Generated FAQ files are stale: run `make content`.")
            return 1
        return 0

    def content_check(self, args: argparse.Namespace) -> int:
        """Run every content check and print the findings."""
        from bot.staff.checks import check_content, errors, other_nlu_examples
        from bot.staff.store import load_content
        from bot.staff.topics import load_provinces

        content = load_content(self.content_dir)
        problems = check_content(content, args.today or self.today, load_provinces(self.content_dir),
                                 other_nlu_examples(self.nlu_dir))
        for problem in problems:
            self.say(problem.line())
        n_err = len(errors(problems))
        n_warn = len(problems) - n_err
        self.say(f"Đã kiểm tra {len(content.topics)} chủ đề, {len(content.events)} sự kiện, "
                 f"{sum(len(v) for v in content.hotlines.values())} số điện thoại.")
        if n_err:
            self.say(f"KHÔNG ĐẠT: {n_err} lỗi, {n_warn} cảnh báo. Sửa các lỗi rồi kiểm tra lại.")
            return 1
        self.say("ĐẠT: không có lỗi" + (f" ({n_warn} cảnh báo)." if n_warn else "."))
        return 0

    def content_export(self, args: argparse.Namespace) -> int:
        """Write the spreadsheet(s)."""
        from bot.staff.sheets import export_csv, export_xlsx
        from bot.staff.store import load_content

        content = load_content(self.content_dir)
        if content.load_errors:
            for label, message in content.load_errors:
                self.warn(f"LỖI content/{label}: {message}")
            return 1
        path = Path(args.path) if args.path else self.root / "var" / ("noi-dung" if args.csv else "noi-dung.xlsx")
        if args.csv:
            folder = path if path.suffix.lower() != ".xlsx" else path.with_suffix("")
            for written in export_csv(content, folder):
                self.say(f"Đã xuất: {written}")
        else:
            if path.suffix.lower() != ".xlsx":
                path = path.with_suffix(".xlsx")
            export_xlsx(content, path)
            self.say(f"Đã xuất: {path.resolve()}")
        self.say(f"Gồm {len(content.topics)} chủ đề FAQ, {len(content.events)} sự kiện, "
                 f"{sum(len(v) for v in content.hotlines.values())} số điện thoại.")
        return 0

    def content_import(self, args: argparse.Namespace) -> int:
        """Validate a spreadsheet and write the content only if it is entirely valid."""
        from bot.staff.checks import other_nlu_examples
        from bot.staff.sheets import SheetError, import_sheets, read_any
        from bot.staff.store import load_content
        from bot.staff.topics import load_provinces

        path = Path(args.path) if args.path else self.root / "var" / "noi-dung.xlsx"
        if not path.exists():
            self.warn(f"LỖI: không tìm thấy {path}")
            return 1
        read_errors: list[SheetError] = []
        sheets = read_any(path, read_errors)
        current = load_content(self.content_dir)
        result = import_sheets(sheets, self.content_dir, current, args.today or self.today,
                               load_provinces(self.content_dir), other_nlu_examples(self.nlu_dir), read_errors,
                               allow_delete=args.allow_delete)
        if result.sheets:
            self.say("Đã đọc các trang: " + ", ".join(result.sheets))
        for warning in result.warnings:
            self.say(warning.line())
        if not result.ok:
            for error in result.errors:
                self.say(error.line())
            self.say(f"KHÔNG NHẬP: {len(result.errors)} lỗi. Chưa có gì bị thay đổi. "
                     "Sửa các ô được nêu trong tệp rồi nhập lại.")
            return 1
        if result.plan.empty():
            self.say("Không có gì thay đổi so với nội dung hiện tại.")
            return 0
        for written in result.plan.writes:
            self.say(f"{'Sẽ cập nhật' if args.dry_run else 'Đã cập nhật'}: {written.relative_to(self.content_dir.parent)}")
        for deleted in result.plan.deletes:
            self.say(f"{'Sẽ xóa' if args.dry_run else 'Đã xóa'}: {deleted.relative_to(self.content_dir.parent)}")
        if args.dry_run:
            self.say("Chạy thử: chưa ghi gì (bỏ --dry-run để ghi).")
            return 0
        result.plan.apply()
        self.say("XONG. Bước tiếp theo: `make train` để huấn luyện lại, rồi `make deploy-model`.")
        return 0

    # ------------------------------------------------------------------ topics
    def topic_list(self, args: argparse.Namespace) -> int:
        """One line per topic."""
        from bot.staff.store import load_content

        content = load_content(self.content_dir)
        self.say(f"{'Mã chủ đề':32} {'Số câu':>6}  {'Rà soát':10}  Tiêu đề")
        for name, topic in content.topics.items():
            checked = topic.get("checked")
            self.say(f"{name:32} {len(topic.get('examples') or []):>6}  {checked or '—'!s:10}  "
                     f"{topic.get('title') or ''}")
        self.say(f"Tổng cộng {len(content.topics)} chủ đề.")
        return 0

    def topic_show(self, args: argparse.Namespace) -> int:
        """Print one topic."""
        from bot.staff.store import load_content

        topic = load_content(self.content_dir).topics.get(args.name)
        if topic is None:
            self.warn(f"LỖI: không có chủ đề “{args.name}” (xem: python -m bot topic list)")
            return 1
        self.say(f"Mã chủ đề: {args.name}\nTiêu đề: {topic.get('title')}\nNguồn: {topic.get('source')}\n"
                 f"Ngày rà soát: {topic.get('checked')}\nCâu trả lời:\n{topic.get('answer')}\n"
                 f"Câu hỏi mẫu ({len(topic.get('examples') or [])}):")
        for example in topic.get("examples") or []:
            self.say(f"  - {example}")
        return 0

    def _prompt(self, label: str, current: str | None = None) -> str:
        suffix = f" [{current}]" if current else ""
        answer = self.ask(f"{label}{suffix}: ").strip()
        return answer or (current or "")

    def _prompt_lines(self, label: str, end: str) -> list[str]:
        self.say(label)
        lines = []
        while True:
            line = self.ask("> ")
            if line.strip() == end or (end == "" and not line.strip()):
                return lines
            lines.append(line.rstrip())

    def _interactive(self, name: str | None, topic: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        from bot.staff.checks import TOPIC_NAME_RE

        while not name or not TOPIC_NAME_RE.match(name):
            name = self._prompt("Mã chủ đề (chữ thường không dấu, nối bằng _, ví dụ safety_plan)")
        topic = dict(topic)
        topic["title"] = self._prompt("Tiêu đề", topic.get("title"))
        if topic.get("answer"):
            self.say(f"Câu trả lời hiện tại:\n{topic['answer']}")
        lines = self._prompt_lines("Câu trả lời mới (nhiều dòng; gõ một dòng chỉ có dấu . để kết thúc; "
                                   "gõ . ngay để giữ nguyên):", ".")
        if lines:
            topic["answer"] = "\n".join(lines).strip()
        topic["source"] = self._prompt("Nguồn", topic.get("source"))
        checked = self._prompt("Ngày rà soát (YYYY-MM-DD)", self.today.isoformat())
        topic["checked"] = _parse_day(checked)
        added = self._prompt_lines("Câu hỏi mẫu cần thêm (mỗi dòng một câu; dòng trống để kết thúc):", "")
        topic["examples"] = [*list(topic.get("examples") or []), *[a.strip() for a in added if a.strip()]]
        self.say(f"\nChủ đề {name}: {topic['title']} — {len(topic['examples'])} câu hỏi mẫu.")
        if self._prompt("Lưu thay đổi? (c/k)").lower() not in ("c", "co", "có", "y", "yes"):
            self.say("Đã hủy, chưa ghi gì.")
            return None
        return name, topic

    def _save(self, name: str, values: dict[str, Any], lenient: bool) -> int:
        from bot.staff.topics import LENIENT_NEW_TOPIC, SaveRefused, save_topic

        try:
            written, warnings = save_topic(self.content_dir, self.nlu_dir, name, values, self.today,
                                           LENIENT_NEW_TOPIC if lenient else frozenset())
        except SaveRefused as exc:
            for problem in exc.problems:
                self.say(problem.line())
            self.say("KHÔNG LƯU: thay đổi này gây lỗi nội dung. Chưa có gì bị thay đổi.")
            return 1
        for problem in warnings:
            self.say(problem.line())
        for path in written:
            self.say(f"Đã lưu: {path.relative_to(self.content_dir.parent)}")
        if not written:
            self.say("Không có gì thay đổi.")
        return 0

    def _answer(self, args: argparse.Namespace) -> str | None:
        if args.answer_file:
            return args.answer_file.read_text(encoding="utf-8").strip()
        return args.answer.strip() if args.answer else None

    def topic_add(self, args: argparse.Namespace) -> int:
        """Create a topic (flags or interactive)."""
        from bot.staff.checks import TOPIC_NAME_RE
        from bot.staff.store import load_content

        current = load_content(self.content_dir)
        if args.name and args.name in current.topics:
            self.warn(f"LỖI: chủ đề “{args.name}” đã có; dùng `topic edit`.")
            return 1
        values = {"topic": args.name, "title": args.title, "answer": self._answer(args), "source": args.source,
                  "checked": args.checked or self.today, "examples": [e.strip() for e in args.example if e.strip()]}
        if args.interactive:
            answered = self._interactive(args.name, values)
            if answered is None:
                return 1
            name, values = answered
            if name in current.topics:
                self.warn(f"LỖI: chủ đề “{name}” đã có; dùng `topic edit`.")
                return 1
        else:
            name = args.name
            missing = [flag for flag, key in (("NAME", "topic"), ("--title", "title"), ("--answer", "answer"),
                                              ("--source", "source")) if not values.get(key)]
            if missing:
                self.warn("LỖI: thiếu " + ", ".join(missing) + " (hoặc dùng --interactive)")
                return 2
            if not TOPIC_NAME_RE.match(name):
                self.warn("LỖI: mã chủ đề chỉ gồm chữ thường không dấu, số và dấu gạch dưới")
                return 2
        values["topic"] = name
        return self._save(name, values, lenient=True)

    def topic_edit(self, args: argparse.Namespace) -> int:
        """Change fields or examples of a topic (flags or interactive)."""
        from bot.staff.store import load_content

        current = load_content(self.content_dir).topics.get(args.name)
        if current is None:
            self.warn(f"LỖI: không có chủ đề “{args.name}” (xem: python -m bot topic list)")
            return 1
        values = dict(current)
        if args.interactive:
            answered = self._interactive(args.name, values)
            if answered is None:
                return 1
            _, values = answered
        else:
            for key in ("title", "source"):
                if getattr(args, key):
                    values[key] = getattr(args, key).strip()
            answer = self._answer(args)
            if answer:
                values["answer"] = answer
            if args.checked or args.checked_today:
                values["checked"] = args.checked or self.today
            examples = list(values.get("examples") or [])
            for text in args.remove_example:
                if text.strip() not in examples:
                    self.warn(f"LỖI: không có câu hỏi mẫu “{text.strip()}” trong chủ đề {args.name}")
                    return 1
                examples.remove(text.strip())
            examples += [e.strip() for e in args.add_example if e.strip() and e.strip() not in examples]
            values["examples"] = examples
        return self._save(args.name, values, lenient=False)

    # ------------------------------------------------------------------ model
    def model_train(self, args: argparse.Namespace) -> int:
        """The safe training pipeline, then the report."""
        from bot.content import faq
        from bot.staff.eval_worker import SubprocessEvaluator
        from bot.staff.pipeline import ACCEPTED, Paths, RasaTrainer, pipeline_lock, run_pipeline
        from bot.staff.report import duration, render_report

        paths = Paths.from_root(self.root)
        logging.basicConfig(level=logging.WARNING)
        if not (self.root / "scripts" / "eval.py").exists():
            self.warn("LỖI: thiếu scripts/eval.py (bộ chấm điểm); báo cho kỹ thuật viên.")
            return 1
        with pipeline_lock(paths.models_dir) as got:
            if not got:
                self.say("Đang có một lượt huấn luyện khác chạy; hãy đợi lượt đó xong rồi chạy lại.")
                return 1
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            trainer = RasaTrainer(Path(sys.executable).parent / "rasa", notify=self.say)
            evaluator = SubprocessEvaluator(self.root, paths.logs_dir / f"evaluate-{stamp}.log")
            result = run_pipeline(paths, trainer, evaluator, self.today, build=faq.build, notify=self.say)
            files = render_report(result, paths.reports_dir)
        for problem in result.problems:
            if problem.severity == "error":
                self.say(problem.line())
        self.say("")
        for check in (result.decision.checks if result.decision else ()):
            self.say(f"  {'✓' if check.passed else '✗'} {check.label}: {check.detail}")
        self.say(f"KẾT QUẢ: {result.message} (tổng thời gian {duration(result.seconds)}).")
        self.say(f"Báo cáo: {files[-1].relative_to(self.root)} (mở bằng trình duyệt) "
                 f"và {files[-2].relative_to(self.root)}")
        if result.outcome == ACCEPTED:
            self.say("Bước tiếp theo: `make deploy-model` để trợ lý đang chạy dùng mô hình mới.")
        return 0 if result.outcome == ACCEPTED else 1

    def model_deploy(self, args: argparse.Namespace) -> int:
        """Load the accepted model into the running Rasa server, rolling back if it fails."""
        import requests

        from bot.staff.deploy import RasaAPI, deploy_model, restore_files
        from bot.staff.pipeline import Paths, read_eval_cache

        load_dotenv(self.root / ".env")
        paths = Paths.from_root(self.root)
        model = args.model or paths.current
        previous = args.previous or paths.previous
        if not model.exists():
            self.warn(f"LỖI: không có tệp mô hình {model}")
            return 1
        if not args.force:
            record = read_eval_cache(paths) if model.resolve() == paths.current.resolve() else None
            if record is None or record.get("accepted") is not True:
                self.say("KHÔNG NẠP: mô hình này chưa qua cổng kiểm tra. Chạy `make train` trước "
                         "(hoặc --force nếu kỹ thuật viên yêu cầu).")
                return 1
        url = args.url or env("RASA_URL") or f"http://127.0.0.1:{env('RASA_PORT', '5005')}"
        token = env("RASA_AUTH_TOKEN")
        if not token:
            self.warn("Cảnh báo: chưa có RASA_AUTH_TOKEN (trong .env); Rasa chạy với --auth-token sẽ từ chối.")
        on_rollback = (lambda: restore_files(paths.models_dir)) if model.resolve() == paths.current.resolve() \
            else None
        with requests.Session() as session:
            result = deploy_model(RasaAPI(url, token, session), model, previous if previous.exists() else None,
                                  notify=self.say, on_rollback=on_rollback)
        self.say(result.summary())
        return 0 if result.ok else 1

    # ------------------------------------------------------------------ review
    def review_list(self, args: argparse.Namespace) -> int:
        """Pending messages."""
        from bot.staff.review import list_pending

        items = list_pending(self.engine(), args.limit)
        if not items:
            self.say("Hàng đợi trống: không có tin nhắn nào cần xem.")
            return 0
        self.say(f"{len(items)} tin nhắn đang chờ (đã che tên, số điện thoại, email):")
        for item in items:
            seen = f"{item['count']} lần" if item["count"] > 1 else "1 lần"
            self.say(f"  #{item['id']:<5} {item['created_at'][:10]}  {seen:7} {item['reason_label']:18} "
                     f"“{item['text']}”")
        self.say("Xử lý: `python -m bot review assign <số> <mã chủ đề>`, `… review new-topic <số> <mã> --title … "
                 "--answer … --source …`, hoặc `… review dismiss <số>`.")
        return 0

    def review_act(self, args: argparse.Namespace) -> int:
        """Assign, create a topic from, or dismiss one item."""
        from bot.staff import review

        try:
            if args.command == "dismiss":
                review.dismiss(self.engine(), args.id, args.by)
                self.say(f"Đã bỏ qua mục #{args.id}.")
                return 0
            if args.command == "assign":
                outcome = review.assign(self.engine(), args.id, args.topic, args.by, self.content_dir, self.nlu_dir,
                                        self.today, text=args.text)
            else:
                outcome = review.create_topic(self.engine(), args.id, args.topic, args.title, args.answer,
                                              args.source, args.by, self.content_dir, self.nlu_dir, self.today,
                                              text=args.text)
        except review.ReviewError as exc:
            self.say(f"KHÔNG THỰC HIỆN: {exc}")
            return 1
        for warning in outcome.warnings:
            self.say(f"Cảnh báo: {warning}")
        for path in outcome.written:
            self.say(f"Đã lưu: {path.relative_to(self.content_dir.parent)}")
        self.say(f"Xong mục #{args.id} → chủ đề {outcome.item['topic']}. Khi đã xử lý xong hàng đợi, chạy "
                 "`make train`.")
        return 0

    def review_purge(self, args: argparse.Namespace) -> int:
        """Delete old handled items."""
        from datetime import timedelta

        from bot.staff.review import purge_handled

        count = purge_handled(self.engine(), timedelta(days=args.days))
        self.say(f"Đã xóa {count} mục đã xử lý quá {args.days} ngày.")
        return 0

    def run(self, args: argparse.Namespace) -> int:
        """Dispatch to the command."""
        handlers: dict[tuple[str, str], Callable[[argparse.Namespace], int]] = {
            ("content", "build"): self.content_build, ("content", "check-built"): self.content_check_built,
            ("content", "check"): self.content_check, ("content", "export"): self.content_export,
            ("content", "import"): self.content_import, ("topic", "list"): self.topic_list,
            ("topic", "show"): self.topic_show, ("topic", "add"): self.topic_add, ("topic", "edit"): self.topic_edit,
            ("model", "train"): self.model_train, ("model", "deploy"): self.model_deploy,
            ("review", "list"): self.review_list, ("review", "assign"): self.review_act,
            ("review", "new-topic"): self.review_act, ("review", "dismiss"): self.review_act,
            ("review", "purge"): self.review_purge,
        }
        return handlers[(args.area, args.command)](args)


def main(argv: list[str] | None = None, tool: Tool | None = None) -> int:
    """Parse the arguments and run the command."""
    args = build_parser().parse_args(argv)
    return (tool or Tool()).run(args)
