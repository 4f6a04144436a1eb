/**
 * The fake Airflow (test/airflow/fake-airflow.ts, contract-validating) in its own process, so that
 * its routing and OpenAPI validation are not on the proxy's event loop: a real Airflow runs
 * elsewhere too. Sends `{ url, username, password }` to its parent once it listens; exits when the
 * parent disconnects.
 * @module
 */
import { FakeAirflow } from '../test/airflow/fake-airflow.ts';

const fake = await FakeAirflow.start({ api: 'v2' });
fake.addDag({ dag_id: 'orders', owners: ['data-eng'], tags: ['finance'] });
for (let i = 0; i < 50; i++) fake.addDag({ dag_id: `other_${i}`, tags: ['x'] });
process.send?.({ url: fake.url, ...fake.credentials });
process.on('disconnect', () => {
  void fake.close().then(() => process.exit(0));
});
