"""Who sees which steps and messages, written once as query clauses.

A step waits for the bureau (any bureau_admin) or for the staff of one department in the roles that act on it:
the operators for a provider's decision, operators and the head for a correction (the head extends it). A message
goes to the responsible department — every operator and the head — and a copy to the bureau, so the bureau reads
them all. Citizens and companies: the events name no person behind a correction, so nothing is routed to them;
auditors read the trail in audit-svc, not these lists. Everyone else gets an empty list, never a 403.
"""

from __future__ import annotations

import sqlalchemy as sa
from govdata_shared.auth import DEPARTMENT_ROLES, Caller, Role

from notify_svc.domain import roles_text
from notify_svc.models import Message, OpenStep, WebhookSubscription


def _holds(role: str) -> sa.ColumnElement[bool]:
    return OpenStep.roles.contains(roles_text([role]), autoescape=True)


def waiting_for(caller: Caller) -> sa.ColumnElement[bool]:
    """The steps that wait for `caller`: the bureau's for a bureau_admin, its department's in the roles it holds
    for department staff."""
    scopes: list[sa.ColumnElement[bool]] = []
    if caller.is_bureau:
        scopes.append(_holds(Role.BUREAU_ADMIN))
    if dept := caller.acting_dept:
        held = [_holds(role) for role in DEPARTMENT_ROLES if caller.has_role(role)]
        scopes.append(sa.and_(OpenStep.dept == dept, sa.or_(*held)))
    return sa.or_(*scopes) if scopes else sa.false()


def addressed_to(caller: Caller) -> sa.ColumnElement[bool]:
    """The messages `caller` reads: all for the bureau (each is addressed or copied to it), its department's for
    department staff."""
    if caller.is_bureau:
        return sa.true()
    if dept := caller.acting_dept:
        return Message.dept == dept
    return sa.false()


def manages_subscription(caller: Caller) -> sa.ColumnElement[bool]:
    """The webhook subscriptions `caller` sees and manages: all for the bureau; its department's for an operator,
    and only its own system's for a client bound to a system (the routes admit operators and the bureau)."""
    if caller.is_bureau:
        return sa.true()
    if caller.dept and caller.has_role(Role.DEPT_OPERATOR):
        own = WebhookSubscription.dept == caller.dept
        system = caller.claims.get("system")
        return sa.and_(own, WebhookSubscription.system == system) if isinstance(system, str) else own
    return sa.false()
