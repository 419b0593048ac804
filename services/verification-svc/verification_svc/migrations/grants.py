"""What verification-svc's run-time role may do, granted by `python -m govdata_shared.migrations verification_svc
--service-role <role>` after migrating as the owner (deploy/k8s/README.md "Secrets").

The role owns nothing: it cannot change the schema, and holds on each table only what the running code does to
it. A correction request changes status and is never deleted. Every `SELECT … FOR UPDATE` needs UPDATE as well.
"""

SERVICE_GRANTS = [
    "GRANT USAGE ON SCHEMA public TO {role}",
    # The projection of the catalog's resources, kept from their events.
    "GRANT SELECT, INSERT, UPDATE ON verifiable_resource TO {role}",
    "GRANT SELECT, INSERT, UPDATE ON correction_request TO {role}",
    # Evidence files are kept as uploaded: never replaced nor deleted.
    "GRANT SELECT, INSERT ON correction_evidence TO {role}",
    # The outbox relay marks sent rows and prunes old ones.
    "GRANT SELECT, INSERT, UPDATE, DELETE ON outbox TO {role}",
    "GRANT SELECT, INSERT ON processed_event TO {role}",
    # Written only; SELECT of the key because the insert reads it back (INSERT … RETURNING id).
    "GRANT SELECT (id), INSERT ON failed_event TO {role}",
    "GRANT USAGE ON SEQUENCE outbox_seq_seq, failed_event_id_seq TO {role}",
    # Which revision the database is at may be read, never moved: only the owner's migrations write it.
    # Advanced by the tables' triggers in the writing transaction; read by every listing (govdata_shared.pages).
    "GRANT SELECT, UPDATE ON data_version TO {role}",
    "GRANT SELECT ON alembic_version TO {role}",
]
