"""catalog-svc: The unified data resource catalog (政务数据资源目录, 第二章)."""
