/** `airclutch db migrate`: applies pending store migrations. @module */
import { Command } from 'commander';
import { createDb } from '../../store/create-db.ts';
import { migrateToLatest } from '../../store/migrate.ts';
import { storeUrl } from '../../store/open-store.ts';
import { configFor } from '../cli-context.ts';

export function dbCommand(): Command {
  const db = new Command('db').description('Manage the store');
  db.command('migrate')
    .description('Apply pending migrations to the configured store')
    .action(async (_opts, cmd: Command) => {
      const config = await configFor(cmd);
      const store = createDb({ url: storeUrl(config) });
      try {
        const applied = await migrateToLatest(store);
        process.stdout.write(
          applied.length ? `applied: ${applied.join(', ')}\n` : `${store.description} is up to date\n`,
        );
      } finally {
        await store.close();
      }
    });
  return db;
}
