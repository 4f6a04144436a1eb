import { describe, expect, it } from 'vitest';
import { TriggerAnswers } from '../../src/airflow/trigger-answers.ts';

describe("Airflow's answers to delivered triggers", () => {
  it('hands an answer to the caller waiting for it', async () => {
    const a = new TriggerAnswers();
    const waiting = a.wait('airclutch__r1', 60_000);
    a.settle('airclutch__r1', { kind: 'answer', status: 200, body: { dag_run_id: 'airclutch__r1' } });
    expect(await waiting).toEqual({ kind: 'answer', status: 200, body: { dag_run_id: 'airclutch__r1' } });
  });

  it('keeps an answer that arrived before its waiter, once', async () => {
    const a = new TriggerAnswers();
    a.settle('airclutch__r2', { kind: 'undelivered', error: 'Airflow down' });
    expect(await a.wait('airclutch__r2', 60_000)).toEqual({ kind: 'undelivered', error: 'Airflow down' });
    expect(await a.wait('airclutch__r2', 1)).toBeUndefined();
  });

  it('drops kept answers past its bound', async () => {
    const a = new TriggerAnswers({ max: 2 });
    for (const id of ['a', 'b', 'c']) a.settle(id, { kind: 'answer', status: 200, body: id });
    expect(await a.wait('a', 1)).toBeUndefined();
    expect(await a.wait('c', 1)).toEqual({ kind: 'answer', status: 200, body: 'c' });
  });
});
