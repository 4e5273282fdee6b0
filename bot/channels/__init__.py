"""Resident channels (Zalo OA, Facebook Messenger, Telegram) as Rasa custom input channels, and the
outbound senders the counselor desk also uses. Nothing is configured or connected at import time."""
