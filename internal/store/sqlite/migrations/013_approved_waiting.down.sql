DROP INDEX orders_approved_created;
CREATE INDEX orders_approved_created ON orders (created_at, id) WHERE status = 'approved';
