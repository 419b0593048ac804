"""What catalog-svc's run-time role may do, granted by `python -m govdata_shared.migrations catalog_svc
--service-role <role>` after migrating as the owner (deploy/k8s/README.md "Secrets").

The role owns nothing: it cannot change the schema, and holds on each table only what the running code does to
it. A resource and its revisions are never deleted (retired and superseded in place); the search index and the
item authorities are rebuilt from the published revision. Every `SELECT … FOR UPDATE` needs UPDATE as well.
"""

SERVICE_GRANTS = [
    "GRANT USAGE ON SCHEMA public TO {role}",
    "GRANT SELECT, INSERT, UPDATE ON resource, resource_revision TO {role}",
    # Replaced whole at each publication and dropped at retirement (第十六条 一数一源).
    "GRANT SELECT, INSERT, DELETE ON item_authority TO {role}",
    # The bureau's permission stands once given: never changed nor withdrawn.
    "GRANT SELECT, INSERT ON authority_overlap TO {role}",
    "GRANT SELECT, INSERT, UPDATE ON update_trigger, demand, responsibility_entry TO {role}",
    "GRANT SELECT, INSERT ON refresh_report TO {role}",
    # Upserted (INSERT … ON CONFLICT DO UPDATE) on every change, deleted when the resource leaves the index.
    "GRANT SELECT, INSERT, UPDATE, DELETE ON resource_search TO {role}",
    # The outbox relay marks sent rows and prunes old ones.
    "GRANT SELECT, INSERT, UPDATE, DELETE ON outbox TO {role}",
    # The shared consumer's bookkeeping: catalog-svc consumes nothing today; granted so that a topic it comes to
    # consume needs no new grant. failed_event is written only, SELECT of its key because the insert reads it
    # back (INSERT … RETURNING id).
    "GRANT SELECT, INSERT ON processed_event TO {role}",
    "GRANT SELECT (id), INSERT ON failed_event TO {role}",
    "GRANT USAGE ON SEQUENCE outbox_seq_seq, failed_event_id_seq TO {role}",
    # Which revision the database is at may be read, never moved: only the owner's migrations write it.
    # Advanced by the tables' triggers in the writing transaction; read by every listing (govdata_shared.pages).
    "GRANT SELECT, UPDATE ON data_version TO {role}",
    "GRANT SELECT ON alembic_version TO {role}",
]
