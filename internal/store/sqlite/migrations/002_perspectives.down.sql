-- 002_perspectives down.
DROP TABLE perspectives;
