/**
 * Slack's request signing (v0): HMAC-SHA256 with the app's signing secret over
 * `v0:{timestamp}:{raw body}`, sent as `x-slack-signature: v0=<hex>`, with the timestamp in
 * `x-slack-request-timestamp`. A request outside the replay window is refused however it is signed.
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AirclutchError } from '../../lib/errors.ts';

/** `v0=<hex>` for a body (its exact bytes, or a string as UTF-8) at a timestamp (seconds). */
export function slackSignature(
  secret: string,
  timestampSec: number | string,
  body: string | Uint8Array,
): string {
  const hmac = createHmac('sha256', secret).update(`v0:${timestampSec}:`).update(body);
  return `v0=${hmac.digest('hex')}`;
}

/**
 * Throws `WEBHOOK_SIGNATURE_INVALID` unless the request is signed with the secret and recent.
 *
 * @example
 * verifySlackSignature({ secret, body, timestamp: req.headers['x-slack-request-timestamp'], signature: req.headers['x-slack-signature'], nowMs: Date.now(), windowSec: 300 });
 */
export function verifySlackSignature(input: {
  secret: string;
  /** The raw request body, byte for byte as received. */
  body: string | Uint8Array;
  timestamp: unknown;
  signature: unknown;
  nowMs: number;
  windowSec: number;
}): void {
  const { timestamp, signature } = input;
  if (typeof timestamp !== 'string' || !/^\d{1,12}$/.test(timestamp)) {
    throw invalid('the x-slack-request-timestamp header is missing or not a number');
  }
  const age = Math.abs(input.nowMs / 1000 - Number(timestamp));
  if (age > input.windowSec) {
    throw invalid(
      `the request was signed ${Math.round(age)} s from now, outside the ${input.windowSec} s replay window; check the server clock`,
    );
  }
  if (typeof signature !== 'string' || !/^v0=[0-9a-f]{64}$/.test(signature)) {
    throw invalid('the x-slack-signature header is missing or not a v0 signature');
  }
  const expected = Buffer.from(slackSignature(input.secret, timestamp, input.body));
  if (!timingSafeEqual(expected, Buffer.from(signature))) {
    throw invalid(
      "the signature does not match: is server.slack.signingSecret the Slack app's signing secret?",
    );
  }
}

function invalid(message: string): AirclutchError {
  return new AirclutchError('WEBHOOK_SIGNATURE_INVALID', `Slack request refused: ${message}`);
}
