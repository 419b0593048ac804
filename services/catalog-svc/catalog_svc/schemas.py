"""Request and response shapes of catalog-svc (API.md "Catalog"). Wire values in English; labels in Chinese."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from govdata_shared.validation_messages import ITEM_CODE_PATTERN, RESOURCE_CODE_PATTERN
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl

from catalog_svc.domain import (
    Category,
    DemandAnswer,
    DemandReview,
    Fulfilment,
    ItemType,
    OpenType,
    ResourceFormat,
    SecurityLevel,
    SharingMethod,
    SharingType,
    UpdateCycle,
)


def _path_prefix(value: str) -> str:
    if not value.startswith("/") or ".." in value or "?" in value or "#" in value or "//" in value:
        raise ValueError("路径前缀须以 / 开头，且不能包含 ..、//、? 或 #")
    return value.rstrip("/") or "/"


# 第二条: data involving state secrets is managed under the secrecy laws, not through this platform.
NO_STATE_SECRETS = "不涉及国家秘密的声明（第二条）：提供部门声明本资源不涉及国家秘密；未声明的资源不能提交审核"

Text = Annotated[str, Field(min_length=1, max_length=2000)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]


class DataItem(BaseModel):
    """信息项"""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=ITEM_CODE_PATTERN, description="field name in interface responses")
    name: ShortText
    type: ItemType
    length: int | None = Field(default=None, ge=1, le=100_000)
    description: str | None = Field(default=None, max_length=500)
    authoritative: bool = Field(default=False, description="权威来源 (一数一源, 第十六条)")
    subject: Literal["person", "org"] | None = Field(
        default=None, description="第十六条: the item is data about a natural person (person) or an organisation (org)"
    )
    identifier: Literal["resident_id", "credit_code"] | None = Field(
        default=None,
        description="第十六条: the item is the key identifier records are collected by — 公民身份号码 (resident_id) "
        "or 统一社会信用代码 (credit_code)",
    )
    sharing_type: SharingType | None = Field(
        default=None,
        description="第二十四条 仅能够部分提供: this item's sharing type when stricter than the resource's (an "
        "unconditional resource with conditional or none-shared items); empty: the resource's",
    )


class Interface(BaseModel):
    """How the gateway reaches the provider's data; `credential_ref` is write-only."""

    model_config = ConfigDict(extra="forbid")

    base_url: HttpUrl
    methods: list[Literal["GET", "POST"]] = Field(default_factory=lambda: ["GET"], min_length=1)
    path_prefixes: list[Annotated[str, AfterValidator(_path_prefix)]] = Field(
        default_factory=lambda: ["/"], min_length=1, max_length=50
    )
    credential_ref: str | None = Field(default=None, max_length=200, pattern=r"^[A-Za-z0-9_./:-]+$")
    rate_limit: int = Field(default=20, ge=1, le=10_000, description="calls per second per grant")


class ResourceFields(BaseModel):
    """The editable metadata of a resource (after 发改高技〔2017〕1272号)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=RESOURCE_CODE_PATTERN, description="信息资源代码: 类1+项2+目3[+细目]/顺序码")
    name: ShortText
    summary: Text
    category: Category
    format: ResourceFormat
    items: list[DataItem] = Field(min_length=1, max_length=500)
    sharing_type: SharingType
    sharing_conditions: str | None = Field(default=None, max_length=2000)
    legal_basis: str | None = Field(default=None, max_length=2000)
    sharing_method: SharingMethod = SharingMethod.PLATFORM_API
    open_type: OpenType
    open_conditions: str | None = Field(default=None, max_length=2000)
    security_level: SecurityLevel
    update_cycle: UpdateCycle
    usage_requirements: str | None = Field(default=None, max_length=2000)
    related_codes: list[str] = Field(default_factory=list, max_length=50)
    interface: Interface | None = None
    no_state_secrets: bool = Field(default=False, description=NO_STATE_SECRETS)


class ResourceCreate(ResourceFields):
    pass


class ResourcePatch(BaseModel):
    """Any subset of the fields; the merged result must satisfy every rule."""

    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(default=None, pattern=RESOURCE_CODE_PATTERN)
    name: ShortText | None = None
    summary: Text | None = None
    category: Category | None = None
    format: ResourceFormat | None = None
    items: list[DataItem] | None = Field(default=None, min_length=1, max_length=500)
    sharing_type: SharingType | None = None
    sharing_conditions: str | None = Field(default=None, max_length=2000)
    legal_basis: str | None = Field(default=None, max_length=2000)
    sharing_method: SharingMethod | None = None
    open_type: OpenType | None = None
    open_conditions: str | None = Field(default=None, max_length=2000)
    security_level: SecurityLevel | None = None
    update_cycle: UpdateCycle | None = None
    usage_requirements: str | None = Field(default=None, max_length=2000)
    related_codes: list[str] | None = Field(default=None, max_length=50)
    interface: Interface | None = None
    no_state_secrets: bool | None = Field(default=None, description=NO_STATE_SECRETS)


class InterfaceOut(BaseModel):
    """The interface as everyone sees it: what may be called, not where (API.md "Catalog")."""

    methods: list[str]
    path_prefixes: list[str]
    rate_limit: int


class InterfaceDetailOut(InterfaceOut):
    """The interface as its provider department and the bureau see it: with its address, and whether a
    credential reference is registered (the reference itself stays write-only)."""

    base_url: str
    has_credential: bool


class PendingRevision(BaseModel):
    version: int
    status: str
    review_deadline: date | None = None


class ResourceOut(BaseModel):
    id: str
    code: str
    provider_dept: str
    status: str
    version: int
    published_version: int | None
    name: str
    summary: str
    category: Category
    format: ResourceFormat
    items: list[DataItem]
    sharing_type: SharingType
    sharing_conditions: str | None
    legal_basis: str | None
    sharing_method: SharingMethod
    open_type: OpenType
    open_conditions: str | None
    security_level: SecurityLevel
    update_cycle: UpdateCycle
    usage_requirements: str | None
    related_codes: list[str]
    # Tried in order, so the address is kept exactly when it was given (only for those who may see it).
    interface: InterfaceDetailOut | InterfaceOut | None = Field(union_mode="left_to_right")
    no_state_secrets: bool = Field(description=NO_STATE_SECRETS)
    revision_status: str
    submitted_at: datetime | None
    review_deadline: date | None
    review_deadline_estimated: bool
    review_reason: str | None
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    pending_revision: PendingRevision | None = None


class ResourcePage(BaseModel):
    items: list[ResourceOut]
    total: int
    page: int
    size: int


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    reason: str | None = Field(default=None, max_length=2000)


class RetireIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000)


class RevisionIn(ResourcePatch):
    """Optional changes applied to the new draft revision right away."""


class OverlapIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_code: str = Field(pattern=ITEM_CODE_PATTERN)
    dept: str = Field(min_length=1, max_length=32)
    reason: Text


class TriggerIn(BaseModel):
    """第十四条: the law changed or the department's duties changed on `occurred_on`."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["law_changed", "duties_changed"]
    occurred_on: date
    description: Text
    resource_id: str | None = Field(default=None, max_length=40)
    resource_ids: list[Annotated[str, Field(max_length=40)]] | None = Field(
        default=None, min_length=1, max_length=200, description="the department's resources the change touches"
    )
    dept: str | None = Field(default=None, max_length=32, description="the bureau: whose catalog must change")


class TriggerOut(BaseModel):
    id: str
    dept: str
    resource_id: str | None
    resource_ids: list[str] | None = Field(None, description="resources named; each must be submitted")
    answered_ids: list[str] | None = Field(None, description="those of them submitted so far")
    recorded_by: str
    kind: str
    occurred_on: date
    description: str
    submit_deadline: date
    submit_deadline_estimated: bool
    submitted_at: datetime | None
    submitted_version: int | None
    review_deadline: date | None
    review_deadline_estimated: bool
    reviewed_at: datetime | None


class OverdueItem(BaseModel):
    kind: Literal["update_submission", "update_review", "resource_review"]
    dept: str
    resource_id: str | None
    trigger_id: str | None = None
    version: int | None = None
    deadline: date
    estimated: bool
    days_overdue: int


class DemandIn(BaseModel):
    """需求清单 entry (第十二条): data the department needs, and the department expected to supply it."""

    model_config = ConfigDict(extra="forbid")

    title: ShortText
    description: Text
    supplier_dept: str = Field(min_length=1, max_length=32, description="提供部门, not the caller's department")
    resource_id: str | None = Field(default=None, max_length=40, description="a catalog resource the demand is about")


class DemandReviewIn(BaseModel):
    """The bureau's review: accept, route to another supplying department (`supplier_dept`), or reject; routing
    and rejecting say why (`reason`)."""

    model_config = ConfigDict(extra="forbid")

    decision: DemandReview
    supplier_dept: str | None = Field(default=None, max_length=32, description="route: the department it goes to")
    reason: str | None = Field(default=None, max_length=2000)


class DemandAnswerIn(BaseModel):
    """The supplying department's answer: it will provide by `provide_by`, or it cannot and says why."""

    model_config = ConfigDict(extra="forbid")

    answer: DemandAnswer
    provide_by: date | None = Field(default=None, description="will_provide: by when (not in the past)")
    reason: str | None = Field(default=None, max_length=2000, description="cannot_provide: why")


class DemandMeetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resource_id: str | None = Field(default=None, max_length=40, description="a published resource of the supplier")


class DemandOut(BaseModel):
    id: str
    dept: str = Field(description="提出部门: the department that needs the data")
    supplier_dept: str | None = Field(description="提供部门: expected to supply it (None only on old demands)")
    routed_from: str | None = Field(description="the supplier first named, when the bureau routed it elsewhere")
    title: str
    description: str
    resource_id: str | None
    status: str = Field(description="DemandStatus")
    created_by: str
    created_at: datetime
    review_decision: str | None
    review_reason: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    answer: str | None
    provide_by: date | None
    answer_reason: str | None
    answered_by: str | None
    answered_at: datetime | None
    met_by: str | None
    met_at: datetime | None


class RefreshIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refreshed_at: datetime | None = None
    record_count: int | None = Field(default=None, ge=0)
    note: str | None = Field(default=None, max_length=2000)


class ResponsibilityOut(BaseModel):
    resource_id: str
    code: str
    name: str
    update_cycle: UpdateCycle
    last_refreshed_at: datetime | None
    due_by: datetime | None
    late: bool


class ResponsibilityIn(BaseModel):
    """A 责任清单 entry the bureau assigns (第十三条): the resource, by its catalog code, a department must provide."""

    model_config = ConfigDict(extra="forbid")

    resource_code: str = Field(pattern=RESOURCE_CODE_PATTERN, description="信息资源代码: 类1+项2+目3[+细目]/顺序码")
    title: ShortText
    description: str | None = Field(default=None, max_length=2000)
    update_cycle: UpdateCycle


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text


class ResponsibilityEntryOut(BaseModel):
    """A 责任清单 entry and how it stands, computed from the catalog."""

    id: str
    dept: str
    resource_code: str
    title: str
    description: str | None
    update_cycle: UpdateCycle
    assigned_by: str
    assigned_at: datetime
    withdrawn_at: datetime | None = None
    withdrawn_reason: str | None = None
    status: Fulfilment
    resource_id: str | None = Field(None, description="the department's published resource of that code")
    resource_name: str | None = None
    last_refreshed_at: datetime | None = None
    due_by: datetime | None = Field(None, description="when its data must next be refreshed, on the entry's cycle")


class ResponsibilityList(BaseModel):
    dept: str
    items: list[ResponsibilityOut] = Field(description="the department's published resources, late on their cycle")
    late_count: int
    entries: list[ResponsibilityEntryOut] = Field(description="the bureau's active entries for the department")
    fulfilled_count: int
    unfulfilled_count: int = Field(description="entries late or missing")


class OfferingResource(BaseModel):
    id: str
    code: str
    name: str
    item_name: str


class OfferingDepartment(BaseModel):
    """One department offering an item code in its published resources."""

    dept: str
    item_name: str
    authoritative: bool = Field(description="it is the item's authoritative source (权威来源)")
    allowed_overlap: bool = Field(description="the bureau allowed it to hold the item beside another (第十六条)")
    key_identifier: bool = Field(
        default=False,
        description="its resources collect records by this item (公民身份号码 / 统一社会信用代码, 第十六条)",
    )
    resources: list[OfferingResource]


class ItemOverlapOut(BaseModel):
    """An item code offered by several departments (第十六条 一数一源, 第四十一条(三) 重复采集)."""

    item_code: str
    has_authoritative_source: bool
    unresolved_depts: list[str] = Field(description="departments neither authoritative nor allowed by the bureau")
    departments: list[OfferingDepartment]


class ExportOut(BaseModel):
    generated_at: datetime
    since: datetime | None
    next_since: datetime
    resources: list[dict[str, Any]]
