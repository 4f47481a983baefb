DROP TABLE dcv_meta;
