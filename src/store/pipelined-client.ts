/**
 * A `pg` client in pipeline mode that does not wait for the answer to `begin`: the transaction's
 * first statement goes out right behind it, so a transaction costs one round trip less. On a busy
 * machine a round trip is a wake-up of the server process and of ours (0.3–0.6 ms measured at load
 * 5 on two cores), and the engine's cycles are a handful of statements each.
 *
 * Statements whose text starts with `PREPARED` are prepared once per connection (a named statement)
 * and then only bound and executed: the engine's hot statements are long CTEs whose planning would
 * otherwise be paid on every step. Only fixed texts may carry the mark (lists go in as arrays), or
 * each connection would keep one prepared statement per list length.
 *
 * A statement whose text holds `THEN_COMMIT` is a transaction's last: `commit` goes out right behind
 * it, and the `commit` Kysely sends once the statement answered gets that commit's answer, one round
 * trip sooner. If the statement fails, PostgreSQL has aborted the transaction and answers the commit
 * with ROLLBACK, so nothing of it is kept, as when the commit waits. Any other statement after the
 * marked one is refused: the transaction it belonged to is over. Outside a transaction the mark
 * means nothing.
 * @module
 */
import { createHash } from 'node:crypto';
import pg from 'pg';

/** Put first in a statement's text to have it prepared once per connection. */
export const PREPARED = '/* prepared */ ';
/** Put in the text of a transaction's last statement to have the commit sent right behind it. */
export const THEN_COMMIT = '/* then commit */ ';

const BEGUN = { command: 'BEGIN', rowCount: null, rows: [], fields: [], oid: 0 };
const names = new Map<string, string>();

function nameOf(text: string): string {
  let name = names.get(text);
  if (!name) {
    name = `ac_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    names.set(text, name);
  }
  return name;
}

type Answer = Promise<pg.QueryResult>;
type Corkable = { cork(): void; uncork(): void };

export class PipelinedClient extends pg.Client {
  /** The commit sent behind a `THEN_COMMIT` statement, until the caller asks for it. */
  #commit: Answer | undefined;
  /** Between `begin` and its commit or rollback: outside, the mark means nothing. */
  #inTransaction = false;
  /** The socket while `#cork` holds its writes. */
  #corked: Corkable | undefined;

  constructor(config?: pg.ClientConfig) {
    super({ ...config, pipeline: true });
  }

  // Kysely opens every transaction with `begin` and awaits it. BEGIN cannot fail on a live
  // connection, and on a dead one the statement written behind it fails too, and the transaction
  // with it: answering at once loses nothing. Statements stay in order on the connection.
  override query(...args: unknown[]): any {
    const text = args[0];
    if (this.#commit) return this.#afterCommit(text);
    if (text === 'begin' && (args[1] === undefined || (Array.isArray(args[1]) && args[1].length === 0))) {
      this.#inTransaction = true;
      // `begin` waits in the socket's buffer for the statement behind it: one write (a syscall here,
      // a wake-up of the server there) instead of two.
      this.#cork();
      (super.query('begin') as Promise<unknown>).catch(() => undefined);
      return Promise.resolve(BEGUN);
    }
    if (text === 'commit' || text === 'rollback') this.#inTransaction = false;
    if (typeof text !== 'string' || typeof args[1] === 'function' || typeof args[2] === 'function') {
      const answer = (super.query as (...a: unknown[]) => unknown)(...args);
      this.#uncork();
      return answer;
    }
    const thenCommit = this.#inTransaction && text.includes(THEN_COMMIT);
    if (thenCommit) this.#cork();
    const answer: Answer = text.startsWith(PREPARED)
      ? super.query({ name: nameOf(text), text, values: args[1] as unknown[] })
      : super.query(text, args[1] as unknown[] | undefined);
    if (thenCommit) {
      this.#inTransaction = false;
      this.#commit = super.query('commit');
      this.#commit.catch(() => undefined);
    }
    this.#uncork();
    return answer;
  }

  /** Holds what is written to the server until `#uncork`, or until this turn of the event loop ends. */
  #cork(): void {
    const stream = (this as unknown as { connection: { stream: Corkable } }).connection.stream;
    if (this.#corked || typeof stream.cork !== 'function') return;
    this.#corked = stream;
    stream.cork();
    // A transaction whose first statement waits on I/O of its own sends `begin` alone, as before.
    setImmediate(() => this.#uncork());
  }

  #uncork(): void {
    const stream = this.#corked;
    this.#corked = undefined;
    stream?.uncork();
  }

  /** What a statement after the `THEN_COMMIT` one gets: the commit's answer, or a refusal. */
  #afterCommit(text: unknown): Answer {
    const commit = this.#commit!;
    this.#commit = undefined;
    if (text === 'commit') return commit;
    if (text === 'rollback')
      // The marked statement failed (PostgreSQL then answers the commit with ROLLBACK), or the caller
      // failed after it, when the transaction may already be committed: say so rather than pretend.
      return commit.then((r) => {
        if (r.command !== 'COMMIT') return r;
        throw new Error(
          'rollback asked after the transaction committed behind its last statement (marked THEN_COMMIT): its changes are kept',
        );
      });
    return commit.then((r) => {
      throw new Error(
        `${String(text).slice(0, 60)}… was not sent: it came after a statement marked THEN_COMMIT, whose transaction ${r.command === 'COMMIT' ? 'committed behind its last statement (its changes are kept)' : 'was rolled back'}`,
      );
    });
  }
}
