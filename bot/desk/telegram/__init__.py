"""The counselors' Telegram group: `cards_out` sends cards and notices, `updates` receives buttons and replies."""
