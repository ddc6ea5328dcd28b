-- The payment UPDATE of the worker (status, failure_reason, updated_at of rows its batch has
-- just inserted PENDING) made a HOT update (docs/architecture.md#the-workers-batch): no index
-- may contain status, and each page keeps room for a second version of every row on it.
-- (No semicolon or quote in these comments: the schema engine splits the file on semicolons.)
-- Step 2 of 3: the index with status goes once the one on sale_id serves the sums per sale.

-- DropIndex
DROP INDEX CONCURRENTLY IF EXISTS "orders_sale_id_status_idx";
