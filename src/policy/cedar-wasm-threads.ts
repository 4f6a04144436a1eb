/**
 * Imported before Cedar's wasm module is compiled (`./cedar.ts`). V8 tiers hot wasm functions up to
 * its optimising compiler on up to one background task per worker thread; Cedar's functions are
 * large, and each thread that compiled some kept ~19 MB in its own malloc arena for the life of the
 * process (4 threads: ~60 MB of a server's ~180 MB before any request). One compilation task keeps
 * that to one arena; tier-up takes a little longer after start, decisions are as fast once it is done.
 * This is a process-wide V8 setting: it also applies to other wasm modules an embedding app compiles.
 * @module
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--wasm-num-compilation-tasks=1');
