-- The BI serving database beside Airflow's metadata database (docker-compose only).
CREATE DATABASE xrec_serving OWNER airflow;
