"""Request and response shapes of verification-svc (API.md "Verification (校核)")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from verification_svc.domain import (
    MAX_EXTENSION_WORKING_DAYS,
    ApplicantKind,
    CorrectionStatus,
    Outcome,
    SubjectType,
)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
ItemCode = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Value = Annotated[str, StringConstraints(max_length=500)]
# The values of domain.Outcome as a Literal: a wrong `outcome` stays a 422 with rule `literal_error`, as ever.
OutcomeValue = Literal["corrected", "no_error"]


class CorrectionIn(BaseModel):
    """A correction request (数据校核申请)."""

    model_config = ConfigDict(extra="forbid")

    resource_id: str = Field(min_length=1, max_length=40)
    subject_type: SubjectType
    subject_id: str = Field(max_length=40, description="公民身份号码 or 统一社会信用代码")
    items: list[ItemCode] = Field(min_length=1, max_length=100, description="item codes in question")
    claimed_values: dict[ItemCode, Value] = Field(default_factory=dict, max_length=100)
    description: Text


class ExtendIn(BaseModel):
    """第十九条: one extension of at most 10 working days, approved by the provider's head, with a reason."""

    model_config = ConfigDict(extra="forbid")

    days: int = Field(ge=1, le=MAX_EXTENSION_WORKING_DAYS)
    reason: Text


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: OutcomeValue
    note: str | None = Field(default=None, max_length=2000, description="required for no_error: the explanation")
    corrected_values: dict[ItemCode, Value] | None = Field(default=None, max_length=100)


class EvidenceOut(BaseModel):
    id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime


class CorrectionOut(BaseModel):
    """A request as the caller may see it: `subject_id` is masked unless the caller is the subject, the provider
    department or the applicant department."""

    id: str
    status: CorrectionStatus
    resource_id: str
    resource_name: str | None
    provider_dept: str
    subject_type: SubjectType
    subject_id: str
    subject_id_masked: bool
    subject_id_check_failed: bool
    items: list[str]
    claimed_values: dict[str, str]
    description: str
    applicant_kind: ApplicantKind
    applicant_dept: str | None
    received_at: datetime
    received_on: date
    deadline: date
    deadline_estimated: bool
    original_deadline: date
    overdue: bool
    extension_days: int | None
    extension_reason: str | None
    outcome: Outcome | None
    note: str | None
    corrected_values: dict[str, str] | None
    resolved_at: datetime | None
    resolved_on: date | None
    on_time: bool | None
    working_days_taken: int | None
    evidence_count: int


class CorrectionPage(BaseModel):
    items: list[CorrectionOut]
    total: int
    page: int
    size: int


class OverdueOut(BaseModel):
    id: str
    resource_id: str
    provider_dept: str
    subject_id: str
    deadline: date
    deadline_estimated: bool
    extended: bool
    working_days_overdue: int


class ActiveRequest(BaseModel):
    id: str
    deadline: date
    deadline_estimated: bool
    items: list[str]


class ActiveOut(BaseModel):
    """第十九条第三款: while this is true, service must not be refused for the data in question."""

    under_verification: bool
    subject_id: str
    resource_id: str
    requests: list[ActiveRequest]


class QualityFigures(BaseModel):
    received: int
    corrected: int
    no_error: int
    open: int
    overdue: int = Field(description="open past the deadline, plus resolved after it")
    median_working_days: float | None = Field(description="to resolve, over the resolved requests")


class ResourceQuality(QualityFigures):
    resource_id: str
    resource_name: str | None
    provider_dept: str


class ProviderQuality(QualityFigures):
    provider_dept: str


class QualityOut(BaseModel):
    """第二十条: data quality per resource and per provider, from the corrections received."""

    as_of: date
    resources: list[ResourceQuality]
    providers: list[ProviderQuality]
