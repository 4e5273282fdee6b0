"""Outreach: residents who opt in hear from the bot first (subscriptions, broadcasts, reminders, polls)."""
