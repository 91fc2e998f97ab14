/** Named prepared statements on `pg` for the few hot statements that ask for one. */
import { createHash } from 'node:crypto';
import type pg from 'pg';

/**
 * Starts a statement that runs as a named prepared statement on `pg` (parsed and planned once
 * per connection): for the few hot statements whose text takes a bounded number of shapes.
 * Postgres spends about half of a one-row log append parsing and planning it (figures:
 * bench-results/README.md). A comment, so the same text runs unprepared anywhere else (embedded Postgres).
 */
export const PREPARED = '/* prepared */ ';

/** Statement names by text: a short hash, so every connection names a text alike. */
const names = new Map<string, string>();

function nameOf(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `tandem_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    names.set(text, name);
  }
  return name;
}

/** Makes `client` run statements that start with `PREPARED` as named prepared statements. */
export function prepareMarkedStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((...args: unknown[]) => {
    const [text, values, ...rest] = args;
    if (typeof text !== 'string' || !text.startsWith(PREPARED) || !Array.isArray(values)) return query(...args);
    return query({ name: nameOf(text), text, values }, ...rest);
  }) as typeof client.query;
}
