-- +goose Up
-- Needs an ACCESS EXCLUSIVE lock on held (the tests hold one elsewhere).
ALTER TABLE held ADD COLUMN note text;

-- +goose Down
ALTER TABLE held DROP COLUMN note;
