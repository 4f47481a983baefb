DROP TABLE crl_number;
