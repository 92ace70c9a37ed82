-- Expand: a nullable column old code ignores; a later migration backfills it.
-- +goose Up
ALTER TABLE courses ADD COLUMN language text;
SELECT pg_sleep(1);
-- +goose Down
ALTER TABLE courses DROP COLUMN language;
