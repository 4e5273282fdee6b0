"""Escalation cases: the durable record that reaches the counselors."""
