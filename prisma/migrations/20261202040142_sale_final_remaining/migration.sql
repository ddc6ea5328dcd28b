-- AlterTable
ALTER TABLE "sales" ADD COLUMN     "final_remaining" INTEGER;
