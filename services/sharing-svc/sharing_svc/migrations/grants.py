"""What sharing-svc's run-time role may do, granted by `python -m govdata_shared.migrations sharing_svc
--service-role <role>` after migrating as the owner (deploy/k8s/README.md "Secrets").

The role owns nothing: it cannot change the schema, and holds on each table only what the running code does to
it. Nothing is ever deleted: requests, grants and disputes change status, decisions and grant changes are a
record written once. Every `SELECT … FOR UPDATE` needs UPDATE as well.
"""

SERVICE_GRANTS = [
    "GRANT USAGE ON SCHEMA public TO {role}",
    # Projections of the catalog's resources and the gateway's application systems, kept from their events.
    "GRANT SELECT, INSERT, UPDATE ON catalog_resource, application_system TO {role}",
    "GRANT SELECT, INSERT, UPDATE ON share_request, interface_grant, dispute TO {role}",
    # The 需求单: a new upload replaces the request's earlier one.
    "GRANT SELECT, INSERT, UPDATE ON request_attachment TO {role}",
    "GRANT SELECT, INSERT ON request_decision TO {role}",
    # Written only; SELECT of the key because the ORM reads it back (INSERT … RETURNING id).
    "GRANT SELECT (id), INSERT ON grant_change TO {role}",
    # The outbox relay marks sent rows and prunes old ones.
    "GRANT SELECT, INSERT, UPDATE, DELETE ON outbox TO {role}",
    "GRANT SELECT, INSERT ON processed_event TO {role}",
    # Written only; SELECT of the key because the insert reads it back (INSERT … RETURNING id).
    "GRANT SELECT (id), INSERT ON failed_event TO {role}",
    "GRANT USAGE ON SEQUENCE outbox_seq_seq, failed_event_id_seq, request_decision_id_seq, grant_change_id_seq"
    " TO {role}",
    # Which revision the database is at may be read, never moved: only the owner's migrations write it.
    # Advanced by the tables' triggers in the writing transaction; read by every listing (govdata_shared.pages).
    "GRANT SELECT, UPDATE ON data_version TO {role}",
    "GRANT SELECT ON alembic_version TO {role}",
]
