"""The Chinese labels people read for the API's English wire values (API.md "Enumerations"), and the colour of
each status tag. The pages show what the API says; only the words are the portal's."""

from __future__ import annotations

ROLES = {
    "dept_operator": "部门经办人",
    "dept_head": "部门负责人",
    "bureau_admin": "县大数据局管理员",
    "auditor": "审计监督人员",
    "citizen": "公民或企业",
    "city_platform": "市级平台",
}

CATEGORY = {"base": "基础", "theme": "主题", "department": "部门"}
FORMAT = {
    "file": "电子文件",
    "spreadsheet": "电子表格",
    "database": "数据库",
    "image": "图形图像",
    "stream": "流媒体",
    "self_describing": "自描述格式",
    "api": "服务接口",
}
ITEM_TYPE = {
    "C": "字符",
    "N": "数值",
    "Y": "货币",
    "D": "日期",
    "T": "日期时间",
    "L": "逻辑",
    "M": "备注",
    "G": "通用",
    "B": "双精度",
    "I": "整型",
    "F": "浮点",
}
SHARING_TYPE = {"unconditional": "无条件共享", "conditional": "有条件共享", "none": "不予共享"}
SHARING_METHOD = {"platform_api": "平台接口", "file": "文件", "database": "数据库"}
OPEN_TYPE = {"open": "无条件开放", "conditional_open": "有条件开放", "closed": "不予开放"}
SECURITY_LEVEL = {"1": "公开", "2": "内部", "3": "敏感", "4": "重要"}
UPDATE_CYCLE = {
    "realtime": "实时",
    "daily": "每日",
    "weekly": "每周",
    "monthly": "每月",
    "quarterly": "每季度",
    "semiannual": "每半年",
    "annual": "每年",
    "other": "其他",
}
RESOURCE_STATUS = {
    "draft": "草稿",
    "submitted": "待审核",
    "published": "已发布",
    "rejected": "已退回",
    "retired": "已停用",
}
REQUEST_STATUS = {
    "platform_review": "平台审核",
    "provider_review": "提供方审批",
    "delivery": "平台交付",
    "granted": "已授权",
    "rejected": "已驳回",
}
CORRECTION_STATUS = {"open": "待校核", "extended": "已延期", "resolved": "已办结"}

# Tag colours (portal.css .tag-<tone>): green done or open to all, orange waiting, red refused or closed.
TONES = {
    "published": "success",
    "unconditional": "success",
    "granted": "success",
    "resolved": "success",
    "open": "warning",
    "submitted": "warning",
    "conditional": "warning",
    "platform_review": "warning",
    "provider_review": "warning",
    "delivery": "warning",
    "extended": "warning",
    "rejected": "danger",
    "none": "danger",
    "retired": "neutral",
    "draft": "neutral",
}

# The catalog's filter fields and the words they go by on the page (also in error summaries).
CATALOG_FIELDS = {
    "q": "关键词",
    "provider_dept": "提供部门",
    "category": "资源分类",
    "sharing_type": "共享类型",
    "page": "页码",
    "size": "每页条数",
}


def label(table: dict[str, str], value: object) -> str:
    """The label of `value`, or the value itself when the API added one the portal does not know yet."""
    if value is None:
        return ""
    return table.get(str(value), str(value))


def tone(value: object) -> str:
    return TONES.get(str(value), "info")
