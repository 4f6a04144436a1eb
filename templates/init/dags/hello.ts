/** A first DAG: greets someone in a function task, then runs a shell command after it. */
import { dag } from 'airclutch';
import { z } from 'airclutch/zod';

const hello = dag({
  id: 'hello',
  description: 'Says hello: a function task, then a shell task',
  owner: 'data-eng',
  tags: ['example'],
  params: z.object({
    name: z.string().min(1).default('world').describe('Who to greet'),
    loud: z.boolean().default(false),
  }),
  defaults: { retries: 1, retryDelayMs: 1_000 },
});

const greet = hello.task('greet', (ctx) => {
  const text = `hello, ${ctx.params.name}`;
  ctx.log(text);
  return { text: ctx.params.loud ? text.toUpperCase() : text };
});

hello.shell('echo', {
  after: [greet],
  timeoutMs: 30_000,
  command: (ctx) => ['echo', `said hello to ${ctx.params.name}`],
});

export default hello;
