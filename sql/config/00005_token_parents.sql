-- +goose Up
-- A token minted by another token records its parent: revoking the parent deletes its
-- children (and theirs), so a token can never outlive the token that made it.
ALTER TABLE api_tokens ADD COLUMN parent_id uuid REFERENCES api_tokens (id) ON DELETE CASCADE;
CREATE INDEX api_tokens_parent ON api_tokens (parent_id);

-- +goose Down
DROP INDEX api_tokens_parent;
ALTER TABLE api_tokens DROP COLUMN parent_id;
