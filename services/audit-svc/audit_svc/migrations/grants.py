"""What audit-svc's run-time role may do, granted by `python -m govdata_shared.migrations audit_svc
--service-role <role>` after migrating as the owner (README "Append-only in production").

The log is append-only twice over: the triggers of migration 0002 refuse UPDATE, DELETE and TRUNCATE for
everyone, and a role that does not own the table can neither hold those privileges (never granted here) nor
switch the triggers off (only the owner can). The chain head is updated in place as the chain grows, never
deleted. The event bookkeeping tables are the consumer's and the (unused) outbox relay's working state.
"""

SERVICE_GRANTS = [
    "GRANT USAGE ON SCHEMA public TO {role}",
    "GRANT SELECT, INSERT ON audit_log TO {role}",
    "GRANT SELECT, UPDATE ON audit_chain_head TO {role}",
    # Access records: never updated (a trigger refuses it), deleted a batch at a time after retention.
    "GRANT SELECT, INSERT, DELETE ON access_record TO {role}",
    "GRANT SELECT, INSERT, UPDATE ON access_batch TO {role}",
    # 第三十九条 work reports: a department replaces its text or attachment; none is ever deleted.
    "GRANT SELECT, INSERT, UPDATE ON work_report TO {role}",
    # 第三十八条 evaluation: a configuration change is a new version and a publication is written once; the
    # bureau's 改进意见 are replaced until the year is published.
    "GRANT SELECT, INSERT ON evaluation_config, evaluation_publication TO {role}",
    "GRANT SELECT, INSERT, UPDATE ON evaluation_opinion TO {role}",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON outbox, processed_event, failed_event TO {role}",
    "GRANT USAGE ON SEQUENCE outbox_seq_seq, failed_event_id_seq TO {role}",
    "GRANT SELECT ON alembic_version TO {role}",
]
