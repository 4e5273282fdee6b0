"""Vietnamese titles of the assistant's own intents (FAQ topics carry their titles in content/faq/).

Shared by the training report (bot.staff.report) and the campaign results report (bot.reporting).
"""

from __future__ import annotations

INTENT_TITLES = {
    "report_violence": "Báo bạo lực / cần giúp khẩn cấp", "ask_hotline": "Hỏi số điện thoại hỗ trợ",
    "request_counselor": "Muốn gặp tư vấn viên", "greet": "Chào hỏi", "goodbye": "Tạm biệt", "thank": "Cảm ơn",
    "affirm": "Đồng ý", "deny": "Không đồng ý", "bot_challenge": "Hỏi có phải người thật không",
    "ask_events": "Hỏi sự kiện sắp tới", "ask_campaign_theme": "Hỏi chủ đề Tháng hành động",
    "ask_campaign_dates": "Hỏi thời gian Tháng hành động", "delete_data": "Yêu cầu xóa dữ liệu",
    "out_of_scope": "Ngoài phạm vi", "nlu_fallback": "Không hiểu (độ tin cậy thấp)", "faq": "Câu hỏi thường gặp",
}
