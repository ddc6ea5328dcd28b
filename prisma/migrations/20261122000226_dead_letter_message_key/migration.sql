/*
  Warnings:

  - A unique constraint covering the columns `[message_key]` on the table `dead_letters` will be added. If there are existing duplicate values, this will fail.

*/
-- AlterTable
ALTER TABLE "dead_letters" ADD COLUMN     "message_key" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "dead_letters_message_key_key" ON "dead_letters"("message_key");
