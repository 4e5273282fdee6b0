"""`python -m bot model …`: the gated training pipeline with its report, and deploying the accepted model."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime
from pathlib import Path

import requests

from bot.config import env, load_dotenv
from bot.content import faq
from bot.staff.cli.registry import Area, arg
from bot.staff.cli.tool import Tool
from bot.staff.deploy import RasaAPI, deploy_model, restore_files
from bot.staff.eval_worker import SubprocessEvaluator
from bot.staff.pipeline import ACCEPTED, Paths, RasaTrainer, pipeline_lock, read_eval_cache, run_pipeline
from bot.staff.report import duration, render_report

AREA = Area("model", "Huấn luyện an toàn và nạp mô hình / safe training and deployment")


@AREA.command("train", "Kiểm tra → huấn luyện → chấm điểm → cổng kiểm tra → báo cáo / "
                       "checks → train → evaluate → gate → report",
              arg("--reports-dir", type=Path,
                  help="thư mục ghi báo cáo (mặc định var/reports; `make publish-report` ghi vào docs/reports) / "
                       "report folder (default var/reports, git-ignored)"))
def train(tool: Tool, args: argparse.Namespace) -> int:
    """The safe training pipeline, then the report."""
    paths = Paths.from_root(tool.root)
    reports_dir = tool.root / args.reports_dir if args.reports_dir else paths.reports_dir
    logging.basicConfig(level=logging.WARNING)
    with pipeline_lock(paths.models_dir) as got:
        if not got:
            tool.say("Đang có một lượt huấn luyện khác chạy; hãy đợi lượt đó xong rồi chạy lại.")
            return 1
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        trainer = RasaTrainer(Path(sys.executable).parent / "rasa", notify=tool.say)
        evaluator = SubprocessEvaluator(tool.root, paths.logs_dir / f"evaluate-{stamp}.log")
        result = run_pipeline(paths, trainer, evaluator, tool.today, build=faq.build, notify=tool.say)
        files = render_report(result, reports_dir)
    for problem in result.problems:
        if problem.severity == "error":
            tool.say(problem.line())
    tool.say("")
    for check in (result.decision.checks if result.decision else ()):
        tool.say(f"  {'✓' if check.passed else '✗'} {check.label}: {check.detail}")
    tool.say(f"KẾT QUẢ: {result.message} (tổng thời gian {duration(result.seconds)}).")
    tool.say(f"Báo cáo: {_shown(files[-1], tool.root)} (mở bằng trình duyệt) và {_shown(files[-2], tool.root)}")
    if result.outcome == ACCEPTED:
        tool.say("Bước tiếp theo: `make deploy-model` để trợ lý đang chạy dùng mô hình mới.")
    return 0 if result.outcome == ACCEPTED else 1


@AREA.command("deploy", "Nạp mô hình đã được chấp nhận vào Rasa đang chạy, tự quay lại nếu lỗi / "
                        "load the accepted model into running Rasa, roll back on failure",
              arg("--model", type=Path, help="mặc định models/current.tar.gz / default models/current.tar.gz"),
              arg("--previous", type=Path, help="mô hình để quay lại (mặc định models/previous.tar.gz)"),
              arg("--url", help="địa chỉ Rasa (mặc định $RASA_URL hoặc http://127.0.0.1:5005) / Rasa URL"),
              arg("--force", action="store_true",
                  help="nạp cả mô hình chưa qua cổng kiểm tra / deploy a model that did not pass the gate"))
def deploy(tool: Tool, args: argparse.Namespace) -> int:
    """Load the accepted model into the running Rasa server, rolling back if it fails."""
    load_dotenv(tool.root / ".env")
    paths = Paths.from_root(tool.root)
    model = args.model or paths.current
    previous = args.previous or paths.previous
    if not model.exists():
        tool.warn(f"LỖI: không có tệp mô hình {model}")
        return 1
    if not args.force:
        record = read_eval_cache(paths) if model.resolve() == paths.current.resolve() else None
        if record is None or record.get("accepted") is not True:
            tool.say("KHÔNG NẠP: mô hình này chưa qua cổng kiểm tra. Chạy `make train` trước "
                     "(hoặc --force nếu kỹ thuật viên yêu cầu).")
            return 1
    url = args.url or env("RASA_URL") or f"http://127.0.0.1:{env('RASA_PORT', '5005')}"
    token = env("RASA_AUTH_TOKEN")
    if not token:
        tool.warn("Cảnh báo: chưa có RASA_AUTH_TOKEN (trong .env); Rasa chạy với --auth-token sẽ từ chối.")
    on_rollback = (lambda: restore_files(paths.models_dir)) if model.resolve() == paths.current.resolve() else None
    with requests.Session() as session:
        result = deploy_model(RasaAPI(url, token, session), model, previous if previous.exists() else None,
                              notify=tool.say, on_rollback=on_rollback)
    tool.say(result.summary())
    return 0 if result.ok else 1


def _shown(path: Path, root: Path) -> Path:
    """A report path as staff should type it: relative to the repository when it is inside it."""
    try:
        return path.relative_to(root)
    except ValueError:
        return path
