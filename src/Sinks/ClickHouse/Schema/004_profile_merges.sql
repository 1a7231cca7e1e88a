-- Siyu ClickHouse schema, version 4: merges in the profiles table, so queries by customer follow
-- the survivor (contract: Identity), and the mapping those queries join through.
--
-- A customer absorbed into another publishes one last profile with merged_into set; the survivor's
-- profile lists every customer folded into it in merged_from. Rows of attributed_sales and touches
-- keep the customer_id that was current when the event was processed (they are never rewritten),
-- so a query that groups or counts by customer maps customer_id through customer_survivors:
--     ifNull(m.survivor_id, s.customer_id)  ...  LEFT JOIN siyu.customer_survivors AS m ON m.customer_id = s.customer_id
-- Only live survivors (merged_into = '') contribute, so a chain (a into b, later b into c) maps a
-- and b straight to c.

ALTER TABLE {{database}}.profiles ADD COLUMN IF NOT EXISTS merged_into String DEFAULT '' AFTER customer_id;

ALTER TABLE {{database}}.profiles ADD COLUMN IF NOT EXISTS merged_from Array(String) DEFAULT [] AFTER merged_into;

CREATE VIEW IF NOT EXISTS {{database}}.customer_survivors AS
SELECT absorbed AS customer_id, any(survivor) AS survivor_id
FROM (
    SELECT customer_id AS survivor, merged_from
    FROM {{database}}.profiles FINAL
    WHERE merged_into = '' AND is_deleted = 0
)
ARRAY JOIN merged_from AS absorbed
GROUP BY absorbed;
