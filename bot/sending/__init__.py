"""Sending to residents on Zalo, Messenger and Telegram: the output half of each platform, free of Rasa and Sanic."""
