import { test as base } from 'vitest';
import { type PrivateServer, privateNats, privatePostgres, privateRedis } from './private-servers.ts';
import { createStack } from './stack.ts';

type Env = Record<string, string>;

export interface StackTestOptions {
  /**
   * Private servers on free ports for fault tests (stopped and restarted by PID), started
   * before the stack and wired into it: the database, Redis or NATS of every process it starts.
   */
  private?: {
    /** A config: nats-server started with that file (e.g. deploy/nats.conf) and those variables. */
    nats?: boolean | { config: string; env: Record<string, string> };
    /** `args`: more redis-server arguments (e.g. `--user` ACL users). */
    redis?: boolean | { aof?: boolean; args?: string[] };
    postgres?: boolean;
  };
  /** The file's in-process server, with these environment overrides; `false`: none. Default `{}`. */
  server?: Env | false;
  /** An in-process worker started after the server, with these overrides. Default: none. */
  worker?: Env;
}

/**
 * The `test` of an integration file: its stack comes from file-scoped fixtures, set up before
 * the file's first test and torn down after its last one.
 *
 * - `stack`: a fresh database and namespace, with helpers to start more servers and workers,
 *   in-process or as built processes (tests/support/stack.ts); everything is removed after
 * - `server`, `worker`: the file's in-process server and worker, as `options` say
 * - `admin`: a client logged in as admin on `server`
 * - `nats`, `redis`, `postgres`: the private servers `options.private` asks for
 *
 * Files that need more (a second server, sales made once) `.extend()` it the same way. Each
 * call is a separate stack: a file with differently configured suites calls it once per suite
 * (at the top level; every stack of a file lives until the file ends).
 */
export function stackTest(options: StackTestOptions = {}) {
  const { server: serverEnv = {}, worker: workerEnv } = options;
  return (
    base
      .extend(
        'privateServers',
        { scope: 'file' },
        // biome-ignore lint/correctness/noEmptyPattern: vitest reads fixture dependencies from this pattern
        async ({}, { onCleanup }) => {
          const p = options.private ?? {};
          const started: { nats?: PrivateServer; redis?: PrivateServer; postgres?: PrivateServer } = {};
          onCleanup(async () => {
            for (const s of Object.values(started)) await s.destroy();
          });
          if (p.postgres) started.postgres = await privatePostgres();
          if (p.redis) started.redis = await privateRedis(p.redis === true ? {} : p.redis);
          if (p.nats) started.nats = await privateNats(p.nats === true ? {} : p.nats);
          return started;
        },
      )
      .extend('stack', { scope: 'file' }, async ({ privateServers }, { onCleanup }) => {
        const stack = await createStack({
          postgres: privateServers.postgres?.url,
          redis: privateServers.redis?.url,
          nats: privateServers.nats?.url,
        });
        onCleanup(() => stack.teardown());
        return stack;
      })
      .extend('nats', { scope: 'file' }, async ({ privateServers }) => need(privateServers.nats, 'nats'))
      .extend('redis', { scope: 'file' }, async ({ privateServers }) => need(privateServers.redis, 'redis'))
      .extend('postgres', { scope: 'file' }, async ({ privateServers }) =>
        need(privateServers.postgres, 'postgres'),
      )
      .extend('server', { scope: 'file', auto: serverEnv !== false }, async ({ stack }) => {
        if (serverEnv === false) throw new Error('this file has no server: stackTest({ server: false })');
        return stack.server(serverEnv);
      })
      // Auto fixtures start in this order: the worker after the server.
      .extend('worker', { scope: 'file', auto: workerEnv !== undefined }, async ({ stack }) => {
        if (workerEnv === undefined) throw new Error('this file has no worker: stackTest({ worker: {} })');
        return stack.worker(workerEnv);
      })
      .extend('admin', { scope: 'file' }, async ({ stack, server }) => stack.admin(server.url))
  );
}

function need(server: PrivateServer | undefined, name: string): PrivateServer {
  if (!server) throw new Error(`no private ${name}: stackTest({ private: { ${name}: true } })`);
  return server;
}
