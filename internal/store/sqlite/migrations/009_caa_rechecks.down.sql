DROP TABLE caa_rechecks;
