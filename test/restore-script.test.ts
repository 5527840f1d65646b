import { describe, expect, it } from 'vitest';
import { parseRestoreScript } from '../src/schema/restore-script.js';

// The shape pg_restore --verbose --file=- writes; a tablespace change comes
// just before the header of the first item that needs it.
const SCRIPT = `--
-- PostgreSQL database dump
--

\\restrict abc

SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);
SET default_tablespace = '';

--
-- TOC entry 10 (class 1259 OID 100)
-- Dependencies: 5
-- Name: plain_idx; Type: INDEX; Schema: public; Owner: alice
-- Data Pos: 0
--

CREATE INDEX plain_idx ON public.t USING btree (a);


SET default_tablespace = fast;

--
-- TOC entry 11 (class 1259 OID 101)
-- Dependencies: 5 5
-- Name: fast_idx; Type: INDEX; Schema: public; Owner: alice
-- Data Pos: 0
--

CREATE INDEX fast_idx ON public.t USING btree (b);


SET default_tablespace = '';

--
-- TOC entry 12 (class 3381 OID 102)
-- Dependencies: 5
-- Name: t_stats; Type: STATISTICS; Schema: public; Owner: alice
-- Data Pos: 0
--

CREATE STATISTICS public.t_stats ON a, b FROM public.t;


ALTER STATISTICS public.t_stats OWNER TO alice;

-- Completed on 2026-01-01 00:00:00 UTC

\\unrestrict abc
`;

describe('pg_restore script reader', () => {
  it('gives each item its statements, dependencies and the settings in force for it', () => {
    const { items } = parseRestoreScript(SCRIPT);
    expect(items.map((i) => [i.id, i.type, i.name, i.schema, i.dependencies])).toEqual([
      [10, 'INDEX', 'plain_idx', 'public', [5]],
      [11, 'INDEX', 'fast_idx', 'public', [5]],
      [12, 'STATISTICS', 't_stats', 'public', [5]],
    ]);
    expect(items[0]?.statements).toEqual(['CREATE INDEX plain_idx ON public.t USING btree (a);']);
    expect(items[1]?.settings).toEqual([
      'SET statement_timeout = 0;',
      "SELECT pg_catalog.set_config('search_path', '', false);",
      'SET default_tablespace = fast;',
    ]);
    expect(items[2]?.settings).toContain("SET default_tablespace = '';");
    expect(items[2]?.statements).toEqual(['CREATE STATISTICS public.t_stats ON a, b FROM public.t;', 'ALTER STATISTICS public.t_stats OWNER TO alice;']);
  });

  it('refuses a script that starts with something other than settings, rather than drop it', () => {
    expect(() => parseRestoreScript('CREATE TABLE x (a int);\n')).toThrow(/not a setting/);
  });
});
