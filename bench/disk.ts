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
    // The same write after 1 ms of quiet, as a commit comes in a 40-task chain or a trickle of
    // triggers: on this machine's virtual disk an fsync costs more the longer the disk was idle
    // before it, so the back-to-back figure above is the best case (the ratios use it).
    const pause = new Int32Array(new SharedArrayBuffer(4));
    const spaced: number[] = [];
    for (let i = 0; i < samples / 2; i++) {
      Atomics.wait(pause, 0, 0, 1);
      const t0 = performance.now();
      writeSync(fd, record);
      fsyncSync(fd);
      spaced.push((performance.now() - t0) * 1000);
    }
    return {
      fsync_p50_us: round(percentile(times, 50), 1),
      fsync_p99_us: round(percentile(times, 99), 1),
      fsync_spaced_p50_us: round(percentile(spaced, 50), 1),
    };
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

await runIfMain(import.meta, () => benchDisk());
