"""What the gateway's run-time role may do in its identity registry, granted by `python -m
govdata_shared.migrations govdata_gateway --service-role <role>` after migrating as the owner
(deploy/k8s/README.md "Secrets").

The role owns nothing: it cannot change the schema, and holds on each table only what the running code does to
it. Registry entries are disabled, never deleted; sign-in state is purged once it can no longer be used. Every
`SELECT … FOR UPDATE` needs UPDATE as well.
"""

SERVICE_GRANTS = [
    "GRANT USAGE ON SCHEMA public TO {role}",
    "GRANT SELECT, INSERT, UPDATE ON department, app_system, client, person TO {role}",
    # The registry's own keys (seed digests, federated usernames): created once, never changed.
    "GRANT SELECT, INSERT ON registry_meta TO {role}",
    # Failed sign-ins per account and source: counted, and forgotten on success or after the lockout.
    "GRANT SELECT, INSERT, UPDATE, DELETE ON auth_failure TO {role}",
    # Login pages, codes, sessions and refresh tokens: advanced or marked used, purged once expired.
    "GRANT SELECT, INSERT, UPDATE, DELETE ON signin_pending, signin_code, signin_session, signin_refresh_token"
    " TO {role}",
    # Federated requests are never changed, only locked (FOR UPDATE needs UPDATE) and deleted when used or expired.
    "GRANT SELECT, INSERT, UPDATE, DELETE ON signin_federated TO {role}",
    # The last TOTP step used per person, so that a code is good once across replicas.
    "GRANT SELECT, INSERT, UPDATE ON signin_totp_use TO {role}",
    # The outbox relay marks sent rows and prunes old ones.
    "GRANT SELECT, INSERT, UPDATE, DELETE ON outbox TO {role}",
    # The shared consumer's bookkeeping, unused today (the projection feed is a plain consumer without it); granted
    # so that consuming through the shared consumer needs no new grant. failed_event is written only, SELECT of
    # its key because the insert reads it back (INSERT … RETURNING id).
    "GRANT SELECT, INSERT ON processed_event TO {role}",
    "GRANT SELECT (id), INSERT ON failed_event TO {role}",
    "GRANT USAGE ON SEQUENCE outbox_seq_seq, failed_event_id_seq TO {role}",
    # Which revision the database is at may be read, never moved: only the owner's migrations write it.
    "GRANT SELECT ON alembic_version TO {role}",
]
