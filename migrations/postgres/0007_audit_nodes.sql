-- The PostgreSQL twin of migrations/sqlite/0007_audit_nodes.sql: the roots
-- of the audit log's complete, aligned subtrees of 256 leaves and above
-- (hedui_audit::nodes), so that a proof over a log of millions of entries
-- reads a few dozen hashes instead of every leaf. `node_id` is the level in
-- the top 16 bits and the subtree's index below. The rows are derived from
-- the leaves: one that was altered makes the proofs that use it fail
-- against the signed checkpoint, so it hides nothing; they are still never
-- changed or removed.
CREATE TABLE audit_nodes (
    node_id  BIGINT PRIMARY KEY NOT NULL,
    hash     BYTEA NOT NULL
);

CREATE TRIGGER audit_nodes_append_only BEFORE UPDATE OR DELETE ON audit_nodes
    FOR EACH ROW EXECUTE FUNCTION audit_append_only('audit nodes');
CREATE TRIGGER audit_nodes_no_truncate BEFORE TRUNCATE ON audit_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only('audit nodes');
