/** `airclutch whoami`: who the server says the caller is (principal, groups, issuer, token expiry). @module */
import { Command } from 'commander';
import { apiClient, type ClientFlags, clientOptions } from '../api-client.ts';
import { printTable } from '../cli-context.ts';
import { isoCell, printJson } from '../json-view.ts';

interface WhoamiView {
  kind: string;
  id: string;
  displayName: string | null;
  groups: string[];
  issuer: string;
  subject: string;
  scopes: string[];
  tokenExpiresAt: number | null;
}

export function whoamiCommand(): Command {
  return clientOptions(
    new Command('whoami')
      .description(
        'Show who the server says you are, with your token (--token, AIRCLUTCH_TOKEN, --as or login)',
      )
      .option('--json', 'print JSON: the API view, times as ISO strings'),
  ).action(async (opts: { json?: boolean } & ClientFlags, cmd: Command) => {
    const api = await apiClient(cmd, opts);
    const me = await api.get<WhoamiView>('/api/v1/whoami');
    if (opts.json) {
      printJson(me);
      return;
    }
    printTable(
      [
        {
          principal: `${me.kind}:${me.id}`,
          groups: me.groups.join(', '),
          issuer: me.issuer,
          expires: isoCell(me.tokenExpiresAt),
        },
      ],
      false,
    );
  });
}
