-- The payment UPDATE of the worker (status, failure_reason, updated_at of rows its batch has
-- just inserted PENDING) made a HOT update (docs/architecture.md#the-workers-batch): no index
-- may contain status, and each page keeps room for a second version of every row on it.
-- (No semicolon or quote in these comments: the schema engine splits the file on semicolons.)
-- Step 3 of 3, not expressible in schema.prisma (see the comment on model Order): an insert fills
-- a page only half, so the UPDATE finds room for the new versions on the same page. Applies to
-- the pages written from now on, the existing ones keep their layout until rewritten.
ALTER TABLE "orders" SET (fillfactor = 50);
