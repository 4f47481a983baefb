-- 013_approved_waiting: the issuance sweep lists the approved orders that
-- wait for their certificate, not those whose issuance failed for good
-- (an error text, waiting for an operator): filtered in the query and in
-- its index, so that a thousand parked orders cannot hide a fresh one
-- from the sweep.
DROP INDEX orders_approved_created;
CREATE INDEX orders_approved_created ON orders (created_at, id) WHERE status = 'approved' AND error = '';
