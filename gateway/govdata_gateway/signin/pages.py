"""The sign-in pages, rendered on the server as plain HTML: no script, no external asset, one inline style
block allowed by a per-response nonce. Every field has a visible label; a failed step shows an error summary at
the top that names and links each field, with the message repeated beside the field (GOV.UK's pattern)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from urllib.parse import urlencode

from aiohttp import web

SITE = "伊川县政务大数据平台"

_STYLE = """
body{margin:0;font:16px/1.6 "PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;color:#1f2d3d;
background:#f0f2f5}
header{background:#1f4e8c;color:#fff;padding:12px 24px;font-size:18px}
main{max-width:440px;margin:32px auto;background:#fff;padding:24px 32px;border-radius:4px;
box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:22px;margin:0 0 8px}
p.lead{color:#606266;margin:0 0 20px}
.field{margin:0 0 18px}
label{display:block;font-weight:bold;margin:0 0 4px}
input[type=text],input[type=password]{box-sizing:border-box;width:100%;padding:8px 10px;font-size:16px;
border:1px solid #8c939d;border-radius:3px}
input:focus{outline:3px solid #ffbf47;outline-offset:0}
.field.invalid input{border:2px solid #d4351c}
.field-error{color:#d4351c;font-weight:bold;margin:0 0 4px}
.hint{color:#606266;font-size:14px;margin:0 0 4px}
button{background:#1f4e8c;color:#fff;border:0;border-radius:3px;padding:10px 24px;font-size:16px;cursor:pointer}
button:focus{outline:3px solid #ffbf47}
.error-summary{border:4px solid #d4351c;padding:12px 16px;margin:0 0 20px}
.error-summary h2{font-size:18px;margin:0 0 8px;color:#d4351c}
.error-summary ul{margin:0;padding-left:20px}
.error-summary a{color:#d4351c;font-weight:bold}
.notice{background:#f4f4f5;padding:8px 12px;font-size:14px;color:#606266;margin:16px 0 0}
code,.secret{font-family:Consolas,"Courier New",monospace}
code{word-break:break-all}
.secret{font-size:20px;letter-spacing:1px;background:#f4f4f5;padding:8px 12px;display:block;margin:4px 0 12px}
p.hint + .field,p.hint + form{margin-top:16px}
.federated{margin:20px 0 0;padding:16px 0 0;border-top:1px solid #dcdfe6}
.federated p.hint{margin:0 0 8px}
a.button-secondary{display:inline-block;background:#f4f4f5;color:#1f4e8c;border:1px solid #1f4e8c;border-radius:3px;
padding:9px 23px;font-size:16px;text-decoration:none}
a.button-secondary:focus{outline:3px solid #ffbf47}
"""


@dataclass(frozen=True)
class FieldError:
    """A problem with one field: its id, its label (named in the summary) and the message."""

    field: str
    label: str
    message: str


def _errors_by_field(errors: Sequence[FieldError]) -> dict[str, FieldError]:
    return {e.field: e for e in errors}


def _summary(errors: Sequence[FieldError]) -> str:
    if not errors:
        return ""
    items = "".join(f'<li><a href="#{escape(e.field)}">{escape(e.label)}：{escape(e.message)}</a></li>' for e in errors)
    return (
        '<div class="error-summary" role="alert" aria-labelledby="error-summary-title" tabindex="-1">'
        f'<h2 id="error-summary-title">出现问题</h2><ul>{items}</ul></div>'
    )


def _field(
    name: str,
    label: str,
    errors: dict[str, FieldError],
    *,
    kind: str = "text",
    value: str = "",
    autocomplete: str = "off",
    hint: str | None = None,
    extra: str = "",
) -> str:
    error = errors.get(name)
    described = []
    hint_html = error_html = ""
    if hint:
        hint_html = f'<p class="hint" id="{name}-hint">{escape(hint)}</p>'
        described.append(f"{name}-hint")
    if error:
        error_html = f'<p class="field-error" id="{name}-error">{escape(error.message)}</p>'
        described.append(f"{name}-error")
    aria = f' aria-describedby="{" ".join(described)}"' if described else ""
    invalid = ' aria-invalid="true"' if error else ""
    value_html = f' value="{escape(value)}"' if value and kind != "password" else ""
    return (
        f'<div class="field{" invalid" if error else ""}">'
        f'<label for="{name}">{escape(label)}</label>{hint_html}{error_html}'
        f'<input type="{kind}" id="{name}" name="{name}" autocomplete="{autocomplete}" required'
        f"{value_html}{aria}{invalid}{extra}>"
        "</div>"
    )


def _form(pending_id: str, fields: str, button: str) -> str:
    return (
        '<form method="post" action="/auth/login" novalidate>'
        f'<input type="hidden" name="pending" value="{escape(pending_id)}">'
        f'{fields}<button type="submit">{escape(button)}</button></form>'
    )


def render(
    title: str, body: str, *, status: int = 200, form_targets: Iterable[str] = (), headers: dict[str, str] | None = None
) -> web.Response:
    """A complete page with the headers every sign-in page carries: a strict Content-Security-Policy (nothing
    but our inline style; forms post only here or to the client's registered origin, where the 302 leads),
    no framing, no caching, no referrer (the address may hold the request's parameters)."""
    nonce = secrets.token_urlsafe(16)
    html = (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(title)} — {SITE}</title><style nonce="{nonce}">{_STYLE}</style></head>'
        f'<body><header>{SITE}</header><main id="main">{body}</main></body></html>'
    )
    targets = " ".join(["'self'", *sorted(set(form_targets))])
    csp = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; form-action {targets}; frame-ancestors 'none'; base-uri 'none'"
    )
    page_headers = {
        "Content-Security-Policy": csp,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        **(headers or {}),
    }
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8", headers=page_headers)


def login_body(
    pending_id: str,
    client_name: str,
    *,
    username: str = "",
    errors: Sequence[FieldError] = (),
    notice: str = "",
    federated_label: str | None = None,
) -> str:
    """The login form; with `federated_label`, a link under it that signs in through the province's 统一身份认证
    instead (a link, not a form: a form's redirect to the provider would need the provider in form-action)."""
    by_field = _errors_by_field(errors)
    fields = _field("username", "用户名", by_field, value=username, autocomplete="username") + _field(
        "password", "密码", by_field, kind="password", autocomplete="current-password"
    )
    notice_html = f'<p class="notice">{escape(notice)}</p>' if notice else ""
    federated_html = ""
    if federated_label:
        href = f"/auth/federated?{urlencode({'pending': pending_id})}"
        federated_html = (
            '<div class="federated"><p class="hint">或</p>'
            f'<a class="button-secondary" id="federated" href="{escape(href)}">{escape(federated_label)}</a></div>'
        )
    return (
        f"{_summary(errors)}<h1>登录</h1>"
        f'<p class="lead">登录后将返回“{escape(client_name)}”。</p>'
        f"{_form(pending_id, fields, '登录')}{federated_html}{notice_html}"
    )


def totp_body(pending_id: str, *, errors: Sequence[FieldError] = ()) -> str:
    field = _field(
        "code",
        "动态验证码",
        _errors_by_field(errors),
        autocomplete="one-time-code",
        hint="打开手机上的验证器应用，输入显示的 6 位数字",
        extra=' inputmode="numeric" maxlength="6"',
    )
    return f"{_summary(errors)}<h1>双因素认证</h1>{_form(pending_id, field, '验证')}"


def enrol_body(pending_id: str, secret: str, uri: str, *, errors: Sequence[FieldError] = ()) -> str:
    field = _field(
        "code",
        "动态验证码",
        _errors_by_field(errors),
        autocomplete="one-time-code",
        hint="添加后，输入验证器应用显示的 6 位数字以完成绑定",
        extra=' inputmode="numeric" maxlength="6"',
    )
    return (
        f"{_summary(errors)}<h1>绑定双因素认证</h1>"
        '<p class="lead">您的账户须使用动态验证码登录（等保 2.0 三级要求）。请在手机验证器应用'
        "（如 FreeOTP、Microsoft Authenticator、Google Authenticator）中添加账户，手动输入以下密钥：</p>"
        f'<span class="secret" id="totp-secret">{escape(secret)}</span>'
        f'<p class="hint">或在应用中导入此链接：<br><code id="totp-uri">{escape(uri)}</code></p>'
        '<p class="hint">类型：基于时间（TOTP），6 位数字，每 30 秒更新。请勿将密钥告知他人。</p>'
        f"{_form(pending_id, field, '完成绑定')}"
    )


def new_password_body(pending_id: str, *, errors: Sequence[FieldError] = ()) -> str:
    by_field = _errors_by_field(errors)
    fields = _field(
        "new_password",
        "新密码",
        by_field,
        kind="password",
        autocomplete="new-password",
        hint="至少 8 位，包含大写字母、小写字母、数字和符号中的至少三类，不含用户名，且不能与原密码相同",
    ) + _field("new_password_confirm", "确认新密码", by_field, kind="password", autocomplete="new-password")
    return (
        f"{_summary(errors)}<h1>设置新密码</h1>"
        '<p class="lead">您的密码已被重置，请先设置新密码再继续。</p>'
        f"{_form(pending_id, fields, '修改密码并继续')}"
    )


def message_body(heading: str, message: str) -> str:
    return f'<h1>{escape(heading)}</h1><p class="lead">{escape(message)}</p>'
