import type { AnyTRPCProcedure } from '@trpc/server';
import { z } from 'zod';
import { appRouter } from '../../../apps/server/src/trpc/root.ts';
import { enc, type Reply, send, target } from './wire.ts';

/**
 * The procedures of the bad-input files and who calls them: every query and mutation of the
 * router (its path, kind and input schema, from the router itself) with a valid base input and
 * the callers to try, and the one way a property sends a call. A procedure without an entry in
 * CALLS is a failing test (tests/integration/bad-input-procedures.test.ts), not a gap.
 */

export type ClientKind = 'shopper' | 'admin' | 'anon' | 'forged';
export type Schema = { safeParse(v: unknown): { success: boolean } };

export interface Proc {
  path: string;
  kind: 'query' | 'mutation';
  schema: Schema;
  /** A valid input, the starting point of the malformed ones (undefined: takes none). */
  base: Record<string, unknown> | undefined;
  auth: 'none' | 'session' | 'admin';
  clients: ClientKind[];
  /** Valid inputs from these callers would change state (reserve, pause, revoke…): never sent. */
  guarded: ClientKind[];
}

/** How the properties call each query and mutation of the router (the router gives the rest). */
export const CALLS: Record<string, Omit<Proc, 'path' | 'kind' | 'schema'>> = {
  'session.start': { base: {}, auth: 'none', clients: ['shopper', 'anon', 'forged'], guarded: [] },
  'sale.list': { base: undefined, auth: 'none', clients: ['shopper', 'anon'], guarded: [] },
  'sale.get': { base: { saleId: 'fuzz' }, auth: 'none', clients: ['shopper', 'anon'], guarded: [] },
  'order.place': {
    base: { saleId: 'fuzz', quantity: 1, idempotencyKey: 'fuzz-key-0001' },
    auth: 'session',
    clients: ['shopper', 'anon', 'admin', 'forged'],
    guarded: ['shopper'],
  },
  'order.get': {
    base: { orderId: 'ord-0001' },
    auth: 'session',
    clients: ['shopper', 'anon', 'forged'],
    guarded: [],
  },
  'order.mine': {
    base: { saleId: 'fuzz' },
    auth: 'session',
    clients: ['shopper', 'anon', 'forged'],
    guarded: [],
  },
  'admin.login': { base: { password: 'not-the-password' }, auth: 'none', clients: ['anon'], guarded: [] },
  'admin.logout': { base: {}, auth: 'none', clients: ['admin', 'anon', 'forged'], guarded: ['admin'] },
  'admin.createSale': {
    base: { id: 'fuzz-new', name: 'new', priceCents: 100, totalStock: 10, perUserLimit: 1 },
    auth: 'admin',
    clients: ['admin', 'anon', 'forged'],
    guarded: [],
  },
  ...Object.fromEntries(
    ['admin.pauseSale', 'admin.resumeSale', 'admin.flushCache'].map((path) => [
      path,
      {
        base: { saleId: 'fuzz' },
        auth: 'admin',
        clients: ['admin', 'anon', 'forged'],
        guarded: ['admin'],
      } satisfies Omit<Proc, 'path' | 'kind' | 'schema'>,
    ]),
  ),
  'admin.restock': {
    base: { saleId: 'fuzz', quantity: 1 },
    auth: 'admin',
    clients: ['admin', 'anon', 'forged'],
    guarded: ['admin'],
  },
  'admin.dlq.list': { base: undefined, auth: 'admin', clients: ['admin', 'anon', 'forged'], guarded: [] },
  ...Object.fromEntries(
    ['admin.dlq.replay', 'admin.dlq.discard'].map((path) => [
      path,
      {
        base: { ids: ['00000000-0000-4000-8000-000000000000'] },
        auth: 'admin',
        clients: ['admin', 'anon', 'forged'],
        guarded: ['admin'],
      } satisfies Omit<Proc, 'path' | 'kind' | 'schema'>,
    ]),
  ),
};

/**
 * Every procedure of the router, from the router itself: its path, its kind and its input
 * schema. Its `_def.procedures` is flat at run time (`admin.dlq.list`), whatever its type says.
 */
export const ROUTER = Object.entries(
  appRouter._def.procedures as unknown as Record<string, AnyTRPCProcedure>,
).map(([path, p]) => ({ path, kind: p._def.type, schema: p._def.inputs[0] as Schema | undefined }));
/** The queries and mutations (subscriptions are SSE streams: tests/integration/live.test.ts). */
export const PROCS: Proc[] = ROUTER.flatMap(({ path, kind, schema }) => {
  const calls = CALLS[path];
  if (kind === 'subscription' || !calls) return [];
  // A procedure without an input parser ignores whatever input it is sent.
  return [{ path, kind, schema: schema ?? z.unknown(), ...calls }];
});

export const KNOWN_PATHS = new Set(ROUTER.map((p) => p.path));
export const MUTATIONS = PROCS.filter((p) => p.kind === 'mutation');
export const QUERIES = PROCS.filter((p) => p.kind === 'query');

/** Whether the server should accept the input. A mutation without a body is not JSON: refused. */
export function parsesAs(p: Proc, text: string | undefined): boolean {
  if (text === undefined && p.kind === 'mutation') return false;
  return p.schema.safeParse(text === undefined ? undefined : JSON.parse(text)).success;
}

export interface Caller {
  kind: ClientKind;
  cookie: string;
}

export async function call(p: Proc, caller: Caller, text: string | undefined): Promise<Reply> {
  const headers: Record<string, string> = caller.cookie ? { cookie: caller.cookie } : {};
  if (p.kind === 'query') {
    const q = text === undefined ? '' : `?input=${enc(text)}`;
    return send('GET', `/trpc/${p.path}${q}`, { headers });
  }
  return send('POST', `/trpc/${p.path}`, {
    body: text ?? '',
    headers: { ...headers, 'content-type': 'application/json' },
  });
}

/** A valid input as a request body ('' when the procedure takes none). */
export const validBody = (p: Proc) => (p.base === undefined ? '' : JSON.stringify(p.base));
/** Mutations whose valid input is harmless or guarded, as whom to send them. */
export const MUTATION_CALLS: { p: Proc; cookie: () => string }[] = MUTATIONS.filter(
  (p) => p.path !== 'admin.logout',
).map((p) => ({ p, cookie: () => (p.auth === 'admin' ? target.cookie.admin : target.cookie.shopper) }));
