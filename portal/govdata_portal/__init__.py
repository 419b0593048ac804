"""共享平台门户: the platform's pages for people — sign-in through the gateway, 首页 with 待办, 数据目录."""
