-- Siyu ClickHouse schema, version 2: per-minute aggregates read by the dashboards and the API,
-- each an AggregatingMergeTree fed by a materialized view over attributed_sales or touches.
--
-- Exactness. A materialized view sees each INSERT block as it arrives, before (and regardless
-- of) the ReplacingMergeTree's dedup, so a row inserted twice would be aggregated twice. Hence:
--  * Counts are uniqExact states: orders and refunds count distinct event_ids, buyers distinct
--    customer_ids. A uniqExact state is idempotent, so these stay exact even if a row is
--    inserted twice.
--  * Money (revenue, refund_amount) and units are sums, which are not idempotent. They are exact
--    because ClickHouseSink inserts each event_id at most once: before every insert attempt
--    (retries included) it removes ids already stored in attributed_sales, ids inside its recent
--    window and repeats within the batch. The lookup survives restarts, so the Kafka redelivery
--    after a crash is covered too. What is NOT covered: two sink processes inserting the same
--    event_id at the same moment (only possible during a consumer-group rebalance) or rows
--    inserted into attributed_sales by something other than the sink. Queries that must be
--    exact even then read attributed_sales FINAL (see SalesQueries).
--  * Read with sum(...) for SimpleAggregateFunction columns and uniqExactMerge(...) for states,
--    always GROUP BY: rows for the same key may sit in unmerged parts.
-- Minutes are UTC-aligned (toStartOfMinute), so they are the same minute in every time zone.

CREATE TABLE IF NOT EXISTS {{database}}.campaign_sales_minute
(
    campaign_id String,
    minute DateTime('UTC'),
    campaign_type LowCardinality(String),
    rule LowCardinality(String),
    store_id LowCardinality(String),
    group_id String,
    revenue SimpleAggregateFunction(sum, Decimal(38, 2)),
    refund_amount SimpleAggregateFunction(sum, Decimal(38, 2)),
    orders AggregateFunction(uniqExact, String),
    refunds AggregateFunction(uniqExact, String),
    buyers AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (campaign_id, minute, campaign_type, rule, store_id, group_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.campaign_sales_minute_mv
TO {{database}}.campaign_sales_minute
AS SELECT
    campaign_id,
    toStartOfMinute(toDateTime(occurred_at, 'UTC')) AS minute,
    campaign_type,
    rule,
    store_id,
    group_id,
    sum(amount) AS revenue,
    sumIf(-amount, amount < 0) AS refund_amount,
    uniqExactIfState(event_id, amount >= 0) AS orders,
    uniqExactIfState(event_id, amount < 0) AS refunds,
    uniqExactIfState(customer_id, amount >= 0) AS buyers
FROM {{database}}.attributed_sales
WHERE campaign_id != ''
GROUP BY campaign_id, minute, campaign_type, rule, store_id, group_id;

-- Units and revenue per sku of a campaign: sell-through against campaigns.stock, top SKUs.
CREATE TABLE IF NOT EXISTS {{database}}.campaign_sku_minute
(
    campaign_id String,
    minute DateTime('UTC'),
    sku String,
    units SimpleAggregateFunction(sum, Int64),
    revenue SimpleAggregateFunction(sum, Decimal(38, 2))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (campaign_id, minute, sku);

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.campaign_sku_minute_mv
TO {{database}}.campaign_sku_minute
AS SELECT
    campaign_id,
    toStartOfMinute(toDateTime(occurred_at, 'UTC')) AS minute,
    tupleElement(item, 'sku') AS sku,
    sum(toInt64(tupleElement(item, 'qty'))) AS units,
    sum(tupleElement(item, 'qty') * tupleElement(item, 'price')) AS revenue
FROM {{database}}.attributed_sales
ARRAY JOIN items AS item
WHERE campaign_id != ''
GROUP BY campaign_id, minute, sku;

CREATE TABLE IF NOT EXISTS {{database}}.group_sales_minute
(
    group_id String,
    minute DateTime('UTC'),
    store_id LowCardinality(String),
    rule LowCardinality(String),
    revenue SimpleAggregateFunction(sum, Decimal(38, 2)),
    refund_amount SimpleAggregateFunction(sum, Decimal(38, 2)),
    orders AggregateFunction(uniqExact, String),
    refunds AggregateFunction(uniqExact, String),
    buyers AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (group_id, minute, store_id, rule);

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.group_sales_minute_mv
TO {{database}}.group_sales_minute
AS SELECT
    group_id,
    toStartOfMinute(toDateTime(occurred_at, 'UTC')) AS minute,
    store_id,
    rule,
    sum(amount) AS revenue,
    sumIf(-amount, amount < 0) AS refund_amount,
    uniqExactIfState(event_id, amount >= 0) AS orders,
    uniqExactIfState(event_id, amount < 0) AS refunds,
    uniqExactIfState(customer_id, amount >= 0) AS buyers
FROM {{database}}.attributed_sales
WHERE group_id != ''
GROUP BY group_id, minute, store_id, rule;

-- payment is in the key so the guide leaderboard can show the wecom_collect credit.
CREATE TABLE IF NOT EXISTS {{database}}.guide_sales_minute
(
    guide_id String,
    minute DateTime('UTC'),
    store_id LowCardinality(String),
    rule LowCardinality(String),
    payment LowCardinality(String),
    revenue SimpleAggregateFunction(sum, Decimal(38, 2)),
    refund_amount SimpleAggregateFunction(sum, Decimal(38, 2)),
    orders AggregateFunction(uniqExact, String),
    refunds AggregateFunction(uniqExact, String),
    buyers AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (guide_id, minute, store_id, rule, payment);

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.guide_sales_minute_mv
TO {{database}}.guide_sales_minute
AS SELECT
    guide_id,
    toStartOfMinute(toDateTime(occurred_at, 'UTC')) AS minute,
    store_id,
    rule,
    payment,
    sum(amount) AS revenue,
    sumIf(-amount, amount < 0) AS refund_amount,
    uniqExactIfState(event_id, amount >= 0) AS orders,
    uniqExactIfState(event_id, amount < 0) AS refunds,
    uniqExactIfState(customer_id, amount >= 0) AS buyers
FROM {{database}}.attributed_sales
WHERE guide_id != ''
GROUP BY guide_id, minute, store_id, rule, payment;

-- Every sale (campaign or not): group-attributed (rule != 'organic') vs organic per store,
-- private domain vs not, by channel.
CREATE TABLE IF NOT EXISTS {{database}}.store_sales_minute
(
    store_id LowCardinality(String),
    minute DateTime('UTC'),
    rule LowCardinality(String),
    channel LowCardinality(String),
    in_private_domain Bool,
    revenue SimpleAggregateFunction(sum, Decimal(38, 2)),
    refund_amount SimpleAggregateFunction(sum, Decimal(38, 2)),
    orders AggregateFunction(uniqExact, String),
    refunds AggregateFunction(uniqExact, String),
    buyers AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (store_id, minute, rule, channel, in_private_domain);

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.store_sales_minute_mv
TO {{database}}.store_sales_minute
AS SELECT
    store_id,
    toStartOfMinute(toDateTime(occurred_at, 'UTC')) AS minute,
    rule,
    channel,
    in_private_domain,
    sum(amount) AS revenue,
    sumIf(-amount, amount < 0) AS refund_amount,
    uniqExactIfState(event_id, amount >= 0) AS orders,
    uniqExactIfState(event_id, amount < 0) AS refunds,
    uniqExactIfState(customer_id, amount >= 0) AS buyers
FROM {{database}}.attributed_sales
GROUP BY store_id, minute, rule, channel, in_private_domain;

-- Campaign participation (solitaire_join, flash_claim, coupon_claim...): only uniqExact states,
-- so exact even when a touch is inserted twice.
CREATE TABLE IF NOT EXISTS {{database}}.campaign_touch_minute
(
    campaign_id String,
    minute DateTime('UTC'),
    type LowCardinality(String),
    group_id String,
    touches AggregateFunction(uniqExact, String),
    participants AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (campaign_id, minute, type, group_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.campaign_touch_minute_mv
TO {{database}}.campaign_touch_minute
AS SELECT
    campaign_id,
    toStartOfMinute(toDateTime(occurred_at, 'UTC')) AS minute,
    type,
    group_id,
    uniqExactState(event_id) AS touches,
    uniqExactState(customer_id) AS participants
FROM {{database}}.touches
WHERE campaign_id != ''
GROUP BY campaign_id, minute, type, group_id;

-- What guides do (message_sent, service_done, contact_added...): the leaderboard's activity.
CREATE TABLE IF NOT EXISTS {{database}}.guide_touch_minute
(
    guide_id String,
    minute DateTime('UTC'),
    type LowCardinality(String),
    store_id LowCardinality(String),
    touches AggregateFunction(uniqExact, String),
    customers AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (guide_id, minute, type, store_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.guide_touch_minute_mv
TO {{database}}.guide_touch_minute
AS SELECT
    guide_id,
    toStartOfMinute(toDateTime(occurred_at, 'UTC')) AS minute,
    type,
    store_id,
    uniqExactState(event_id) AS touches,
    uniqExactState(customer_id) AS customers
FROM {{database}}.touches
WHERE guide_id != ''
GROUP BY guide_id, minute, type, store_id;
