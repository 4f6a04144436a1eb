/**
 * The limit of this disk, measured first in every bench run: `fsync_p50_us` and `fsync_p99_us` over
 * 400 small appends, each followed by an fsync, in the folder the SQLite stores live in (the system
 * temp folder). A trigger that must be durable before it is acknowledged costs at least one of these;
 * `bench/ratios.ts` sets the durable figures against it.
 * @module
 */
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runIfMain } from './main.ts';
import { percentile, round } from './stats.ts';

export async function benchDisk(samples = 400): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'airclutch-bench-disk-'));
  const fd = openSync(join(dir, 'fsync.bin'), 'a');
  try {
    const record = Buffer.alloc(256, 'a');
    const times: number[] = [];
    for (let i = 0; i < samples + 20; i++) {
      const t0 = performance.now();
      writeSync(fd, record);
      fsyncSync(fd);
      if (i >= 20) times.push((performance.now() - t0) * 1000);
    }
    return {
      fsync_p50_us: round(percentile(times, 50), 1),
      fsync_p99_us: round(percentile(times, 99), 1),
    };
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

await runIfMain(import.meta, () => benchDisk());
