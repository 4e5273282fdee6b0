"""Vietnamese Action Month assistant: triage, content, channels and the counselor desk."""
