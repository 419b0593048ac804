"""Response shapes of audit-svc (API.md "Audit and supervision"). Wire values in English; labels in Chinese."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class AuditEntry(BaseModel):
    """One record of the audit log (审计日志), identifiers masked."""

    seq: int
    event_id: str
    type: str
    source: str
    subject: str
    time: str = Field(description="event time, UTC")
    dept: str | None
    actor: str | None
    resource_id: str | None
    data: dict[str, Any]
    received_at: str
    hash: str = Field(description="SHA-256(previous hash ‖ canonical record), hex")


class EventPage(BaseModel):
    items: list[AuditEntry]
    total: int
    page: int
    size: int


class AccessEntry(BaseModel):
    """One data call as the gateway recorded it (API.md "Audit and supervision")."""

    id: str
    time: str = Field(description="when the call arrived, UTC")
    grant_id: str | None
    client_id: str | None
    system: str | None
    holder_dept: str | None
    provider_dept: str | None
    resource_id: str
    method: str
    path: str = Field(description="path and query string, identifiers masked")
    status: int
    outcome: str = Field(description="ok, a refusal reason (missing_token, outside_window …) or an upstream failure")
    records: int = Field(description="records returned after filtering to the granted items")
    bytes: int
    duration_ms: float
    request_id: str | None


class AccessPage(BaseModel):
    items: list[AccessEntry]
    total: int
    page: int
    size: int


class BrokenRecord(BaseModel):
    seq: int
    event_id: str | None = Field(description="the record found at that seq; null when it is missing")
    reason: str = Field(description="missing | out_of_order | hash_mismatch | head_mismatch | access_records_altered")
    detail: str


class VerifyResult(BaseModel):
    ok: bool
    checked: int = Field(description="records whose link verified")
    from_seq: int
    to_seq: int
    last_hash: str = Field(description="hash at the last verified record, hex (compare with an export's anchor)")
    first_broken: BrokenRecord | None = None


class FigureValue(BaseModel):
    value: int
    label: str
    article: str


class WorkReportStanding(BaseModel):
    """第三十九条: whether the department's report on the year came by the end of January (work_reports.py)."""

    status: Literal["on_time", "late", "missing"] = Field(description="按时 · 逾期 · 未提交 (a draft is missing)")
    submitted_at: datetime | None = Field(description="first moment the report held text and attachment")
    id: str | None = Field(description="the report, when there is one (a draft too)")
    label: str
    article: str
    due_by: str = Field(description="last day on time, Asia/Shanghai")


class DepartmentReport(BaseModel):
    """A department's supervision figures for a year (第三十七、三十八条) and its 第三十九条 work report."""

    dept: str
    year: int
    period: dict[str, str]
    generated_at: datetime
    figures: dict[str, FigureValue]
    work_report: WorkReportStanding


class DepartmentFigures(BaseModel):
    dept: str
    name: str | None = Field(None, description="the registry's name of the department")
    figures: dict[str, FigureValue]
    work_report: WorkReportStanding


class AnnualReport(BaseModel):
    """The annual report of 第三十九条: every department's figures for the year."""

    year: int
    article: str
    due_by: str
    period: dict[str, str]
    generated_at: datetime
    departments: list[DepartmentFigures]
    totals: dict[str, FigureValue]


# --- 第三十九条 annual work reports (work_reports.py) -------------------------------------------------------------


class WorkReportIn(BaseModel):
    """年度工作报告: the department's 上一年度政务数据管理情况 for `year` (a year that is over)."""

    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=2000, le=2100, description="the year reported on")
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50_000)] = Field(
        description="上一年度政务数据管理情况"
    )


class WorkReportAttachment(BaseModel):
    name: str | None
    content_type: str
    size: int
    sha256: str


class WorkReportOut(BaseModel):
    id: str
    dept: str
    year: int = Field(description="the year reported on")
    text: str
    status: Literal["draft", "submitted"] = Field(description="draft until the attachment is there")
    attachment: WorkReportAttachment | None
    article: str
    due_by: str = Field(description="last day on time: 31 January of the year after, Asia/Shanghai")
    deadline: datetime = Field(description="first late moment: 1 February 00:00 Asia/Shanghai of the year after")
    submitted_at: datetime | None = Field(description="first moment with text and attachment; a later change keeps it")
    submitted_by: str | None
    on_time: bool | None = Field(description="submitted before the deadline; null while a draft")
    standing: Literal["on_time", "late", "missing"]
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str


class WorkReportPage(BaseModel):
    items: list[WorkReportOut]
    total: int


# --- 第三十八条 evaluation (evaluation.py, scoring.py) ----------------------------------------------------------

Weight = Annotated[int | float, Field(allow_inf_nan=False, description="权重（百分数），同一层级之和为 100")]
FigureCodes = Annotated[list[Annotated[str, StringConstraints(max_length=64)]], Field(max_length=20)]


class IndicatorConfig(BaseModel):
    """An indicator: how supervision figures become a score from 0 to 100 (scoring.py: ratio, complement,
    deduction)."""

    model_config = ConfigDict(extra="forbid")

    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
    article: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    rule: Literal["ratio", "complement", "deduction"]
    weight: Weight
    numerator: FigureCodes = []
    denominator: FigureCodes = []
    counted: FigureCodes = []
    basis: FigureCodes = []
    points: Annotated[int | float | None, Field(allow_inf_nan=False, description="扣分规则每项扣分")] = None


class DimensionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weight: Weight
    indicators: Annotated[dict[str, IndicatorConfig], Field(max_length=20)]


class EvaluationConfigIn(BaseModel):
    """评价办法: the four dimensions of 第三十八条 (aggregation 汇聚, sharing 共享, application 应用, security 安全),
    each with its weight and indicators."""

    model_config = ConfigDict(extra="forbid")

    note: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=500)] = Field(
        None, description="修订说明"
    )
    dimensions: Annotated[dict[str, DimensionConfig], Field(max_length=8)]


class FigureSource(BaseModel):
    code: str
    label: str
    article: str
    value: int
    roles: list[str] = Field(description="numerator · denominator · counted · basis")


class IndicatorResult(BaseModel):
    label: str
    article: str
    rule: str
    rule_text: str
    weight: int | float = Field(description="as configured")
    effective_weight: float = Field(description="within the dimension, once what was not applicable gave its share")
    applicable: bool
    value: int | float | None = Field(description="the ratio (ratio, complement) or the count (deduction)")
    score: float | None
    basis: str
    figures: list[FigureSource]


class DimensionResult(BaseModel):
    label: str
    weight: int | float
    applicable: bool
    score: float | None
    indicators: dict[str, IndicatorResult]


class OpinionOut(BaseModel):
    text: str
    updated_by: str
    updated_at: datetime


class DepartmentEvaluation(BaseModel):
    dept: str
    name: str | None
    rank: int | None = Field(description="equal totals share a rank; none without a total")
    total: float | None
    dimensions: dict[str, DimensionResult]
    opinion: OpinionOut | None = Field(description="改进意见 of the bureau")


class MethodIndicator(BaseModel):
    label: str
    article: str
    rule: str
    weight: int | float
    rule_text: str


class MethodDimension(BaseModel):
    label: str
    weight: int | float
    indicators: dict[str, MethodIndicator]


class ConfigVersion(BaseModel):
    version: int
    note: str | None
    created_by: str
    created_at: datetime


class Evaluation(BaseModel):
    """第三十八条: every department's scores for a year, the configuration version they come from and, once
    published (第三十七条), when."""

    year: int
    article: str
    period: dict[str, str]
    generated_at: datetime
    status: Literal["draft", "published"]
    published_at: datetime | None
    published_by: str | None
    config: ConfigVersion
    method: dict[str, MethodDimension]
    departments: list[DepartmentEvaluation]


class EvaluationConfigOut(ConfigVersion):
    config: dict[str, Any]
    in_force: bool | None = None
    method: dict[str, MethodDimension] | None = None
    versions: list[ConfigVersion] | None = None
    figures: list[dict[str, str]] | None = Field(None, description="the supervision figures an indicator may read")


class OpinionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)] = Field(
        description="改进意见"
    )


class DepartmentOpinion(OpinionOut):
    year: int
    dept: str


class PublicDepartment(BaseModel):
    rank: int | None
    dept: str
    name: str | None
    total: float | None
    dimensions: dict[str, float | None]
    opinion: str | None


class PublicEvaluation(BaseModel):
    """The published results (第三十七条): no person's name, no account."""

    year: int
    article: str
    publication_article: str
    period: dict[str, str]
    published_at: datetime
    config_version: int
    method: dict[str, MethodDimension]
    departments: list[PublicDepartment]
    published_years: list[int]
