-- +goose Up
-- A long rewrite in one transaction (the tests stop it with SIGTERM).
CREATE TABLE rewritten (id int);
SELECT pg_sleep(120);

-- +goose Down
DROP TABLE rewritten;
