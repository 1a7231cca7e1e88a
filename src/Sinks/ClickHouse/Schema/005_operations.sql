-- Siyu ClickHouse schema, version 5: private-domain operations (service timers, reminders, the
-- contact cap). One row per notice a customer decided, keyed by its deterministic notice_id
-- (a notice published twice after a crash is one row once merged; read with FINAL or argMax):
--   service_due            a task became due and was announced to its guide
--   service_outcome        a task closed: outcome on_time | late | missed (3-3-3 compliance)
--   guide_touch            a guide-initiated touch (message_sent), with the customer's touches in
--                          the contact window as known when it was processed (events may arrive
--                          out of order: count from the rows for exact figures) and the cap in force
--   churn_risk             the customer became at_risk or lapsed (state)
--   birthday_reminder / anniversary_reminder
-- Absent values are empty strings, 0, or NULL for instants.

CREATE TABLE IF NOT EXISTS {{database}}.operations
(
    notice_id String,
    kind LowCardinality(String),
    at DateTime64(3, 'UTC'),
    customer_id String,
    guide_id String,
    task LowCardinality(String),
    order_id String,
    due_at Nullable(DateTime64(3, 'UTC')),
    done_at Nullable(DateTime64(3, 'UTC')),
    outcome LowCardinality(String),
    state LowCardinality(String),
    touches_in_window UInt16,
    contact_cap UInt16
)
ENGINE = ReplacingMergeTree
ORDER BY (kind, toDate(at), notice_id);
