"""The 第三十八条 evaluation as files: a CSV for Excel (UTF-8 with a BOM) and a printable report in Chinese — one
self-contained HTML page (its style inline, no script, nothing fetched from elsewhere; A4 landscape when printed),
for the bureau's records or, once published, for the public (第三十七条)."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any

from govdata_shared.workdays import SHANGHAI

NOT_APPLICABLE = "不适用"
UNRANKED = "不参与排名"
STATUS_WORDS = {"draft": "草稿（未公布）", "published": "已公布"}
REGULATION = "《伊川县政务数据资源共享管理办法》"


def _number(value: float | None) -> str:
    return NOT_APPLICABLE if value is None else f"{value:.2f}"


def _weight(value: float) -> str:
    return f"{value:g}"


def _moment(value: Any) -> str:
    """A timestamp (datetime or ISO text, UTC) in Yichuan's time: `2026-03-02 10:00`."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else ""


# ---------------------------------------------------------------------------------------------- CSV


def evaluation_csv(evaluation: Mapping[str, Any]) -> bytes:
    """One row per department: rank, total, the four dimensions, every indicator's score, the 改进意见."""
    method: Mapping[str, Any] = evaluation["method"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    header = ["年度", "排名", "部门代码", "部门名称", "总分"]
    header += [f"{d['label']}（权重 {_weight(d['weight'])}）" for d in method.values()]
    header += [
        f"{d['label']}·{i['label']}（{i['article']}，权重 {_weight(i['weight'])}）"
        for d in method.values()
        for i in d["indicators"].values()
    ]
    header += ["改进意见", "评价配置版本", "状态"]
    writer.writerow(header)
    for row in evaluation["departments"]:
        line = [
            evaluation["year"],
            row["rank"] if row["rank"] is not None else UNRANKED,
            row["dept"],
            row["name"] or "",
            _number(row["total"]),
        ]
        line += [_number(row["dimensions"][code]["score"]) for code in method]
        line += [
            _number(row["dimensions"][code]["indicators"][key]["score"])
            for code, d in method.items()
            for key in d["indicators"]
        ]
        opinion = row.get("opinion")
        line += [
            opinion["text"] if opinion else "",
            evaluation["config"]["version"],
            STATUS_WORDS[evaluation["status"]],
        ]
        writer.writerow(line)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# ---------------------------------------------------------------------------------------------- HTML

STYLE = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif;color:#1d2129;
margin:24px auto;max-width:1180px;padding:0 16px;line-height:1.6;font-size:14px}
h1{font-size:22px;text-align:center;margin:0 0 4px}h2{font-size:17px;border-bottom:2px solid #1f5fbf;
padding-bottom:4px;margin:28px 0 10px}h3{font-size:15px;margin:18px 0 6px}
.meta{text-align:center;color:#4e5969;margin:0 0 16px}
table{border-collapse:collapse;width:100%;margin:6px 0 12px}th,td{border:1px solid #86909c;padding:4px 6px;
text-align:left;vertical-align:top}th{background:#f2f3f5}td.num,th.num{text-align:right;white-space:nowrap}
.na{color:#86909c}.nowrap{white-space:nowrap}
.opinion{border-left:4px solid #1f5fbf;background:#f7f8fa;padding:6px 10px;white-space:pre-wrap}
section.dept{page-break-inside:avoid;break-inside:avoid}.note{color:#4e5969;font-size:13px}
@page{size:A4 landscape;margin:14mm}
@media print{body{margin:0;max-width:none;font-size:11pt}h2{page-break-after:avoid;break-after:avoid}
thead{display:table-header-group}tr{page-break-inside:avoid;break-inside:avoid}}
"""
STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
# Nothing but the one inline style block: no script, no image, no font, no link out.
CSP = (
    f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _cell(value: float | None) -> str:
    if value is None:
        return f'<td class="num na">{NOT_APPLICABLE}</td>'
    return f'<td class="num">{value:.2f}</td>'


def _summary_table(method: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], public: bool) -> str:
    head = "".join(
        f'<th scope="col" class="num">{escape(d["label"])}（{_weight(d["weight"])}）</th>' for d in method.values()
    )
    body = []
    for row in rows:
        rank = row["rank"] if row["rank"] is not None else UNRANKED
        code = f'<br><span class="note">{escape(row["dept"])}</span>' if row["name"] else ""
        scores = row["dimensions"] if public else {c: d["score"] for c, d in row["dimensions"].items()}
        cells = "".join(_cell(scores.get(code)) for code in method)
        body.append(
            f'<tr><td class="num">{escape(str(rank))}</td><th scope="row">{escape(row["name"] or row["dept"])}'
            f"{code}</th>{_cell(row['total'])}{cells}</tr>"
        )
    return (
        '<table class="summary"><caption class="note">'
        "各部门总分和四个维度得分，括号内为权重；按总分排名，同分同名次</caption>"
        '<thead><tr><th scope="col" class="num">排名</th><th scope="col">部门</th>'
        f'<th scope="col" class="num">总分</th>{head}'
        f"</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _method_table(method: Mapping[str, Any]) -> str:
    rows = []
    for dimension in method.values():
        for indicator in dimension["indicators"].values():
            rows.append(
                f"<tr><td>{escape(dimension['label'])}（{_weight(dimension['weight'])}）</td>"
                f"<td>{escape(indicator['label'])}</td><td>{escape(indicator['article'])}</td>"
                f'<td class="num">{_weight(indicator["weight"])}</td><td>{escape(indicator["rule_text"])}</td></tr>'
            )
    return (
        '<table class="method"><thead><tr><th scope="col">维度（权重）</th><th scope="col">指标</th>'
        '<th scope="col">依据</th><th scope="col" class="num">维度内权重</th><th scope="col">计分方法</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _department_section(row: Mapping[str, Any]) -> str:
    lines = []
    for dimension in row["dimensions"].values():
        for indicator in dimension["indicators"].values():
            sources = "；".join(
                f"{escape(f['label'])}（{escape(f['article'])}）{f['value']}" for f in indicator["figures"]
            )
            lines.append(
                f'<tr><td class="nowrap">{escape(dimension["label"])}</td><td>{escape(indicator["label"])}<br>'
                f'<span class="note">{escape(indicator["article"])}</span></td><td>{sources}</td>'
                f"<td>{escape(indicator['basis'])}</td>{_cell(indicator['score'])}"
                f'<td class="num">{_weight(indicator["weight"])} → {indicator["effective_weight"]:g}</td></tr>'
            )
    rank = row["rank"] if row["rank"] is not None else UNRANKED
    dims = "，".join(f"{d['label']} {_number(d['score'])}" for d in row["dimensions"].values())
    opinion = row.get("opinion")
    opinion_html = (
        f'<h4>改进意见</h4><p class="opinion">{escape(opinion["text"])}</p>'
        if opinion
        else '<p class="note">暂无改进意见。</p>'
    )
    return (
        f'<section class="dept"><h3>{escape(row["name"] or row["dept"])}（{escape(row["dept"])}）'
        f"：总分 {_number(row['total'])}，排名 {escape(str(rank))}</h3><p>{escape(dims)}</p>"
        '<table><thead><tr><th scope="col">维度</th><th scope="col">指标</th>'
        '<th scope="col">来源监督数据（条款）数值</th>'
        '<th scope="col">计算</th><th scope="col" class="num">得分</th><th scope="col" class="num">权重 → 实际权重</th>'
        f"</tr></thead><tbody>{''.join(lines)}</tbody></table>{opinion_html}</section>"
    )


def _page(title: str, meta: str, body: str) -> str:
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="meta">{meta}</p>{body}</body></html>'
    )


def _rules_note() -> str:
    return (
        '<p class="note">计分规则：每项指标按其计分方法得 0–100 分；'
        "维度得分为其适用指标的加权平均，总分为适用维度的加权平均。"
        "本年度无可评价事项的指标（或维度）不计分，其权重按比例分给同一维度的其他指标（或其他维度）；"
        "全部不适用的部门不参与排名。得分四舍五入保留两位小数，同分同名次。</p>"
    )


def evaluation_html(evaluation: Mapping[str, Any]) -> str:
    """The bureau's printable report: the ranking, the method, every department's indicators and 改进意见."""
    year = evaluation["year"]
    title = f"伊川县{year}年度政务数据管理工作情况评价"
    status = STATUS_WORDS[evaluation["status"]]
    published = f"，公布于 {_moment(evaluation['published_at'])}" if evaluation.get("published_at") else ""
    meta = (
        f"依据{REGULATION}第三十八条 · 统计期间 {year}-01-01 至 {year}-12-31（北京时间） · 评价配置第 "
        f"{evaluation['config']['version']} 版 · {status}{published} · 生成于 {_moment(evaluation['generated_at'])}"
    )
    method = evaluation["method"]
    rows = evaluation["departments"]
    body = (
        f"<h2>一、评价结果</h2>{_summary_table(method, rows, public=False)}"
        f"<h2>二、评价指标和权重</h2>{_method_table(method)}{_rules_note()}"
        f"<h2>三、各部门得分明细和改进意见</h2>{''.join(_department_section(r) for r in rows)}"
    )
    return _page(title, escape(meta), body)


def public_html(published: Mapping[str, Any]) -> str:
    """The public page of a published year (第三十七条): ranking, dimension scores, method and 改进意见; no person."""
    year = published["year"]
    title = f"伊川县{year}年度政务数据管理工作情况评价结果公告"
    meta = (
        f"依据{REGULATION}第三十七、三十八条向社会公布 · 统计期间 {year}-01-01 至 {year}-12-31 · "
        f"公布于 {_moment(published['published_at'])}"
    )
    method = published["method"]
    rows = published["departments"]
    opinions = "".join(
        f'<h3>{escape(r["name"] or r["dept"])}</h3><p class="opinion">{escape(r["opinion"])}</p>'
        for r in rows
        if r.get("opinion")
    )
    opinions = opinions or '<p class="note">本年度无改进意见。</p>'
    others = [y for y in published.get("published_years", []) if y != year]
    earlier = f'<p class="note">其他已公布年度：{"、".join(str(y) for y in others)}。</p>' if others else ""
    body = (
        f"<h2>一、评价结果</h2>{_summary_table(method, rows, public=True)}"
        f"<h2>二、评价指标和权重</h2>{_method_table(method)}{_rules_note()}"
        f"<h2>三、改进意见</h2>{opinions}{earlier}"
    )
    return _page(title, escape(meta), body)
