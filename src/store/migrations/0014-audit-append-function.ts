/**
 * On PostgreSQL, one function appends records to the audit chain: it locks the head, hashes each
 * record after the one before, inserts them and moves the head, in one round trip where the append
 * took two (lock and read the head, then insert). The client sends each body's canonical text split
 * around its `seq`, which only the locked head decides; the function completes each body with its
 * seq, hashes `prev_hash || body` as UTF-8 with SHA-256 exactly as `recordHash` does, and stores the
 * columns parsed from that same text, so what is stored is what was hashed. Verification is
 * unchanged: it recomputes every hash from the stored columns. Never edit after it lands: add a
 * migration.
 * @module
 */
import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../create-db.ts';

export function auditAppendFunctionMigration(dialect: DialectName) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      if (dialect !== 'postgres') return;
      await sql`create function airclutch_append_audit(
          befores text[], afters text[], out o_from bigint, out o_hashes text[])
        language plpgsql as $$
        declare
          n int := coalesce(array_length(befores, 1), 0);
          prev text;
          bodies text[] := '{}';
          prevs text[] := '{}';
        begin
          select seq, hash into o_from, prev from audit_head where id = 1 for update;
          if not found then
            raise exception 'audit_head has no row: the audit migration did not run';
          end if;
          o_hashes := '{}';
          for i in 1 .. n loop
            bodies[i] := befores[i] || (o_from + i)::text || afters[i];
            prevs[i] := prev;
            prev := encode(sha256(convert_to(prev || bodies[i], 'UTF8')), 'hex');
            o_hashes[i] := prev;
          end loop;
          insert into audit_records
            select r.* from unnest(bodies, prevs, o_hashes) as u(body, prev_hash, hash),
              lateral jsonb_populate_record(null::audit_records,
                u.body::jsonb || jsonb_build_object('prev_hash', u.prev_hash, 'hash', u.hash)) as r;
          update audit_head set seq = o_from + n, hash = prev where id = 1;
        end $$`.execute(db);
    },
  };
}
