-- 013_approved_waiting: the issuance sweep lists the approved orders that
-- wait for their certificate, not those whose issuance failed for good
-- (an error text, waiting for an operator): filtered in the query and in
-- its index, so that a thousand parked orders cannot hide a fresh one
-- from the sweep.
DROP INDEX orders_approved_created;
CREATE INDEX orders_approved_created ON orders (created_at, id) WHERE status = 'approved' AND error = '';
-- An approved order may carry the error a CAA recheck left when it sent the
-- order back to pending ("issuance waited: …"), which an approval did not
-- clear before this version: it waits for its certificate, not for an
-- operator.
UPDATE orders SET error = '' WHERE status = 'approved' AND error LIKE 'issuance waited:%';
