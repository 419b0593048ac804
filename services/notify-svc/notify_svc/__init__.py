"""notify-svc: 待办, reminders and 逾期通报 — every step that waits for someone, kept current from events."""
