"""verification-svc: Data correction requests (数据校核, 第十九条)."""
