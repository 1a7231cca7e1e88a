-- Siyu ClickHouse schema, version 1: the base tables (contract: "ClickHouse (database siyu)").
-- Applied by SchemaMigrator; {{database}} is replaced by the configured database (default siyu).
-- Every statement is idempotent (IF NOT EXISTS) and runs on chDB 26.x and ClickHouse server 24.x+.
-- Never edit an applied file: add the next numbered file instead (the migrator checks checksums).
--
-- How totals stay exact under at-least-once delivery (see also 002_minute_views.sql):
--  * attributed_sales is a ReplacingMergeTree whose sorting key is (toDate(occurred_at), event_id).
--    occurred_at is part of the event itself, so a redelivered event has the same key and the two
--    copies collapse into one row. Merges happen in the background at any time, so every query
--    that reads the table directly uses FINAL (exact whether or not the parts were merged yet).
--  * The sink (ClickHouseSink) never inserts an event_id the table already holds: before every
--    insert attempt it drops duplicates within the batch, ids in its recent window, and ids that
--    a lookup finds already stored. That is what keeps the per-minute materialized views exact.

CREATE TABLE IF NOT EXISTS {{database}}.attributed_sales
(
    event_id String,
    order_id String,
    occurred_at DateTime64(3, 'UTC'),
    customer_id String,
    channel LowCardinality(String),
    store_id LowCardinality(String),
    -- yuan; a refund is a row of its own with a negative amount and its order's attribution
    amount Decimal(18, 2),
    campaign_id String,
    campaign_type LowCardinality(String),
    -- direct | last_touch | group_assisted | organic
    rule LowCardinality(String),
    group_id String,
    guide_id String,
    in_private_domain Bool,
    -- additive columns (contract: add fields freely): the order's payment method, which tells a
    -- guide's wecom_collect credit apart, and the units sold (negative qty on a refund row)
    payment LowCardinality(String) DEFAULT '',
    items Array(Tuple(sku String, qty Int32, price Decimal(18, 2)))
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (toDate(occurred_at), event_id);

-- Group and campaign interactions (solitaire_join, flash_claim, message_sent, service_done,
-- contact_added, group_join...). Same dedup key as attributed_sales; the views over it count
-- with uniqExact, so they are exact even if a touch is inserted twice.
CREATE TABLE IF NOT EXISTS {{database}}.touches
(
    event_id String,
    occurred_at DateTime64(3, 'UTC'),
    customer_id String,
    type LowCardinality(String),
    channel LowCardinality(String),
    store_id LowCardinality(String),
    campaign_id String,
    group_id String,
    guide_id String,
    skus Array(String)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (toDate(occurred_at), event_id);

-- Latest profile per customer: the highest version wins (read with FINAL). An erased customer
-- (PIPL) is written once more with is_deleted = 1 and a higher version, which FINAL hides and
-- merges remove.
CREATE TABLE IF NOT EXISTS {{database}}.profiles
(
    customer_id String,
    version UInt64,
    updated_at DateTime64(3, 'UTC'),
    in_private_domain Bool,
    groups Array(String),
    guide_id String,
    -- segment.frequency: low | mid | high; segment.state: new | active | at_risk | lapsed
    frequency LowCardinality(String),
    state LowCardinality(String),
    orders UInt32,
    revenue Decimal(18, 2),
    refunds UInt32,
    refund_amount Decimal(18, 2),
    first_order_at Nullable(DateTime64(3, 'UTC')),
    last_order_at Nullable(DateTime64(3, 'UTC')),
    by_channel Map(String, UInt32),
    tags Map(String, String),
    is_deleted UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY customer_id;

-- Campaign definitions (siyu.campaigns, latest wins): names for the dashboards, stock and skus
-- for sell-through.
CREATE TABLE IF NOT EXISTS {{database}}.campaigns
(
    campaign_id String,
    type LowCardinality(String),
    name String,
    store_id String,
    group_ids Array(String),
    skus Array(String),
    stock Nullable(UInt32),
    starts_at DateTime64(3, 'UTC'),
    ends_at DateTime64(3, 'UTC'),
    attribution_window_hours UInt16,
    version UInt64,
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY campaign_id;
