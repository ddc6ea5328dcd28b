-- The payment UPDATE of the worker (status, failure_reason, updated_at of rows its batch has
-- just inserted PENDING) made a HOT update (docs/architecture.md#the-workers-batch): no index
-- may contain status, and each page keeps room for a second version of every row on it.
-- (No semicolon or quote in these comments: the schema engine splits the file on semicolons.)
-- The new index is built before the old one goes, so the sums per sale always have one. The
-- build holds a SHARE lock on orders: on a large table, run it outside a sale (the worker holds
-- its batches while it waits, nothing is lost).

-- CreateIndex
CREATE INDEX "orders_sale_id_idx" ON "orders"("sale_id");

-- DropIndex
DROP INDEX "orders_sale_id_status_idx";

-- Not expressible in schema.prisma (see the comment on model Order): an insert fills a page only
-- half, so the UPDATE finds room for the new versions on the same page. Applies to the pages
-- written from now on, the existing ones keep their layout until rewritten.
ALTER TABLE "orders" SET (fillfactor = 50);
