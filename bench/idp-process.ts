/**
 * The dev IdP in a second process. In production the IdP never shares the API server's process, and
 * oidc-provider's AsyncLocalStorage turns on promise hooks that slow every promise in the process
 * it runs in, so the benchmarks keep it apart. Tokens are minted over HTTP, as `airclutch dev token` does.
 * @module
 */
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestDevToken } from '../src/identity/dev-token-client.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

export interface IdpProcess {
  readonly issuer: string;
  readonly port: number;
  mintToken(as: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * @example
 * const idp = await startIdpProcess(tmpDir);
 * const token = await idp.mintToken('eng@example.com');
 */
export async function startIdpProcess(dataDir: string): Promise<IdpProcess> {
  const child = fork(join(HERE, '../bin/run-ts.js'), [join(HERE, 'idp-child.ts'), dataDir], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const issuer = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { issuer: string }).issuer));
    child.once('exit', (code) => reject(new Error(`the dev IdP process exited with ${code}`)));
  });
  return {
    issuer,
    port: Number(new URL(issuer).port),
    mintToken: (as) => requestDevToken(issuer, as),
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      await exited;
    },
  };
}
