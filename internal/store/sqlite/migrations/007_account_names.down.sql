DROP INDEX accounts_name;
