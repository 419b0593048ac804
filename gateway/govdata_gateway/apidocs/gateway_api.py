"""The gateway's own endpoints as OpenAPI 3.1, described by hand (the gateway is aiohttp: nothing generates them),
with the introduction people read first on /api/docs: how to get a token, and what the data plane checks.

`DATA_DENIALS` and `IDENTITY_OPERATIONS` are checked against the code they describe (DENIAL_REASONS of the access
contract, the routes of registry/api.py) by the gateway's unit tests, so the description cannot drift unnoticed.
"""

from __future__ import annotations

from typing import Any

from govdata_shared.auth import ROLE_LABELS

from govdata_gateway.registry.admin import CLIENT_ROLES, PERSON_ROLES
from govdata_gateway.settings import GatewaySettings

Document = dict[str, Any]

SCHEMAS = "#/components/schemas/"
TAG_TOKENS = "身份与令牌（网关）"
TAG_DATA = "数据调用 /data（网关）"
TAG_IDENTITY = "身份管理 /api/identity（网关）"

# Why a data call is refused: the access record's `outcome` → (HTTP status, problem `code`, meaning).
DATA_DENIALS: dict[str, tuple[int, str, str]] = {
    "missing_token": (401, "unauthenticated", "未携带共享授权令牌（Authorization: Bearer）"),
    "invalid_token": (401, "invalid_token", "令牌无效：签名不符、已过期、受众不是数据面，或不是共享授权令牌"),
    "client_disabled": (403, "client_disabled", "令牌所属的客户端（或其部门、应用系统）已被停用"),
    "wrong_resource": (403, "wrong_resource", "令牌不是为该数据资源签发的"),
    "unknown_grant": (403, "grant_not_active", "网关没有该共享授权，或授权不属于令牌所属部门"),
    "grant_not_active": (403, "grant_not_active", "共享授权已暂停、终止、过期或因长期未用被收回"),
    "outside_window": (403, "outside_window", "当前（北京时间）不在授权期限内"),
    "outside_interface": (403, "outside_interface", "路径或方法不在该资源登记的接口范围内"),
    "rate_limited": (429, "rate_limited", "超过该授权每秒调用次数上限（附 Retry-After）"),
}


def introduction(settings: GatewaySettings) -> str:
    """The document's `info.description` (Markdown, Chinese): the token flows and the data plane.

    Each paragraph and list item is one line: Markdown joins wrapped lines with a space, which Chinese text must
    not get."""
    s = settings
    paragraphs = [
        "伊川县政务大数据平台对外提供的全部 HTTP 接口，统一经网关访问。请求与响应均为 JSON（UTF-8），另有说明的除外；"
        "出错时返回 `application/problem+json`：`code` 是稳定的英文错误码（供程序判断），`detail` 是中文说明，"
        "输入有误时 `field` 与 `rule` 指明字段与所违反的规则。",
        "## 取得访问令牌",
        "\n".join(
            [
                "- **部门业务系统（机器客户端）**：以 `grant_type=client_credentials` 向 `POST /auth/token` 申请 API "
                "访问令牌（`scope=api`，可省略）。客户端凭据用 HTTP Basic 或表单参数 `client_id`、`client_secret` "
                f"提交，二者择一。令牌是 RS256 签名的 JWT，受众（`aud`）为 `{s.govdata_jwt_audience}`，含 `sub`、"
                "`dept`、`roles`，绑定了应用系统的客户端另有 `system`；有效期 "
                f"{s.govdata_token_ttl_seconds} 秒（见响应的 `expires_in`）。调用 `/api/...` 时放在请求头 "
                "`Authorization: Bearer <令牌>` 中。",
                "- **人员**：在平台门户登录。门户是网关的保密客户端，采用授权码 + PKCE（S256）流程："
                "`GET /auth/authorize` 显示登录页，登录成功后带一次性授权码回到门户登记的回调地址；"
                "门户以 `grant_type=authorization_code` "
                f"换取访问令牌（{s.signin_access_token_ttl_seconds} 秒）和刷新令牌，过期后以 "
                "`grant_type=refresh_token` 续期（每个刷新令牌只能用一次），`POST /auth/logout` 结束登录。"
                "门户只以登录人员自己的令牌调用接口。",
                "- **共享授权令牌**：共享申请获批、形成接口授权后，持有部门以绑定于该授权应用系统（`holder_system`）的"
                "客户端申请 `scope=grant:<授权编号>`，得到只能用于数据调用的短时令牌（受众 "
                f"`{s.govdata_data_audience}`，最长 {s.govdata_grant_token_ttl_seconds} 秒，且不超过授权期限）。"
                "其他系统的客户端得到 403 `system_mismatch`。",
                "- 签名公钥见 `GET /.well-known/jwks.json`（按 `kid` 轮换），各服务自行校验令牌。",
                "- 认证连续失败的账号在该来源地址被暂时锁定（429，附 `Retry-After`），换一个地址不受影响。",
            ]
        ),
        "## 数据调用（数据面）",
        "`GET|POST /data/{resource_id}/{path}` 携带共享授权令牌，调用提供部门登记的数据接口。网关每次调用都重新核验："
        "令牌有效且是为该资源签发的、授权此刻有效且在授权期限内（北京时间；暂停或终止在一秒内生效，不必等令牌过期）、"
        "路径和方法在资源登记的接口范围内、未超过调用频率；之后只转发到登记的上游地址，响应中只保留授权的数据项。"
        "每次调用，无论放行或拒绝，都留下访问记录（`/api/audit/access` 可查）。",
        "## 使用本页",
        "“Try it out” 直接调用本平台：先点 “Authorize” 填入访问令牌，或填写客户端凭据（client credentials）由本页申请。"
        "机读的接口描述见 [/api/openapi.json](/api/openapi.json)。",
    ]
    return "\n\n".join(paragraphs)


def gateway_document(settings: GatewaySettings) -> Document:
    """The base document: info, security schemes, tags, and the gateway's own paths and components."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "伊川县政务大数据平台 接口文档", "version": "0.1.0", "description": introduction(settings)},
        "tags": [
            {"name": TAG_TOKENS, "description": "令牌签发、人员登录与退出、签名公钥（OAuth2）"},
            {"name": TAG_DATA, "description": "携带共享授权令牌调用提供部门的数据接口（第二十九条）"},
            {"name": TAG_IDENTITY, "description": "部门、应用系统、客户端与人员的管理（县政务服务和大数据管理局）"},
        ],
        "security": [{"apiToken": []}, {"clientCredentials": ["api"]}],
        "paths": {
            "/auth/token": {"post": _token_operation()},
            "/auth/authorize": {"get": _authorize_operation()},
            "/auth/logout": {"post": _logout_operation()},
            "/.well-known/jwks.json": {"get": _jwks_operation()},
            "/data/{resource_id}/{path}": _data_path_item(),
            **_identity_paths(),
        },
        "components": {"securitySchemes": _security_schemes(settings), "schemas": _schemas()},
    }


# --------------------------------------------------------------------------------------------- identity and tokens


def _token_operation() -> Document:
    return {
        "tags": [TAG_TOKENS],
        "operationId": "issue_token",
        "summary": "申请访问令牌（OAuth2 令牌端点）",
        "description": (
            "按 `grant_type` 处理：`client_credentials`（部门业务系统；`scope` 为 `api` 或 `grant:<授权编号>`）、"
            "`authorization_code`（门户换取人员令牌，须带 PKCE `code_verifier`）、"
            "`refresh_token`（续期，刷新令牌一次有效）。"
            "客户端凭据用 HTTP Basic 或表单参数提交，不能同时使用。"
        ),
        "security": [{}, {"clientBasic": []}],
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": {"$ref": SCHEMAS + "TokenRequest"}}},
        },
        "responses": {
            "200": _json("令牌", "TokenResponse"),
            "400": _problem(
                "参数有误：`invalid_request`、`unsupported_grant_type`、`invalid_scope`、`invalid_grant`（授权码或刷新令牌"
                "无效、已用过或已过期）"
            ),
            "401": _problem("`invalid_client`：客户端认证失败（client_id 或 client_secret 错误）"),
            "403": _problem(
                "共享授权令牌被拒：`grant_not_held`（本部门未持有该授权）、`system_mismatch`（客户端未绑定授权的应用系统）、"
                "`grant_not_active`（授权未生效或不在期限内）"
            ),
            "413": _problem("`payload_too_large`：请求过大"),
            "415": _problem("`unsupported_media_type`：须为 application/x-www-form-urlencoded"),
            "429": _problem("`too_many_failed_attempts`：认证失败次数过多，本地址暂时锁定（见 Retry-After）"),
            "503": _problem(
                "`temporarily_unavailable` 或 `projection_not_ready`：暂时无法处理，稍后重试（见 Retry-After）"
            ),
        },
    }


def _authorize_operation() -> Document:
    def query(name: str, description: str, **schema: Any) -> Document:
        return {"name": name, "in": "query", "required": True, "description": description, "schema": schema}

    return {
        "tags": [TAG_TOKENS],
        "operationId": "authorize",
        "summary": "人员登录（OAuth2 授权码 + PKCE）",
        "description": (
            "浏览器打开，显示网关的登录页（用户名、密码，县大数据局管理员与审计人员另需动态口令）。"
            "登录成功后以 302 回到 `redirect_uri?code=…&state=…`；授权码一次有效。"
            "`redirect_uri` 必须与该客户端登记的完全一致。"
        ),
        "security": [{}],
        "parameters": [
            query("response_type", "固定为 code", type="string", enum=["code"]),
            query("client_id", "发起登录的客户端（如门户 portal）", type="string"),
            query("redirect_uri", "该客户端登记的回调地址之一", type="string", format="uri"),
            query("code_challenge", "PKCE：BASE64URL(SHA256(code_verifier))", type="string"),
            query("code_challenge_method", "只支持 S256", type="string", enum=["S256"]),
            {
                "name": "state",
                "in": "query",
                "required": False,
                "description": "原样带回，供客户端防范跨站请求伪造",
                "schema": {"type": "string"},
            },
        ],
        "responses": {
            "200": {"description": "登录页", "content": {"text/html": {"schema": {"type": "string"}}}},
            "302": {"description": "参数有误时带 `error`、`error_description` 回到 redirect_uri（RFC 6749 §4.1.2.1）"},
            "400": {
                "description": "客户端未登记或回调地址不符（此时不重定向）",
                "content": {"text/html": {"schema": {"type": "string"}}},
            },
        },
    }


def _logout_operation() -> Document:
    return {
        "tags": [TAG_TOKENS],
        "operationId": "logout",
        "summary": "人员退出登录",
        "description": (
            "以该次登录的访问令牌（Authorization: Bearer）或刷新令牌"
            "（表单参数 `refresh_token`，或 RFC 7009 的 `token`）结束登录，其刷新令牌随之失效。"
            "无论登录是否仍有效都返回 204。"
        ),
        "security": [{}, {"apiToken": []}],
        "requestBody": {
            "required": False,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {"refresh_token": {"type": "string"}, "token": {"type": "string"}},
                    }
                }
            },
        },
        "responses": {
            "204": {"description": "已退出"},
            "400": _problem("`invalid_request`（未提供令牌）或 `not_a_signin_token`（访问令牌不属于人员登录）"),
            "401": _problem("`invalid_token`：访问令牌无效"),
        },
    }


def _jwks_operation() -> Document:
    return {
        "tags": [TAG_TOKENS],
        "operationId": "jwks",
        "summary": "令牌签名公钥（JWKS）",
        "description": "当前密钥及轮换期间仍在发布的旧公钥，按 `kid` 区分。",
        "security": [{}],
        "responses": {"200": _json("公钥集", "Jwks")},
    }


# --------------------------------------------------------------------------------------------- data plane


def _data_path_item() -> Document:
    denials = "\n".join(
        f"| `{reason}` | {status} | `{code}` | {meaning} |" for reason, (status, code, meaning) in DATA_DENIALS.items()
    )
    description = (
        "携带共享授权令牌（`scope=grant:<授权编号>` 申请所得）调用提供部门的数据接口。`path` 可含多级（如 "
        "`population/persons`），须等于资源登记的某个路径前缀或在其后以 `/` 延续；方法须在登记的 `methods` 中。"
        "响应中每条 JSON 记录只保留授权的数据项（顶层字段；`{items:[…]}` 与记录列表逐条过滤）。\n\n"
        "每次调用（无论是否被拒绝）都留下一条访问记录（`GET /api/audit/access`）；访问记录无法保存时拒绝调用"
        "（503 `access_log_unavailable`），绝不在无记录的情况下提供数据。\n\n"
        "被拒绝时的原因（访问记录中的 `outcome`）：\n\n"
        "| reason | HTTP | code | 含义 |\n|---|---|---|---|\n" + denials + "\n\n"
        "提供部门接口出错时：`upstream_error`（保留其状态码，不转发其内容）、`unfilterable_response`（502，"
        "响应不是可按数据项过滤的 JSON）、`upstream_unavailable`（502）、`upstream_timeout`（504）、"
        "`upstream_not_allowed`（502，接口地址不在 GOVDATA_UPSTREAM_ALLOWED_NETWORKS 允许的网段内）。"
    )
    responses = {
        "200": {
            "description": "提供部门的响应，只含授权的数据项",
            "content": {"application/json": {"schema": {}}},
        },
        "401": _problem("`unauthenticated` 或 `invalid_token`"),
        "403": _problem(
            "`client_disabled`、`wrong_resource`、`grant_not_active`、`outside_window`、`outside_interface`"
        ),
        "429": _problem("`rate_limited`（见 Retry-After）"),
        "502": _problem("`upstream_unavailable`、`unfilterable_response` 或 `upstream_error`"),
        "503": _problem("`projection_not_ready`：网关尚未完成授权数据同步（见 Retry-After）"),
        "504": _problem("`upstream_timeout`：提供部门接口响应超时"),
    }
    parameters = [
        {
            "name": "resource_id",
            "in": "path",
            "required": True,
            "description": "数据资源编号",
            "schema": {"type": "string"},
        },
        {
            "name": "path",
            "in": "path",
            "required": True,
            "description": "资源接口内的路径，可含多级",
            "schema": {"type": "string"},
        },
    ]

    def operation(method: str, summary: str) -> Document:
        op: Document = {
            "tags": [TAG_DATA],
            "operationId": f"data_{method}",
            "summary": summary,
            "description": description,
            "security": [{"grantToken": []}],
            "responses": responses,
        }
        if method == "post":
            op["requestBody"] = {"required": False, "content": {"application/json": {"schema": {}}}}
        return op

    return {
        "parameters": parameters,
        "get": operation("get", "调用数据接口（GET）"),
        "post": operation("post", "调用数据接口（POST）"),
    }


# --------------------------------------------------------------------------------------------- /api/identity

_BUREAU = "仅县政务服务和大数据管理局管理员（bureau_admin）。"
# (method, path under /api/identity) → (operationId, summary, request schema or None, status, response schema)
IDENTITY_OPERATIONS: dict[tuple[str, str], tuple[str, str, str | None, int, str]] = {
    ("GET", "/departments"): ("list_departments", "部门列表", None, 200, "DepartmentList"),
    ("POST", "/departments"): ("create_department", "新增部门", "DepartmentIn", 201, "Department"),
    ("GET", "/systems"): ("list_systems", "应用系统列表", None, 200, "AppSystemList"),
    ("POST", "/systems"): ("create_system", "登记应用系统", "AppSystemIn", 201, "AppSystem"),
    ("GET", "/clients"): ("list_clients", "客户端列表", None, 200, "ClientList"),
    ("POST", "/clients"): ("create_client", "新增客户端（密钥只在本次响应中出现）", "ClientIn", 201, "ClientCreated"),
    ("POST", "/clients/{client_id}/rotate-secret"): (
        "rotate_client_secret",
        "更换客户端密钥（旧密钥在宽限期内仍有效）",
        None,
        200,
        "SecretRotated",
    ),
    ("POST", "/clients/{client_id}/disable"): ("disable_client", "停用客户端（其令牌随即失效）", None, 200, "Client"),
    ("GET", "/users"): ("list_users", "人员列表", None, 200, "UserList"),
    ("POST", "/users"): ("create_user", "新增人员（临时密码只在本次响应中出现）", "UserIn", 201, "UserCreated"),
    ("POST", "/users/{username}/disable"): ("disable_user", "停用人员（结束其登录）", None, 200, "User"),
    ("POST", "/users/{username}/reset-password"): (
        "reset_password",
        "重置人员密码（结束其登录，首次登录须改密）",
        None,
        200,
        "PasswordReset",
    ),
    ("GET", "/me"): ("identity_me", "当前调用者", None, 200, "Me"),
}


def _identity_paths() -> dict[str, Document]:
    paths: dict[str, Document] = {}
    for (method, path), (operation_id, summary, request, status, response) in IDENTITY_OPERATIONS.items():
        who = "任何持有效访问令牌的调用者。" if path == "/me" else _BUREAU
        op: Document = {
            "tags": [TAG_IDENTITY],
            "operationId": operation_id,
            "summary": summary,
            "description": who + "每次变更都作为 identity.* 事件进入审计记录。",
            "responses": {
                str(status): _json(summary, response),
                "401": _problem("`unauthenticated` 或 `invalid_token`"),
                "403": _problem(
                    "`forbidden_role`，或令牌所属客户端、人员已被停用（`client_disabled`、`user_disabled`）"
                ),
            },
        }
        if request is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": SCHEMAS + request}}},
            }
            op["responses"]["409"] = _problem("已存在，或与同时提交的修改冲突")
            op["responses"]["422"] = _problem("`validation_failed`：`errors` 逐项指明字段与规则")
        elif path != "/me" and method == "POST":
            op["responses"]["404"] = _problem("`not_found`：没有该客户端或人员")
            if not path.endswith("/disable"):  # disabling twice changes nothing
                op["responses"]["409"] = _problem("`client_disabled` 或 `user_disabled`：已停用")
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in ("client_id", "username")
            if "{" + name + "}" in path
        ]
        if parameters:
            op["parameters"] = parameters
        paths.setdefault(f"/api/identity{path}", {})[method.lower()] = op
    return paths


# --------------------------------------------------------------------------------------------- components


def _security_schemes(settings: GatewaySettings) -> Document:
    return {
        "apiToken": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": f"API 访问令牌（aud={settings.govdata_jwt_audience}），用于 /api/...",
        },
        "clientCredentials": {
            "type": "oauth2",
            "description": "部门业务系统以客户端凭据申请 API 访问令牌",
            "flows": {"clientCredentials": {"tokenUrl": "/auth/token", "scopes": {"api": "调用平台接口"}}},
        },
        "grantToken": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": (
                f"共享授权令牌（scope=grant:<授权编号>，aud={settings.govdata_data_audience}），只用于 /data/..."
            ),
        },
        "clientBasic": {"type": "http", "scheme": "basic", "description": "客户端认证：client_id:client_secret"},
    }


def _json(description: str, schema: str) -> Document:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": SCHEMAS + schema}}}}


def _problem(description: str) -> Document:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": SCHEMAS + "Problem"}}},
    }


def _string(description: str, **extra: Any) -> Document:
    return {"type": "string", "description": description, **extra}


def _nullable(description: str) -> Document:
    return {"type": ["string", "null"], "description": description}


def _listing(item: str) -> Document:
    return {
        "type": "object",
        "required": ["items", "total"],
        "properties": {"items": {"type": "array", "items": {"$ref": SCHEMAS + item}}, "total": {"type": "integer"}},
    }


def _schemas() -> Document:
    state = {
        "disabled": {"type": "boolean"},
        "version": {"type": "integer"},
        "created_at": _string("创建时间", format="date-time"),
        "updated_at": _string("更新时间", format="date-time"),
    }
    client_roles = sorted(CLIENT_ROLES)
    person_roles = sorted(PERSON_ROLES)
    roles_note = "；".join(f"{role} {ROLE_LABELS.get(role, '')}".strip() for role in client_roles)
    client = {
        "client_id": _string("客户端编号"),
        "name": _nullable("名称"),
        "dept": _nullable("所属部门"),
        "system": _nullable("绑定的应用系统"),
        "roles": {"type": "array", "items": {"type": "string", "enum": client_roles}},
        "subject_id": _nullable("公民或企业的证件号码（脱敏）"),
        "redirect_uris": {"type": ["array", "null"], "items": {"type": "string", "format": "uri"}},
        "previous_secret_valid_until": {"type": ["string", "null"], "format": "date-time"},
        **state,
    }
    user = {
        "username": _string("用户名"),
        "name": _nullable("姓名"),
        "dept": _nullable("所属部门"),
        "roles": {"type": "array", "items": {"type": "string", "enum": person_roles}},
        "subject_id": _nullable("公民或企业的证件号码（脱敏）"),
        "must_change_password": {"type": "boolean"},
        "password_changed_at": {"type": ["string", "null"], "format": "date-time"},
        "totp_enrolled": {"type": "boolean", "description": "是否已绑定动态口令"},
        **state,
    }
    return {
        "Problem": {
            "type": "object",
            "description": "RFC 9457 问题详情",
            "required": ["type", "title", "status", "code"],
            "properties": {
                "type": _string("问题类型 URI"),
                "title": _string("标题"),
                "status": {"type": "integer"},
                "detail": _string("中文说明"),
                "code": _string("稳定的英文错误码"),
                "field": _string("出错的字段"),
                "rule": _string("违反的规则"),
            },
            "additionalProperties": True,
        },
        "TokenRequest": {
            "type": "object",
            "required": ["grant_type"],
            "properties": {
                "grant_type": _string("授权类型", enum=["client_credentials", "authorization_code", "refresh_token"]),
                "client_id": _string("客户端编号（不用 HTTP Basic 时）"),
                "client_secret": _string("客户端密钥（不用 HTTP Basic 时）"),
                "scope": _string("client_credentials：`api`（默认）或 `grant:<授权编号>`"),
                "code": _string("authorization_code：授权码"),
                "redirect_uri": _string("authorization_code：与登录时相同的回调地址"),
                "code_verifier": _string("authorization_code：PKCE 验证码（43–128 位）"),
                "refresh_token": _string("refresh_token：刷新令牌"),
            },
        },
        "TokenResponse": {
            "type": "object",
            "required": ["access_token", "token_type", "expires_in", "scope"],
            "properties": {
                "access_token": _string("访问令牌（JWT）"),
                "token_type": _string("固定为 Bearer", enum=["Bearer"]),
                "expires_in": {"type": "integer", "description": "有效秒数"},
                "scope": _string("`api` 或 `grant:<授权编号>`"),
                "refresh_token": _string("人员登录时才有"),
                "refresh_expires_in": {"type": "integer", "description": "刷新令牌闲置多久后失效（秒）"},
            },
        },
        "Jwks": {
            "type": "object",
            "required": ["keys"],
            "properties": {"keys": {"type": "array", "items": {"type": "object", "additionalProperties": True}}},
        },
        "DepartmentIn": {
            "type": "object",
            "required": ["code", "name"],
            "properties": {"code": _string("部门代码，如 YC-GA"), "name": _string("部门名称")},
        },
        "Department": {
            "type": "object",
            "properties": {"code": _string("部门代码"), "name": _string("部门名称"), **state},
        },
        "DepartmentList": _listing("Department"),
        "AppSystemIn": {
            "type": "object",
            "required": ["id", "dept", "name"],
            "properties": {"id": _string("应用系统编号"), "dept": _string("所属部门"), "name": _string("系统名称")},
        },
        "AppSystem": {
            "type": "object",
            "properties": {
                "id": _string("应用系统编号"),
                "dept": _string("所属部门"),
                "name": _string("系统名称"),
                **state,
            },
        },
        "AppSystemList": _listing("AppSystem"),
        "ClientIn": {
            "type": "object",
            "required": ["client_id", "roles"],
            "description": f"角色：{roles_note}。公民或企业账号只有 citizen 角色，须给 subject_id，不属于部门。",
            "properties": {
                "client_id": _string("客户端编号"),
                "name": _string("名称"),
                "dept": _string("所属部门（部门客户端必填）"),
                "roles": {"type": "array", "items": {"type": "string", "enum": client_roles}},
                "system": _string("绑定的应用系统（本部门的）"),
                "subject_id": _string("公民身份号码或统一社会信用代码（citizen）"),
                "redirect_uris": {"type": "array", "items": {"type": "string", "format": "uri"}},
            },
        },
        "Client": {"type": "object", "properties": client},
        "ClientCreated": {
            "type": "object",
            "properties": {**client, "client_secret": _string("客户端密钥，只显示这一次")},
        },
        "ClientList": _listing("Client"),
        "SecretRotated": {
            "type": "object",
            "properties": {
                "client_id": _string("客户端编号"),
                "client_secret": _string("新密钥，只显示这一次"),
                "previous_secret_valid_until": _string("旧密钥失效时间", format="date-time"),
                "version": {"type": "integer"},
            },
        },
        "UserIn": {
            "type": "object",
            "required": ["username", "roles"],
            "properties": {
                "username": _string("用户名"),
                "name": _string("姓名"),
                "dept": _string("所属部门（部门人员必填）"),
                "roles": {"type": "array", "items": {"type": "string", "enum": person_roles}},
                "subject_id": _string("公民身份号码或统一社会信用代码（citizen）"),
            },
        },
        "User": {"type": "object", "properties": user},
        "UserCreated": {
            "type": "object",
            "properties": {**user, "temporary_password": _string("临时密码，只显示这一次，首次登录须修改")},
        },
        "UserList": _listing("User"),
        "PasswordReset": {
            "type": "object",
            "properties": {
                "username": _string("用户名"),
                "temporary_password": _string("临时密码，只显示这一次"),
                "must_change_password": {"type": "boolean"},
                "version": {"type": "integer"},
            },
        },
        "Me": {
            "type": "object",
            "required": ["sub", "roles"],
            "properties": {
                "sub": _string("客户端编号或用户名"),
                "name": _nullable("名称或姓名"),
                "dept": _nullable("所属部门"),
                "roles": {"type": "array", "items": {"type": "string"}},
                "system": _string("绑定的应用系统（若有）"),
            },
        },
    }
