-- Fails half-way: the first statement must be rolled back with the second.
-- +goose Up
ALTER TABLE courses ADD COLUMN level int;
ALTER TABLE no_such_table ADD COLUMN x int;
-- +goose Down
ALTER TABLE courses DROP COLUMN level;
