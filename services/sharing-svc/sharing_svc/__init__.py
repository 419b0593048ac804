"""sharing-svc: Share requests, decisions and interface grants (共享申请与接口授权, 第二十四–二十九条)."""
