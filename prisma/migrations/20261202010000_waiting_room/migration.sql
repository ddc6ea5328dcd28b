-- AlterTable
ALTER TABLE "sales" ADD COLUMN     "queue_admit_per_second" INTEGER,
ADD COLUMN     "queue_outstanding_factor" DOUBLE PRECISION,
ADD COLUMN     "queue_token_ttl_s" INTEGER;
