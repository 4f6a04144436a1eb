import { describe, expect, it } from 'vitest';
import { AttemptAbortController } from '../../src/engine/attempt-abort-controller.ts';
import { AttemptAbort, abortFailure } from '../../src/engine/task-runner.ts';

describe('AttemptAbortController', () => {
  it('hands out an AbortSignal only when read, already aborted with the reason when read after the abort', () => {
    const abort = new AttemptAbortController();
    const reason = new AttemptAbort('timeout', 'the attempt did not finish within its 10 ms timeout');
    abort.abort(reason);
    expect([abort.aborted, abort.reason]).toEqual([true, reason]);
    expect([abort.signal.aborted, abort.signal.reason]).toEqual([true, reason]);
    expect(abort.signal).toBe(abort.signal);
    expect(abortFailure(abort)).toEqual({
      state: 'failed',
      reason: 'timeout',
      error: 'the attempt did not finish within its 10 ms timeout',
    });
  });

  it('tells the signal first, then each onAbort listener once, and not a listener removed before', () => {
    const abort = new AttemptAbortController();
    const heard: string[] = [];
    abort.signal.addEventListener('abort', () => heard.push('signal'));
    abort.onAbort(() => heard.push('first'));
    const off = abort.onAbort(() => heard.push('removed'));
    abort.onAbort(() => heard.push('last'));
    off();
    abort.abort(new AttemptAbort('cancelled', 'the run was cancelled'));
    abort.abort(new AttemptAbort('shutdown', 'a second abort changes nothing'));
    expect(heard).toEqual(['signal', 'first', 'last']);
    expect((abort.reason as AttemptAbort).reason).toBe('cancelled');
    expect(abort.onAbort(() => heard.push('late'))).toBeTypeOf('function');
    expect(heard).toEqual(['signal', 'first', 'last']);
  });
});
