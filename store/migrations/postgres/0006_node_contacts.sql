-- What the store last heard from each node of its internal API: when, and the readiness and
-- applied revision the node reported. Written at most every few seconds per node (by whichever
-- store process the node reached); read by GET /v1/admin/nodes.
CREATE TABLE node_contacts (
    fingerprint TEXT PRIMARY KEY,
    zone        TEXT,
    last_seen   BIGINT NOT NULL,
    status      TEXT,
    applied     BIGINT
);
