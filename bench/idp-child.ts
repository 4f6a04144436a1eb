/** The dev IdP alone in a process, for benchmarks: `idp-process.ts` forks it. @module */
import { startDevIdp } from '../src/identity/dev-idp.ts';

const idp = await startDevIdp({ port: 0, dataDir: process.argv[2]!, accessTokenTtlSec: 3_600, quiet: true });
process.send?.({ issuer: idp.issuer });
process.on('disconnect', () => {
  void idp.close().finally(() => process.exit(0));
});
