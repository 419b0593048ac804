"""What notify-svc's run-time role may do, granted by `python -m govdata_shared.migrations notify_svc
--service-role <role>` after migrating as the owner (deploy/k8s/README.md "Secrets").

The role owns nothing: it cannot change the schema, and holds on each table only what the running code does to
it. Nothing is ever deleted: steps close, subscriptions are disabled, deliveries end in a status. Every
`SELECT … FOR UPDATE` needs UPDATE as well.
"""

SERVICE_GRANTS = [
    "GRANT USAGE ON SCHEMA public TO {role}",
    # Open steps (待办) and the last event version applied per aggregate, kept from the services' events.
    "GRANT SELECT, INSERT, UPDATE ON open_step, step_aggregate TO {role}",
    # Names of resources and departments, kept from their events.
    "GRANT SELECT, INSERT, UPDATE ON known_resource, known_department TO {role}",
    # A message is written once; reading it is a row of its own.
    "GRANT SELECT, INSERT ON notify_message, notify_message_read TO {role}",
    "GRANT SELECT, INSERT, UPDATE ON webhook_subscription, webhook_delivery TO {role}",
    # The outbox relay marks sent rows and prunes old ones.
    "GRANT SELECT, INSERT, UPDATE, DELETE ON outbox TO {role}",
    "GRANT SELECT, INSERT ON processed_event TO {role}",
    # Written only; SELECT of the key because the insert reads it back (INSERT … RETURNING id).
    "GRANT SELECT (id), INSERT ON failed_event TO {role}",
    "GRANT USAGE ON SEQUENCE outbox_seq_seq, failed_event_id_seq, webhook_delivery_id_seq TO {role}",
    # Which revision the database is at may be read, never moved: only the owner's migrations write it.
    "GRANT SELECT ON alembic_version TO {role}",
]
