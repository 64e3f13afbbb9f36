-- Rampart on PostgreSQL with two roles. Run as a superuser, before `rampart init`:
--   psql -v ON_ERROR_STOP=1 -d rampart -f packaging/postgres/1-roles.sql
-- rampart_owner owns the schema: `rampart init` and `rampart migrate` run as it.
-- rampart_app is what servers run as: no DDL, and no UPDATE, DELETE or TRUNCATE on the tables
-- that hold evidence (see 2-grants.sql). Give both a password (ALTER ROLE ... PASSWORD) or
-- certificate authentication in pg_hba.conf.
CREATE ROLE rampart_owner LOGIN;
CREATE ROLE rampart_app LOGIN;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO rampart_owner;
GRANT USAGE ON SCHEMA public TO rampart_app;
