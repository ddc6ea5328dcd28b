-- The payment UPDATE of the worker (status, failure_reason, updated_at of rows its batch has
-- just inserted PENDING) made a HOT update (docs/architecture.md#the-workers-batch): no index
-- may contain status, and each page keeps room for a second version of every row on it.
-- (No semicolon or quote in these comments: the schema engine splits the file on semicolons.)
-- Step 1 of 3, one statement per file as CONCURRENTLY must run outside a transaction: the index
-- on sale_id, built without blocking the worker.

-- CreateIndex
CREATE INDEX CONCURRENTLY IF NOT EXISTS "orders_sale_id_idx" ON "orders"("sale_id");
