-- +goose Up
CREATE TABLE courses (id bigserial PRIMARY KEY, title text NOT NULL);
-- +goose Down
DROP TABLE courses;
