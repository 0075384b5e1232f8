-- Workspace features were never written or read: no plan, user or API field used them. Plans list their
-- features on Plan.features.
-- DropTable
DROP TABLE "Feature";
