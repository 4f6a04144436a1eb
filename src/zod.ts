/**
 * `airclutch/zod`: zod, as Airclutch reads DAG params with it. A DAG file that imports `z` from here
 * needs no zod of its own, and cannot pick one Airclutch cannot read (zod 3 gives no JSON Schema). A
 * subpath, not the main entry: a task thread that loads a DAG without params never loads zod (~6 MB).
 * @module
 */
export { z } from 'zod';
