"""audit-svc: Tamper-evident audit trail and supervision figures (第五、六章)."""
