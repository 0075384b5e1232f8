-- CreateIndex
CREATE INDEX "ImageGeneration_status_failedAt_idx" ON "ImageGeneration"("status", "failedAt");

-- CreateIndex
CREATE UNIQUE INDEX "ImageGeneration_createdAt_id_key" ON "ImageGeneration"("createdAt", "id");

-- CreateIndex
CREATE UNIQUE INDEX "StorageObject_createdAt_id_key" ON "StorageObject"("createdAt", "id");

-- AddForeignKey
ALTER TABLE "ImageGeneration" ADD CONSTRAINT "ImageGeneration_sourceObjectId_fkey" FOREIGN KEY ("sourceObjectId") REFERENCES "StorageObject"("id") ON DELETE SET NULL ON UPDATE CASCADE;
