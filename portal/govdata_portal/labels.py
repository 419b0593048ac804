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
# 第十六条: whose data an item is, and the key identifier records are collected by.
ITEM_SUBJECT = {"person": "自然人", "org": "法人和其他组织"}
ITEM_IDENTIFIER = {"resident_id": "公民身份号码", "credit_code": "统一社会信用代码"}
# What the bureau's decision on a 共享异议 orders (第二十七条).
DISPUTE_OUTCOME = {
    "upheld": "异议成立",
    "dismissed": "异议不成立，维持原共享",
    "grant_ordered": "予以授权（按被驳回的申请）",
    "sharing_change_ordered": "调整共享类型",
}
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


# ---- sharing (共享申请与接口授权, 第二十七–二十九条)
GRANT_STATUS = {
    "active": "有效",
    "suspended": "已暂停",
    "terminated": "已终止",
    "expired": "已到期",
    "revoked_inactive": "已收回（长期未使用）",
}
DISPUTE_STATUS = {"open": "待处理", "resolved": "已处理"}
REQUEST_DECISION = {"approve": "同意", "reject": "驳回"}
TONES.update(active="success", suspended="warning", terminated="danger", expired="neutral", revoked_inactive="neutral")


# ---- oversight (审计日志): the event types of the audit trail (govdata_shared.contracts), as the filter offers them.
AUDIT_EVENT_TYPES = {
    "catalog.resource.submitted": "目录提交审核",
    "catalog.resource.published": "目录审核通过发布",
    "catalog.resource.rejected": "目录审核退回",
    "catalog.resource.superseded": "目录被新修订取代",
    "catalog.resource.retired": "目录停用",
    "catalog.resource.refreshed": "数据更新",
    "catalog.update.recorded": "目录更新事由登记",
    "catalog.update.overdue": "目录更新逾期",
    "catalog.review.overdue": "目录审核逾期",
    "catalog.refresh.overdue": "数据更新逾期",
    "catalog.demand.recorded": "需求登记",
    "catalog.demand.reviewed": "需求审核",
    "catalog.demand.answered": "提供部门答复需求",
    "catalog.demand.met": "需求已满足",
    "catalog.authority.overlap_allowed": "准许权威来源重叠",
    "audit.work_report.submitted": "提交年度工作报告",
    "audit.work_report.revised": "修改年度工作报告",
    "audit.evaluation.config_changed": "修改考核评价办法（指标和权重）",
    "audit.evaluation.opinion_set": "填写考核评价改进意见",
    "audit.evaluation.published": "公布年度考核评价结果",
    "notify.reminder.sent": "发送到期提醒",
    "notify.overdue.notified": "发出逾期通报",
    "catalog.responsibility.assigned": "下达责任清单条目",
    "catalog.responsibility.withdrawn": "撤销责任清单条目",
    "sharing.request.submitted": "共享申请提交",
    "sharing.request.approved": "共享申请环节通过",
    "sharing.request.rejected": "共享申请驳回",
    "sharing.request.overdue": "共享审批逾期",
    "sharing.grant.created": "授权生效",
    "sharing.grant.suspended": "授权暂停",
    "sharing.grant.resumed": "授权恢复",
    "sharing.grant.terminated": "授权终止",
    "sharing.grant.expired": "授权到期",
    "sharing.grant.revoked_inactive": "长期未用收回授权",
    "sharing.grant.used": "授权被使用",
    "sharing.dispute.opened": "提出异议",
    "sharing.dispute.answered": "提供部门答复异议",
    "sharing.dispute.resolved": "异议处理完毕",
    "verification.request.submitted": "校核申请提交",
    "verification.request.extended": "校核延期",
    "verification.request.resolved": "校核办结",
    "verification.request.overdue": "校核逾期",
    "access.records": "数据调用记录（一批）",
    "access.usage": "数据调用（汇总）",
    "access.denied": "数据调用被拒绝",
    "identity.department.created": "新增部门",
    "identity.department.updated": "部门变更",
    "identity.department.disabled": "部门停用",
    "identity.system.created": "新增应用系统",
    "identity.system.updated": "应用系统变更",
    "identity.system.disabled": "应用系统停用",
    "identity.client.created": "新增接入客户端",
    "identity.client.updated": "接入客户端变更",
    "identity.client.disabled": "接入客户端停用",
    "identity.client.secret_rotated": "更换客户端密钥",
    "identity.user.created": "新增人员",
    "identity.user.updated": "人员变更",
    "identity.user.disabled": "人员停用",
    "identity.user.password_reset": "重置人员密码",
}

# 目录编制 (resources.py): the status of one revision of a resource, and of a 需求清单 entry.
REVISION_STATUS = {
    **RESOURCE_STATUS,
    "superseded": "已被新版本替代",
    "withdrawn": "已撤回",
}
# 需求清单 (demands.py, 第十二条): where a demand stands, the bureau's review and the supplier's answer.
DEMAND_STATUS = {
    "submitted": "待审核",
    "accepted": "已受理",
    "rejected": "已驳回",
    "promised": "已承诺提供",
    "cannot_provide": "无法提供",
    "met": "已满足",
}
DEMAND_ROLE = {"requester": "本部门提出的", "supplier": "向本部门提出的"}
DEMAND_REVIEW = {"accept": "受理", "route": "转交其他部门", "reject": "驳回"}
DEMAND_ANSWER = {"will_provide": "承诺提供", "cannot_provide": "无法提供"}
TONES.update({"accepted": "warning", "promised": "warning", "cannot_provide": "danger"})
TONES.update({"met": "success", "superseded": "neutral", "withdrawn": "neutral"})

# 目录更新 (triggers.py, 第十四条): why a catalog must change, and where the update stands.
TRIGGER_KIND = {"law_changed": "法律法规修改", "duties_changed": "行政管理职能变更"}
TRIGGER_STATE = {"awaiting_update": "待申请更新", "submitted": "已申请，待审核", "reviewed": "已审核"}
TONES.update({"awaiting_update": "warning", "reviewed": "success"})

# 责任清单 (responsibilities.py, 第十三条): how an entry stands, as catalog-svc reads it from the catalog.
FULFILMENT = {"fulfilled": "已落实", "late": "更新逾期", "missing": "未编目", "withdrawn": "已撤销"}
TONES.update({"fulfilled": "success", "late": "danger", "missing": "warning"})

# 年度工作报告 (work_reports.py, 第三十九条): whether a department's report on a year came by the end of January.
WORK_REPORT_STANDING = {"on_time": "按时", "late": "逾期", "missing": "未提交"}
TONES.update({"on_time": "success", "late": "danger", "missing": "warning"})

# 校核 (verification.py, 第十九条): how a request was resolved and whose data it is about.
CORRECTION_OUTCOME = {"corrected": "已更正", "no_error": "数据无误"}  # the service's words (its errors say 数据无误)
SUBJECT_TYPE = {"person": "公民（公民身份号码）", "org": "法人或其他组织（统一社会信用代码）"}

# 访问记录 (access_records.py, 第三十二条): what became of a data call — served, refused by the gateway (the
# denial reasons of govdata_shared.contracts.access) or failed on the provider's side.
ACCESS_OUTCOME = {
    "ok": "成功",
    "missing_token": "拒绝：未携带令牌",
    "invalid_token": "拒绝：令牌无效或已过期",
    "wrong_resource": "拒绝：令牌不属于该资源",
    "outside_interface": "拒绝：超出接口范围",
    "grant_not_active": "拒绝：授权未处于有效状态",
    "outside_window": "拒绝：不在授权有效期内",
    "unknown_grant": "拒绝：授权不存在",
    "rate_limited": "拒绝：超过调用频率限制",
    "client_disabled": "拒绝：客户端已停用",
    "upstream_error": "失败：提供方系统返回错误",
    "upstream_unavailable": "失败：提供方系统无法连接",
    "upstream_timeout": "失败：提供方系统响应超时",
    "upstream_not_allowed": "失败：提供方地址不在允许范围内",
    "unfilterable_response": "失败：返回数据无法按授权过滤，未予提供",
    "not_ready": "失败：网关尚未就绪",
}
