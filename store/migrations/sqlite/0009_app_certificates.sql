-- Client-certificate identities for apps (issue 5): a verified TLS client certificate whose
-- SHA-256 fingerprint (of its DER encoding) is bound here authenticates as the app. A fingerprint
-- is bound once: revoking the app sets revoked_at, and the row stays so that the certificate
-- cannot be bound again by mistake.
CREATE TABLE app_certificates (
    fingerprint BLOB PRIMARY KEY,
    app_id      BLOB NOT NULL REFERENCES apps (id),
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX app_certificates_app ON app_certificates (app_id);
