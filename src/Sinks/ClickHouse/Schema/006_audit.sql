-- Siyu ClickHouse schema, version 6: the API's audit log, and created_at on profiles.
--
-- audit_log: every erasure (who, when, which customer, outcome) and every denied request (401,
-- 403, 429). No personal data beyond the pseudonymous customer id: no phone, query string, key
-- or client address. Erasures are inserted before the DELETE answers; denials shortly after.

CREATE TABLE IF NOT EXISTS {{database}}.audit_log
(
    at DateTime64(3, 'UTC'),
    action LowCardinality(String),
    outcome LowCardinality(String),
    status UInt16,
    principal String,
    auth_method LowCardinality(String),
    role LowCardinality(String),
    method LowCardinality(String),
    route String,
    customer_id String,
    detail String,
    node String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (at, action);

-- When the customer was first seen (contract extension: profiles carry created_at); after a
-- merge, the earliest of the customers merged.
ALTER TABLE {{database}}.profiles ADD COLUMN IF NOT EXISTS created_at Nullable(DateTime64(3, 'UTC')) AFTER updated_at;
