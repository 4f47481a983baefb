-- 007_account_names: an account name names one account. A second account
-- with a name in use (letter case aside) is refused at creation; the index
-- serves that lookup. It is not UNIQUE, so that a database holding
-- duplicates made before still opens.
CREATE INDEX accounts_name ON accounts (name COLLATE NOCASE);
