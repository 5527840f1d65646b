-- datalakehouse_extras 1.0: publish/subscribe-style logical replication for
-- the owner of a database, without a superuser account.
--
-- Every function is SECURITY DEFINER and owned by the superuser that ran this
-- script (the bootstrap superuser when a database owner installs the trusted
-- extension), so every function guards itself: the caller must be the
-- database's owner (or a member of that role) or a superuser, names are
-- checked, identifiers reach SQL only through format('%I') and values only
-- through format('%L'). Every function runs with search_path = pg_catalog,
-- pg_temp and names everything else by its schema, so no object of the caller
-- can stand in for one of PostgreSQL's or of this extension.

\echo Use "CREATE EXTENSION datalakehouse_extras" to load this file. \quit

-- Created here rather than by CREATE EXTENSION (see the control file): the
-- superuser running this script owns it, and an existing schema of that name,
-- which somebody else may own, makes the installation fail.
CREATE SCHEMA datalakehouse_extras;
REVOKE ALL ON SCHEMA datalakehouse_extras FROM PUBLIC;

-- What this extension created, so that its functions act on nothing else.
-- object_id pins the record to the object: a record left behind by an
-- object dropped by other means never vouches for a new one of that name.
CREATE TABLE datalakehouse_extras.managed_objects (
    kind pg_catalog.text NOT NULL CHECK (kind IN ('publication', 'subscription')),
    name pg_catalog.name NOT NULL,
    object_id pg_catalog.oid NOT NULL,
    created_by pg_catalog.name NOT NULL,
    created_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (kind, name)
);
REVOKE ALL ON datalakehouse_extras.managed_objects FROM PUBLIC;

------------------------------------------------------------------------------
-- Guards (private helpers, except assert_manager)
------------------------------------------------------------------------------

-- session_user, not current_user: inside a SECURITY DEFINER function
-- current_user is the superuser that owns it.
CREATE FUNCTION datalakehouse_extras.assert_manager()
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    database_owner pg_catalog.oid;
BEGIN
    SELECT d.datdba INTO database_owner
      FROM pg_catalog.pg_database d
     WHERE d.datname = pg_catalog.current_database();
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                WHERE r.rolname = session_user AND r.rolsuper) THEN
        RETURN;
    END IF;
    IF pg_catalog.pg_has_role(session_user, database_owner, 'MEMBER') THEN
        RETURN;
    END IF;
    RAISE EXCEPTION 'role "%" may not manage replication in database "%"',
            session_user, pg_catalog.current_database()
        USING ERRCODE = 'insufficient_privilege',
              HINT = pg_catalog.format(
                  'Only the owner of database %I (%I), roles granted membership in it, and superusers may call datalakehouse_extras functions.',
                  pg_catalog.current_database(), pg_catalog.pg_get_userbyid(database_owner));
END
$function$;

-- A name longer than 63 bytes would be truncated silently by PostgreSQL, and
-- the object created would not carry the name that was checked and recorded.
CREATE FUNCTION datalakehouse_extras.check_name(value pg_catalog.text, argument pg_catalog.text)
RETURNS pg_catalog.name
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
BEGIN
    IF value IS NULL OR value = '' THEN
        RAISE EXCEPTION '% must be a non-empty name', argument
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF pg_catalog.octet_length(value) > 63 THEN
        RAISE EXCEPTION '% is % bytes long; PostgreSQL names hold at most 63 bytes',
                argument, pg_catalog.octet_length(value)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'PostgreSQL would truncate a longer name, and the object would not carry the name asked for.';
    END IF;
    RETURN value::pg_catalog.name;
END
$function$;

-- The keyword = value pairs of a libpq connection string, in order, parsed
-- as libpq parses them: whitespace separates pairs, a value is either bare
-- or single-quoted, and a backslash takes the next character literally.
CREATE FUNCTION datalakehouse_extras.connection_options(connection pg_catalog.text)
RETURNS TABLE(ordinal integer, keyword pg_catalog.text, value pg_catalog.text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    spaces constant pg_catalog.text := E' \t\n\r\f' || pg_catalog.chr(11);
    backslash constant pg_catalog.text := E'\\';
    quote constant pg_catalog.text := pg_catalog.chr(39);
    total constant integer := pg_catalog.length(connection);
    i integer := 1;
    c pg_catalog.text;
    k pg_catalog.text;
    v pg_catalog.text;
    n integer := 0;
BEGIN
    LOOP
        WHILE i <= total
              AND pg_catalog.strpos(spaces, pg_catalog.substr(connection, i, 1)) > 0 LOOP
            i := i + 1;
        END LOOP;
        EXIT WHEN i > total;

        k := '';
        WHILE i <= total LOOP
            c := pg_catalog.substr(connection, i, 1);
            EXIT WHEN c = '=' OR pg_catalog.strpos(spaces, c) > 0;
            k := k || c;
            i := i + 1;
        END LOOP;
        WHILE i <= total
              AND pg_catalog.strpos(spaces, pg_catalog.substr(connection, i, 1)) > 0 LOOP
            i := i + 1;
        END LOOP;
        -- The messages never quote the text: a malformed string may carry a password.
        IF k = '' OR i > total
           OR pg_catalog.substr(connection, i, 1) <> '=' THEN
            RAISE EXCEPTION 'connection must be a list of keyword = value pairs'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        i := i + 1;
        WHILE i <= total
              AND pg_catalog.strpos(spaces, pg_catalog.substr(connection, i, 1)) > 0 LOOP
            i := i + 1;
        END LOOP;

        v := '';
        IF i <= total AND pg_catalog.substr(connection, i, 1) = quote THEN
            i := i + 1;
            LOOP
                IF i > total THEN
                    RAISE EXCEPTION 'connection has an unterminated quoted value'
                        USING ERRCODE = 'invalid_parameter_value';
                END IF;
                c := pg_catalog.substr(connection, i, 1);
                i := i + 1;
                IF c = backslash THEN
                    IF i <= total THEN
                        v := v || pg_catalog.substr(connection, i, 1);
                        i := i + 1;
                    END IF;
                ELSIF c = quote THEN
                    EXIT;
                ELSE
                    v := v || c;
                END IF;
            END LOOP;
        ELSE
            WHILE i <= total LOOP
                c := pg_catalog.substr(connection, i, 1);
                i := i + 1;
                EXIT WHEN pg_catalog.strpos(spaces, c) > 0;
                IF c = backslash THEN
                    IF i <= total THEN
                        v := v || pg_catalog.substr(connection, i, 1);
                        i := i + 1;
                    END IF;
                ELSE
                    v := v || c;
                END IF;
            END LOOP;
        END IF;

        n := n + 1;
        ordinal := n;
        keyword := k;
        value := v;
        RETURN NEXT;
    END LOOP;
END
$function$;

-- The apply worker connects from the destination server as the subscription's
-- owner, a superuser. Without a password of its own, the connection string
-- could reach that server's own clusters through a trust or peer rule of its
-- pg_hba.conf (Unix-domain sockets above all) and read, with the server's
-- credentials, what the caller could not. PostgreSQL 16 requires the same of
-- subscriptions that non-superusers own (password_required). The options are
-- parsed as libpq parses them, rather than searched for "password=", which a
-- quoted value of another keyword could hold. Returns the passwords given, so
-- that errors can be stripped of them.
CREATE FUNCTION datalakehouse_extras.check_connection(connection pg_catalog.text)
RETURNS pg_catalog.text[]
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    password_value pg_catalog.text;
    host_value pg_catalog.text;
    hostaddr_value pg_catalog.text;
    dbname_value pg_catalog.text;
    entry pg_catalog.text;
    secrets pg_catalog.text[];
BEGIN
    IF connection IS NULL OR connection = '' THEN
        RAISE EXCEPTION 'connection must be a non-empty connection string'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF connection ~* '^[[:space:]]*postgres(ql)?://' THEN
        RAISE EXCEPTION 'connection must be keyword = value pairs, not a URI'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Write it as host=... port=... dbname=... user=... password=...';
    END IF;

    SELECT pg_catalog.array_agg(o.value) INTO secrets
      FROM datalakehouse_extras.connection_options(connection) o
     WHERE o.keyword = 'password' AND o.value <> '';
    -- libpq takes the last of repeated keywords.
    SELECT o.value INTO password_value FROM datalakehouse_extras.connection_options(connection) o
     WHERE o.keyword = 'password' ORDER BY o.ordinal DESC LIMIT 1;
    SELECT o.value INTO host_value FROM datalakehouse_extras.connection_options(connection) o
     WHERE o.keyword = 'host' ORDER BY o.ordinal DESC LIMIT 1;
    SELECT o.value INTO hostaddr_value FROM datalakehouse_extras.connection_options(connection) o
     WHERE o.keyword = 'hostaddr' ORDER BY o.ordinal DESC LIMIT 1;
    SELECT o.value INTO dbname_value FROM datalakehouse_extras.connection_options(connection) o
     WHERE o.keyword = 'dbname' ORDER BY o.ordinal DESC LIMIT 1;

    IF password_value IS NULL OR password_value = '' THEN
        RAISE EXCEPTION 'connection must carry a password'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The subscription connects from the destination server as a superuser: without a password of its own, a trust or peer rule of that server could let it in. Add password=... for the source role.';
    END IF;
    IF coalesce(host_value, '') = '' THEN
        IF coalesce(hostaddr_value, '') = '' OR '' = ANY (pg_catalog.string_to_array(hostaddr_value, ',')) THEN
            RAISE EXCEPTION 'connection must name the source host'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Without host=... the connection would go to a Unix-domain socket of the destination server.';
        END IF;
    ELSE
        FOREACH entry IN ARRAY pg_catalog.string_to_array(host_value, ',') LOOP
            IF entry = '' OR pg_catalog.left(entry, 1) = ANY (ARRAY['/', '@']) THEN
                RAISE EXCEPTION 'connection must reach the source over TCP'
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'An empty host, or one starting with / or @, is a Unix-domain socket of the destination server.';
            END IF;
        END LOOP;
    END IF;
    IF dbname_value ~ '=' OR dbname_value ~* '^postgres(ql)?://' THEN
        RAISE EXCEPTION 'connection must name the source database plainly in dbname'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A dbname holding a connection string would override the other keywords.';
    END IF;
    IF EXISTS (SELECT 1 FROM datalakehouse_extras.connection_options(connection) o
                WHERE o.keyword = ANY (ARRAY['service', 'servicefile'])) THEN
        RAISE EXCEPTION 'connection must not name a service'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A service takes settings from the destination server''s own files; give them as keywords.';
    END IF;
    RETURN coalesce(secrets, ARRAY[]::pg_catalog.text[]);
END
$function$;

CREATE FUNCTION datalakehouse_extras.current_database_id()
RETURNS pg_catalog.oid
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
    SELECT d.oid FROM pg_catalog.pg_database d
     WHERE d.datname = pg_catalog.current_database()
$function$;

-- The subscription of this name, provided it belongs to the current database
-- and this extension created it.
CREATE FUNCTION datalakehouse_extras.managed_subscription(subscription_name pg_catalog.text)
RETURNS pg_catalog.oid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    subscription_id pg_catalog.oid;
    database_id pg_catalog.oid;
BEGIN
    PERFORM datalakehouse_extras.check_name(subscription_name, 'subscription_name'::pg_catalog.text);
    SELECT s.oid, s.subdbid INTO subscription_id, database_id
      FROM pg_catalog.pg_subscription s
     WHERE s.subname = subscription_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'subscription "%" does not exist', subscription_name
            USING ERRCODE = 'undefined_object';
    END IF;
    IF database_id <> datalakehouse_extras.current_database_id() THEN
        RAISE EXCEPTION 'subscription "%" belongs to another database', subscription_name
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Connect to the database the subscription was created in.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM datalakehouse_extras.managed_objects m
                    WHERE m.kind = 'subscription'
                      AND m.name = subscription_name
                      AND m.object_id = subscription_id) THEN
        RAISE EXCEPTION 'subscription "%" was not created through datalakehouse_extras', subscription_name
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Only a superuser may manage it.';
    END IF;
    RETURN subscription_id;
END
$function$;

-- The publication of this name (publications belong to one database),
-- provided this extension created it.
CREATE FUNCTION datalakehouse_extras.managed_publication(publication_name pg_catalog.text)
RETURNS pg_catalog.oid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    publication_id pg_catalog.oid;
BEGIN
    PERFORM datalakehouse_extras.check_name(publication_name, 'publication_name'::pg_catalog.text);
    SELECT p.oid INTO publication_id
      FROM pg_catalog.pg_publication p
     WHERE p.pubname = publication_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'publication "%" does not exist', publication_name
            USING ERRCODE = 'undefined_object';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM datalakehouse_extras.managed_objects m
                    WHERE m.kind = 'publication'
                      AND m.name = publication_name
                      AND m.object_id = publication_id) THEN
        RAISE EXCEPTION 'publication "%" was not created through datalakehouse_extras', publication_name
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Only its owner or a superuser may change it.';
    END IF;
    RETURN publication_id;
END
$function$;

CREATE FUNCTION datalakehouse_extras.record_object(object_kind pg_catalog.text, object_name pg_catalog.text, object_oid pg_catalog.oid)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
BEGIN
    -- A record of the same name can only be stale: creating the object would
    -- have failed had one of that name still existed.
    INSERT INTO datalakehouse_extras.managed_objects AS m (kind, name, object_id, created_by)
    VALUES (object_kind, object_name, object_oid, session_user)
    ON CONFLICT (kind, name) DO UPDATE
       SET object_id = excluded.object_id, created_by = excluded.created_by, created_at = pg_catalog.now();
END
$function$;

-- Whether session_user can read every row of a table: SELECT on it, USAGE on
-- its schema, and no row-level security policy that would hide rows from it
-- (logical decoding publishes every row, policies or not).
CREATE FUNCTION datalakehouse_extras.can_read(relation pg_catalog.oid)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    namespace_id pg_catalog.oid;
    owner_id pg_catalog.oid;
    row_security boolean;
    forced boolean;
BEGIN
    SELECT c.relnamespace, c.relowner, c.relrowsecurity, c.relforcerowsecurity
      INTO namespace_id, owner_id, row_security, forced
      FROM pg_catalog.pg_class c WHERE c.oid = relation;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF NOT pg_catalog.has_table_privilege(session_user, relation, 'SELECT')
       OR NOT pg_catalog.has_schema_privilege(session_user, namespace_id, 'USAGE') THEN
        RETURN false;
    END IF;
    IF NOT row_security THEN
        RETURN true;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                WHERE r.rolname = session_user AND (r.rolsuper OR r.rolbypassrls)) THEN
        RETURN true;
    END IF;
    -- A table's owner is exempt from its policies unless they are forced.
    RETURN NOT forced AND pg_catalog.pg_has_role(session_user, owner_id, 'USAGE');
END
$function$;

-- The tables named by table_names ('table', which is looked up in schema
-- public, or 'schema.table', with SQL's quoting rules), each a permanent
-- ordinary or partitioned table outside the system schemas and this
-- extension's that session_user can read; duplicates once. An unqualified
-- name means public's table because the caller's search_path does not reach
-- a function that sets its own.
CREATE FUNCTION datalakehouse_extras.readable_tables(table_names pg_catalog.text[])
RETURNS pg_catalog.oid[]
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    entry pg_catalog.text;
    parts pg_catalog.text[];
    schema_name pg_catalog.text;
    table_name pg_catalog.text;
    relation pg_catalog.oid;
    kind pg_catalog."char";
    persistence pg_catalog."char";
    found_schema pg_catalog.name;
    relations pg_catalog.oid[] := ARRAY[]::pg_catalog.oid[];
BEGIN
    IF table_names IS NULL OR pg_catalog.cardinality(table_names) = 0 THEN
        RAISE EXCEPTION 'table_names must list at least one table'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOREACH entry IN ARRAY table_names LOOP
        IF entry IS NULL OR entry = '' THEN
            RAISE EXCEPTION 'table_names must not hold an empty name'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        BEGIN
            parts := pg_catalog.parse_ident(entry);
        EXCEPTION WHEN invalid_parameter_value THEN
            RAISE EXCEPTION 'table name % is not a table or schema.table name', pg_catalog.quote_literal(entry)
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Quote identifiers as SQL does: "My Schema"."My Table".';
        END;
        IF pg_catalog.cardinality(parts) = 1 THEN
            schema_name := 'public';
            table_name := parts[1];
        ELSIF pg_catalog.cardinality(parts) = 2 THEN
            schema_name := parts[1];
            table_name := parts[2];
        ELSE
            RAISE EXCEPTION 'table name % has more than two parts', pg_catalog.quote_literal(entry)
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Give table or schema.table; tables of other databases cannot be published.';
        END IF;
        PERFORM datalakehouse_extras.check_name(schema_name, 'a schema name in table_names'::pg_catalog.text);
        PERFORM datalakehouse_extras.check_name(table_name, 'a table name in table_names'::pg_catalog.text);

        SELECT c.oid, c.relkind, c.relpersistence, n.nspname
          INTO relation, kind, persistence, found_schema
          FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = schema_name
           AND c.relname = table_name;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'table % does not exist', pg_catalog.format('%I.%I', schema_name, table_name)
                USING ERRCODE = 'undefined_table';
        END IF;
        IF found_schema = ANY (ARRAY['pg_catalog', 'information_schema', 'datalakehouse_extras']::pg_catalog.name[])
           OR found_schema ~ '^pg_(toast|temp_)'
           OR relation < 16384::pg_catalog.oid THEN
            RAISE EXCEPTION '% is a system table', pg_catalog.format('%I.%I', schema_name, table_name)
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF kind <> ALL (ARRAY['r', 'p']::pg_catalog."char"[]) OR persistence <> 'p' THEN
            RAISE EXCEPTION '% is not a permanent table', pg_catalog.format('%I.%I', schema_name, table_name)
                USING ERRCODE = 'wrong_object_type',
                      HINT = 'PostgreSQL publishes only ordinary and partitioned tables that are neither temporary nor unlogged.';
        END IF;
        IF NOT datalakehouse_extras.can_read(relation) THEN
            RAISE EXCEPTION 'role "%" cannot read every row of table %',
                    session_user, pg_catalog.format('%I.%I', schema_name, table_name)
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'A publication lets its subscribers read every row: publish only tables you may SELECT from (and USAGE on their schema), without row-level security hiding rows from you.';
        END IF;
        IF NOT relation = ANY (relations) THEN
            relations := relations || relation;
        END IF;
    END LOOP;
    RETURN relations;
END
$function$;

-- "schema"."table", ... for a FOR TABLE / ADD TABLE clause, from the catalog's
-- own names.
CREATE FUNCTION datalakehouse_extras.table_list(relations pg_catalog.oid[])
RETURNS pg_catalog.text
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
    SELECT pg_catalog.string_agg(pg_catalog.format('%I.%I', n.nspname, c.relname), ', ' ORDER BY n.nspname, c.relname)
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = ANY (relations)
$function$;

------------------------------------------------------------------------------
-- Destination side: subscriptions
------------------------------------------------------------------------------

-- create_slot = true cannot run inside a function; the caller creates the
-- slot on the source with its own REPLICATION right.
--
-- The connection string must not reach the server log or the statistics.
-- The statement calling this function is the caller's to keep out of them
-- (bind the connection string as a parameter); while the function runs,
-- log_min_error_statement = panic keeps an error from quoting that statement,
-- log_statement = none and pg_stat_statements.track = top keep the CREATE
-- SUBSCRIPTION out of the log and of pg_stat_statements, and an error of the
-- CREATE is raised again without the statement as its context and with the
-- password masked. Being SET clauses of the function, they end with the call
-- and change nothing else in the caller's session or transaction.
CREATE FUNCTION datalakehouse_extras.create_subscription(
    subscription_name pg_catalog.text,
    connection pg_catalog.text,
    publication_name pg_catalog.text,
    slot_name pg_catalog.text,
    copy_data boolean DEFAULT false,
    enabled boolean DEFAULT true
)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET log_min_error_statement = 'panic'
SET log_statement = 'none'
SET pg_stat_statements.track = 'top'
AS $function$
DECLARE
    secrets pg_catalog.text[];
    secret pg_catalog.text;
    subscription_id pg_catalog.oid;
    error_state pg_catalog.text;
    error_message pg_catalog.text;
    error_detail pg_catalog.text;
    error_hint pg_catalog.text;
BEGIN
    PERFORM datalakehouse_extras.assert_manager();
    PERFORM datalakehouse_extras.check_name(subscription_name, 'subscription_name'::pg_catalog.text);
    PERFORM datalakehouse_extras.check_name(publication_name, 'publication_name'::pg_catalog.text);
    PERFORM datalakehouse_extras.check_name(slot_name, 'slot_name'::pg_catalog.text);
    IF copy_data IS NULL OR enabled IS NULL THEN
        RAISE EXCEPTION 'copy_data and enabled must be true or false'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    secrets := datalakehouse_extras.check_connection(connection);

    BEGIN
        EXECUTE pg_catalog.format(
            'CREATE SUBSCRIPTION %I CONNECTION %L PUBLICATION %I WITH (slot_name = %L, create_slot = false, copy_data = %s, enabled = %s)',
            subscription_name, connection, publication_name, slot_name,
            CASE WHEN copy_data THEN 'true' ELSE 'false' END,
            CASE WHEN enabled THEN 'true' ELSE 'false' END);
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS error_state = RETURNED_SQLSTATE, error_message = MESSAGE_TEXT,
                                error_detail = PG_EXCEPTION_DETAIL, error_hint = PG_EXCEPTION_HINT;
        error_detail := coalesce(error_detail, '');
        error_hint := coalesce(error_hint, '');
        FOREACH secret IN ARRAY secrets LOOP
            error_message := pg_catalog.replace(error_message, secret, '********');
            error_detail := pg_catalog.replace(error_detail, secret, '********');
            error_hint := pg_catalog.replace(error_hint, secret, '********');
        END LOOP;
        -- RAISE refuses null options, and an empty one would print as an empty line.
        IF error_detail <> '' AND error_hint <> '' THEN
            RAISE EXCEPTION USING ERRCODE = error_state, MESSAGE = error_message, DETAIL = error_detail, HINT = error_hint;
        ELSIF error_detail <> '' THEN
            RAISE EXCEPTION USING ERRCODE = error_state, MESSAGE = error_message, DETAIL = error_detail;
        ELSIF error_hint <> '' THEN
            RAISE EXCEPTION USING ERRCODE = error_state, MESSAGE = error_message, HINT = error_hint;
        ELSE
            RAISE EXCEPTION USING ERRCODE = error_state, MESSAGE = error_message;
        END IF;
    END;

    SELECT s.oid INTO subscription_id
      FROM pg_catalog.pg_subscription s
     WHERE s.subname = subscription_name
       AND s.subdbid = datalakehouse_extras.current_database_id();
    -- The source chooses the tables, and the apply worker writes as a
    -- superuser: a source publishing a table named like this extension's
    -- own would rewrite the record of what the caller may manage.
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_subscription_rel r
                 JOIN pg_catalog.pg_class c ON c.oid = r.srrelid
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE r.srsubid = subscription_id AND n.nspname = 'datalakehouse_extras') THEN
        RAISE EXCEPTION 'publication "%" includes a table of schema datalakehouse_extras', publication_name
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Publish only your own tables on the source.';
    END IF;
    PERFORM datalakehouse_extras.record_object('subscription'::pg_catalog.text, subscription_name, subscription_id);
END
$function$;

CREATE FUNCTION datalakehouse_extras.enable_subscription(subscription_name pg_catalog.text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
BEGIN
    PERFORM datalakehouse_extras.assert_manager();
    PERFORM datalakehouse_extras.managed_subscription(subscription_name);
    EXECUTE pg_catalog.format('ALTER SUBSCRIPTION %I ENABLE', subscription_name);
END
$function$;

CREATE FUNCTION datalakehouse_extras.disable_subscription(subscription_name pg_catalog.text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
BEGIN
    PERFORM datalakehouse_extras.assert_manager();
    PERFORM datalakehouse_extras.managed_subscription(subscription_name);
    EXECUTE pg_catalog.format('ALTER SUBSCRIPTION %I DISABLE', subscription_name);
END
$function$;

-- Detaching the slot first lets DROP SUBSCRIPTION run inside this function
-- and without reaching the source; the caller drops the slot on the source.
CREATE FUNCTION datalakehouse_extras.drop_subscription(subscription_name pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    subscription_id pg_catalog.oid;
    slot pg_catalog.name;
BEGIN
    PERFORM datalakehouse_extras.assert_manager();
    subscription_id := datalakehouse_extras.managed_subscription(subscription_name);
    SELECT s.subslotname INTO slot FROM pg_catalog.pg_subscription s
     WHERE s.oid = subscription_id;
    EXECUTE pg_catalog.format('ALTER SUBSCRIPTION %I DISABLE', subscription_name);
    IF slot IS NOT NULL THEN
        EXECUTE pg_catalog.format('ALTER SUBSCRIPTION %I SET (slot_name = NONE)', subscription_name);
    END IF;
    EXECUTE pg_catalog.format('DROP SUBSCRIPTION %I', subscription_name);
    DELETE FROM datalakehouse_extras.managed_objects m
     WHERE m.kind = 'subscription'
       AND m.name = subscription_name;
    RETURN slot::pg_catalog.text;
END
$function$;

CREATE FUNCTION datalakehouse_extras.subscriptions()
RETURNS TABLE(subname pg_catalog.name, subenabled boolean, subslotname pg_catalog.name,
              subpublications pg_catalog.text[], subowner pg_catalog.name)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
BEGIN
    PERFORM datalakehouse_extras.assert_manager();
    RETURN QUERY
        SELECT s.subname, s.subenabled, s.subslotname, s.subpublications,
               pg_catalog.pg_get_userbyid(s.subowner)
          FROM pg_catalog.pg_subscription s
          JOIN datalakehouse_extras.managed_objects m
            ON m.kind = 'subscription'
           AND m.name = s.subname
           AND m.object_id = s.oid
         WHERE s.subdbid = datalakehouse_extras.current_database_id()
         ORDER BY s.subname;
END
$function$;

CREATE FUNCTION datalakehouse_extras.subscription_status()
RETURNS TABLE(subname pg_catalog.name, relid pg_catalog.oid, pid integer,
              received_lsn pg_catalog.pg_lsn, latest_end_lsn pg_catalog.pg_lsn,
              last_msg_receipt_time pg_catalog.timestamptz,
              apply_error_count bigint, sync_error_count bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    -- pg_stat_subscription_stats exists from PostgreSQL 15 on.
    error_counts constant pg_catalog.text := CASE
        WHEN pg_catalog.current_setting('server_version_num')::integer >= 150000 THEN
            'LEFT JOIN pg_catalog.pg_stat_subscription_stats e ON e.subid = s.oid'
        ELSE
            'LEFT JOIN (SELECT NULL::pg_catalog.oid AS subid, NULL::bigint AS apply_error_count, NULL::bigint AS sync_error_count) e ON false'
        END;
BEGIN
    PERFORM datalakehouse_extras.assert_manager();
    -- One row per worker; a subscription without a worker still gets one.
    RETURN QUERY EXECUTE
        'SELECT s.subname, w.relid, w.pid, w.received_lsn, w.latest_end_lsn, w.last_msg_receipt_time,
                e.apply_error_count, e.sync_error_count
           FROM pg_catalog.pg_subscription s
           JOIN datalakehouse_extras.managed_objects m
             ON m.kind = ''subscription''
            AND m.name = s.subname
            AND m.object_id = s.oid
           LEFT JOIN (SELECT * FROM pg_catalog.pg_stat_subscription WHERE pid IS NOT NULL) w
             ON w.subid = s.oid
           ' || error_counts || '
          WHERE s.subdbid = $1
          ORDER BY s.subname, w.relid NULLS FIRST, w.pid'
        USING datalakehouse_extras.current_database_id();
END
$function$;

------------------------------------------------------------------------------
-- Source side: publications
------------------------------------------------------------------------------

-- Without a list, the publication holds every table of the database, as a
-- list rather than FOR ALL TABLES: FOR ALL TABLES would also publish this
-- extension's own table (into the destination's copy of it) and every table
-- created later, whoever may read it; and a subscription could not take up a
-- later table anyway, since REFRESH PUBLICATION cannot run in a function.
CREATE FUNCTION datalakehouse_extras.create_publication(
    publication_name pg_catalog.text,
    table_names pg_catalog.text[] DEFAULT NULL
)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    relations pg_catalog.oid[];
    unreadable pg_catalog.text;
    publication_id pg_catalog.oid;
BEGIN
    PERFORM datalakehouse_extras.assert_manager();
    PERFORM datalakehouse_extras.check_name(publication_name, 'publication_name'::pg_catalog.text);
    IF table_names IS NULL THEN
        -- The tables FOR ALL TABLES would publish (permanent, created after
        -- initdb), by their topmost table: a partitioned table publishes its
        -- partitions, except on PostgreSQL 12, which publishes only the partitions.
        SELECT pg_catalog.array_agg(c.oid ORDER BY n.nspname, c.relname) INTO relations
          FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relpersistence = 'p'
           AND c.oid >= 16384::pg_catalog.oid
           AND n.nspname <> ALL (ARRAY['pg_catalog', 'information_schema', 'datalakehouse_extras']::pg_catalog.name[])
           AND CASE WHEN pg_catalog.current_setting('server_version_num')::integer >= 130000
                    THEN c.relkind = ANY (ARRAY['r', 'p']::pg_catalog."char"[]) AND NOT c.relispartition
                    ELSE c.relkind = 'r' END;
        SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) INTO unreadable
          FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE c.oid = ANY (relations) AND NOT datalakehouse_extras.can_read(c.oid)
         ORDER BY n.nspname, c.relname
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'role "%" cannot publish all tables: it cannot read every row of table %',
                    session_user, unreadable
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Name the tables to publish, or have the table''s owner grant you SELECT on it.';
        END IF;
    ELSE
        relations := datalakehouse_extras.readable_tables(table_names);
    END IF;
    IF coalesce(pg_catalog.cardinality(relations), 0) = 0 THEN
        EXECUTE pg_catalog.format('CREATE PUBLICATION %I', publication_name);
    ELSE
        EXECUTE pg_catalog.format('CREATE PUBLICATION %I FOR TABLE %s', publication_name,
            datalakehouse_extras.table_list(relations));
    END IF;
    SELECT p.oid INTO publication_id FROM pg_catalog.pg_publication p
     WHERE p.pubname = publication_name;
    PERFORM datalakehouse_extras.record_object('publication'::pg_catalog.text, publication_name, publication_id);
END
$function$;

CREATE FUNCTION datalakehouse_extras.add_tables_to_publication(
    publication_name pg_catalog.text,
    table_names pg_catalog.text[]
)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    publication_id pg_catalog.oid;
    relations pg_catalog.oid[];
    missing pg_catalog.oid[];
BEGIN
    PERFORM datalakehouse_extras.assert_manager();
    publication_id := datalakehouse_extras.managed_publication(publication_name);
    relations := datalakehouse_extras.readable_tables(table_names);
    SELECT pg_catalog.array_agg(r.relation) INTO missing
      FROM pg_catalog.unnest(relations) AS r(relation)
     WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_publication_rel pr
                        WHERE pr.prpubid = publication_id
                          AND pr.prrelid = r.relation);
    IF missing IS NOT NULL THEN
        EXECUTE pg_catalog.format('ALTER PUBLICATION %I ADD TABLE %s', publication_name,
            datalakehouse_extras.table_list(missing));
    END IF;
END
$function$;

CREATE FUNCTION datalakehouse_extras.drop_publication(publication_name pg_catalog.text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
BEGIN
    PERFORM datalakehouse_extras.assert_manager();
    PERFORM datalakehouse_extras.check_name(publication_name, 'publication_name'::pg_catalog.text);
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_publication p
                WHERE p.pubname = publication_name) THEN
        PERFORM datalakehouse_extras.managed_publication(publication_name);
        EXECUTE pg_catalog.format('DROP PUBLICATION IF EXISTS %I', publication_name);
    END IF;
    DELETE FROM datalakehouse_extras.managed_objects m
     WHERE m.kind = 'publication'
       AND m.name = publication_name;
END
$function$;

CREATE FUNCTION datalakehouse_extras.replication_status()
RETURNS TABLE(slot_name pg_catalog.name, active boolean, active_pid integer,
              confirmed_flush_lsn pg_catalog.pg_lsn, restart_lsn pg_catalog.pg_lsn,
              wal_status pg_catalog.text, state pg_catalog.text,
              sent_lsn pg_catalog.pg_lsn, flush_lsn pg_catalog.pg_lsn, replay_lsn pg_catalog.pg_lsn,
              replay_lag pg_catalog.interval)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    -- pg_replication_slots.wal_status exists from PostgreSQL 13 on.
    wal_status_column constant pg_catalog.text := CASE
        WHEN pg_catalog.current_setting('server_version_num')::integer >= 130000 THEN 's.wal_status'
        ELSE 'NULL::pg_catalog.text'
        END;
BEGIN
    PERFORM datalakehouse_extras.assert_manager();
    RETURN QUERY EXECUTE
        'SELECT s.slot_name, s.active, s.active_pid, s.confirmed_flush_lsn, s.restart_lsn, '
        || wal_status_column || ',
                r.state, r.sent_lsn, r.flush_lsn, r.replay_lsn, r.replay_lag
           FROM pg_catalog.pg_replication_slots s
           LEFT JOIN pg_catalog.pg_stat_replication r ON r.pid = s.active_pid
          WHERE s.slot_type = ''logical''
            AND s.database = pg_catalog.current_database()
          ORDER BY s.slot_name';
END
$function$;

------------------------------------------------------------------------------
-- Who may call what: everyone may call the public functions, whose own
-- checks decide; the helpers stay private.
------------------------------------------------------------------------------

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA datalakehouse_extras FROM PUBLIC;
GRANT USAGE ON SCHEMA datalakehouse_extras TO PUBLIC;
GRANT EXECUTE ON FUNCTION datalakehouse_extras.assert_manager() TO PUBLIC;
GRANT EXECUTE ON FUNCTION datalakehouse_extras.create_subscription(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, boolean, boolean) TO PUBLIC;
GRANT EXECUTE ON FUNCTION datalakehouse_extras.enable_subscription(pg_catalog.text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION datalakehouse_extras.disable_subscription(pg_catalog.text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION datalakehouse_extras.drop_subscription(pg_catalog.text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION datalakehouse_extras.subscriptions() TO PUBLIC;
GRANT EXECUTE ON FUNCTION datalakehouse_extras.subscription_status() TO PUBLIC;
GRANT EXECUTE ON FUNCTION datalakehouse_extras.create_publication(pg_catalog.text, pg_catalog.text[]) TO PUBLIC;
GRANT EXECUTE ON FUNCTION datalakehouse_extras.add_tables_to_publication(pg_catalog.text, pg_catalog.text[]) TO PUBLIC;
GRANT EXECUTE ON FUNCTION datalakehouse_extras.drop_publication(pg_catalog.text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION datalakehouse_extras.replication_status() TO PUBLIC;

COMMENT ON SCHEMA datalakehouse_extras IS
    'Logical replication for a database owner without superuser (extension datalakehouse_extras)';
COMMENT ON FUNCTION datalakehouse_extras.assert_manager() IS
    'Raises insufficient_privilege unless session_user is a superuser, the owner of the current database, or a member of that owner role';
COMMENT ON FUNCTION datalakehouse_extras.create_subscription(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, boolean, boolean) IS
    'Creates a subscription of the current database to a publication, on a slot the caller created on the source (create_slot = false); the connection string must carry a password and reach the source over TCP, and is never shown again';
COMMENT ON FUNCTION datalakehouse_extras.enable_subscription(pg_catalog.text) IS
    'Enables a subscription of the current database created by this extension';
COMMENT ON FUNCTION datalakehouse_extras.disable_subscription(pg_catalog.text) IS
    'Disables a subscription of the current database created by this extension';
COMMENT ON FUNCTION datalakehouse_extras.drop_subscription(pg_catalog.text) IS
    'Drops a subscription of the current database created by this extension without touching the source, and returns the name of the slot it used (null if none), which the caller drops on the source';
COMMENT ON FUNCTION datalakehouse_extras.subscriptions() IS
    'The subscriptions of the current database created by this extension, without their connection strings';
COMMENT ON FUNCTION datalakehouse_extras.subscription_status() IS
    'One row per worker (table-sync workers have a relid) of each subscription of the current database created by this extension, one row of nulls for a subscription without workers; error counts from PostgreSQL 15 on';
COMMENT ON FUNCTION datalakehouse_extras.create_publication(pg_catalog.text, pg_catalog.text[]) IS
    'Creates a publication of the listed tables (table, looked up in public, or schema.table, quoted as in SQL), or of every table of the database when the list is null; every table published must be readable by the caller';
COMMENT ON FUNCTION datalakehouse_extras.add_tables_to_publication(pg_catalog.text, pg_catalog.text[]) IS
    'Adds the listed tables (same rules as create_publication) to a publication created by this extension, skipping those already in it';
COMMENT ON FUNCTION datalakehouse_extras.drop_publication(pg_catalog.text) IS
    'Drops a publication created by this extension; nothing to do when it does not exist';
COMMENT ON FUNCTION datalakehouse_extras.replication_status() IS
    'The logical replication slots of the current database with their wal sender''s progress (wal_status from PostgreSQL 13 on)';
