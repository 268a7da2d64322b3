-- The roots of the audit log's complete, aligned subtrees of 256 leaves and
-- above (hedui_audit::nodes), so that a proof over a log of millions of
-- entries reads a few dozen hashes instead of every leaf. `node_id` is the
-- level in the top 16 bits and the subtree's index below. The rows are
-- derived from the leaves: one that was altered makes the proofs that use
-- it fail against the signed checkpoint, so it hides nothing; they are
-- still never changed or removed.
CREATE TABLE audit_nodes (
    node_id  INTEGER PRIMARY KEY NOT NULL,
    hash     BLOB NOT NULL
) STRICT;

CREATE TRIGGER audit_nodes_append_only_update BEFORE UPDATE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'audit nodes are append-only'); END;
CREATE TRIGGER audit_nodes_append_only_delete BEFORE DELETE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'audit nodes are append-only'); END;
