/**
 * Cedar's wasm bindings, loaded after `./cedar-wasm-threads.ts` has limited how many threads compile
 * them. Airclutch imports Cedar's values only from here (types may come from the package).
 * @module
 */
import './cedar-wasm-threads.ts';

export * from '@cedar-policy/cedar-wasm/nodejs';
