// Over 400 lines: one wire-compatible copy of resolveResponse for one request shape, plus its lean variant.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import {
  type AnyTRPCProcedure,
  type AnyTRPCRouter,
  callTRPCProcedure,
  getErrorShape,
  getTRPCErrorFromUnknown,
  type inferRouterContext,
  TRPCError,
  transformTRPCResponse,
} from '@trpc/server';
import type { CreateHTTPContextOptions } from '@trpc/server/adapters/standalone';
import { getHTTPStatusCode, type HTTPErrorHandler, type TRPCRequestInfo } from '@trpc/server/http';
import { setHeaders } from './guards.ts';

/**
 * A wire-compatible shortcut for the one request shape the order path uses: a single,
 * non-batched JSON `POST /trpc/<mutation>` (docs/benchmarks.md#the-trpc-fast-path). It calls the
 * same router procedure (`callTRPCProcedure`) with the same context, the same `onError` and the
 * router's own error formatter, and answers what @trpc/server's standalone adapter answers:
 * status, `content-type`, `vary` and body byte for byte; cookies and `X-Correlation-Id` come
 * from the context and the procedure, as there. It skips what costs the adapter its time:
 * rebuilding the request as a web `Request`, the web-stream response, per-request
 * `AbortSignal`s and `AbortSignal.any`.
 *
 * Two differences, neither in the answer: the body goes out with `Content-Length` (the adapter
 * streams it, `Transfer-Encoding: chunked`), and the procedures' `signal` is the connection's
 * (see `connectionSignal`).
 *
 * It follows @trpc/server 11.22.1's `resolveResponse` for that shape (`_def.procedures`, the
 * lazily read and memoised input, the error paths), reads internals, and is only valid for that
 * version: the package is pinned, the server turns this path off for any other installed
 * version (`FOLLOWED_TRPC_VERSION`), and tests/integration/fast-path.test.ts compares its
 * answers with the adapter's. Everything else (queries, subscriptions, batches, streaming, any
 * query string, unknown paths, odd hosts) is declined and goes to the adapter unchanged.
 */
export interface FastMutationOptions<TRouter extends AnyTRPCRouter> {
  router: TRouter;
  createContext: (
    opts: CreateHTTPContextOptions,
  ) => inferRouterContext<TRouter> | Promise<inferRouterContext<TRouter>>;
  /** The `onError` given to the official handler: called for every error, as there. */
  onError?: HTTPErrorHandler<TRouter, IncomingMessage>;
  /** The official handler's `maxBodySize`. */
  maxBodySize: number;
  /** Called once for each request this path takes (a metric). */
  onHandled?: () => void;
  /** Procedures this path may answer without tRPC's call machinery (see `DirectProcedure`). */
  direct?: Record<string, DirectProcedure>;
}

/**
 * A procedure's own lean version, for the one hot path (order.place): given the parsed JSON
 * input it either declines — having touched nothing, not even a header — and the request goes
 * through `callTRPCProcedure` as usual, or it answers exactly what the procedure would have:
 * `{ data }`, or `{ fail }` with what the procedure would have thrown (called only when the
 * answer is not already known) and, for an error whose answer depends on nothing but its kind, a
 * `cacheKey`: that answer is formatted once by the router's own error formatter and then reused
 * (the refusals of a spike cost no error object, no error shape and no JSON.stringify).
 */
export type DirectProcedure = (
  req: IncomingMessage,
  res: ServerResponse,
  input: unknown,
) => Promise<DirectResult> | DirectResult;
export type DirectResult =
  | typeof DECLINE
  /** `correlationId`: the answer's `X-Correlation-Id`, as the context sets it. */
  | { data: unknown; correlationId: string }
  /** `ctx`: what `onError` gets as the context (the procedure's would carry the correlation id). */
  | { fail: () => unknown; cacheKey?: string; ctx?: unknown; correlationId: string };
export const DECLINE = Symbol('decline');

/**
 * Handles the request and returns true, or returns false having touched nothing. `head`: the
 * headers the server sets on every such answer (name, value, …; HSTS, Cache-Control), not yet
 * set on `res`: a lean answer writes them with its own in one `writeHead`, any other path sets
 * them first.
 */
export type FastMutationHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  head: readonly string[],
) => boolean;

/** The @trpc/server version whose `resolveResponse` this file follows (and the test compares). */
export const FOLLOWED_TRPC_VERSION = '11.22.1';

/** The installed @trpc/server version, read from its package.json. */
export function installedTrpcVersion(): string | undefined {
  try {
    const pkg: unknown = createRequire(import.meta.url)('@trpc/server/package.json');
    return (pkg as { version?: string }).version;
  } catch {
    return undefined;
  }
}

const BASE = '/trpc/';
/** What @trpc/server's `resolveResponse` throws for a stream-like result of a plain call. */
const STREAM_RESULT_MESSAGE =
  'Cannot use stream-like response in non-streaming request - use httpBatchStreamLink';
const EMPTY = Buffer.alloc(0);

export function createFastMutationHandler<TRouter extends AnyTRPCRouter>(
  opts: FastMutationOptions<TRouter>,
): FastMutationHandler {
  type Ctx = inferRouterContext<TRouter>;
  const { router, createContext, onError, maxBodySize, onHandled, direct } = opts;
  const config = router._def._config;
  // Looked up once: `_def.procedures` is the flat record the official handler reads too.
  const mutations = new Map<string, AnyTRPCProcedure>();
  for (const [path, value] of Object.entries(router._def.procedures as Record<string, unknown>)) {
    const proc = value as AnyTRPCProcedure;
    if (typeof proc === 'function' && proc._def.type === 'mutation') mutations.set(path, proc);
  }
  const hosts = new HostCheck();
  /** Formatted answers of `DirectProcedure` errors by path and cache key. */
  const known = new Map<string, { status: number; payload: string; length: string }>();

  const report = (
    error: TRPCError,
    req: IncomingMessage,
    path: string | undefined,
    input: unknown,
    ctx: Ctx | undefined,
  ) => onError?.({ error, path, input, ctx, type: 'mutation', req });

  /** `caughtErrorToData` of resolveResponse: a failure outside the call itself (no path, no input). */
  const outerFailure = (cause: unknown, req: IncomingMessage, ctx: Ctx | undefined) => {
    const error = getTRPCErrorFromUnknown(cause);
    report(error, req, undefined, undefined, ctx);
    const json = {
      error: getErrorShape({ config, error, type: 'mutation', path: undefined, input: undefined, ctx }),
    };
    return { status: getHTTPStatusCode(json), body: JSON.stringify(transformTRPCResponse(config, json)) };
  };

  /**
   * The answer of a `DirectProcedure` that did not decline, as the call path would write it:
   * the same headers in the same order (the server's, `X-Correlation-Id`, `content-type`,
   * `vary`), written at once from one flat list with the body's length.
   */
  function leanAnswer(
    res: ServerResponse,
    req: IncomingMessage,
    path: string,
    input: unknown,
    answer: Exclude<DirectResult, typeof DECLINE>,
    head: readonly string[],
  ): void {
    let status = 200;
    let payload: string;
    let length: string;
    if ('data' in answer) {
      payload = JSON.stringify({ result: { data: config.transformer.output.serialize(answer.data) } });
      length = String(Buffer.byteLength(payload));
    } else {
      const key = answer.cacheKey === undefined ? undefined : `${path}\n${answer.cacheKey}`;
      const cached = key === undefined ? undefined : known.get(key);
      if (cached) ({ status, payload, length } = cached);
      else {
        const error = getTRPCErrorFromUnknown(answer.fail());
        report(error, req, path, input, answer.ctx as Ctx | undefined);
        const shape = getErrorShape({ config, error, type: 'mutation', path, input, ctx: undefined });
        const json = { error: shape };
        status = getHTTPStatusCode(json);
        payload = JSON.stringify(transformTRPCResponse(config, json));
        length = String(Buffer.byteLength(payload));
        // Only an answer with nothing of this request in it (no stack, as in development).
        if (key !== undefined && !('stack' in (shape.data as object)))
          known.set(key, { status, payload, length });
      }
    }
    const headers = head.slice();
    headers.push(
      'X-Correlation-Id',
      answer.correlationId,
      'content-type',
      'application/json',
      'vary',
      'trpc-accept, accept',
      'content-length',
      length,
    );
    res.writeHead(status, headers);
    res.end(payload);
  }

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    path: string,
    procedure: AnyTRPCProcedure,
    head: readonly string[],
  ): Promise<void> {
    const signal = connectionSignal(req);
    // The adapter starts reading the body at once and fails a read past maxBodySize, but the
    // error surfaces only if the procedure reads its input (an admin check may answer first).
    const body = await readBody(req, maxBodySize);
    if (body === null) return; // the client left mid-body: nobody to answer

    // getRawInput, memoised like the adapter's (same errors, same `result()` semantics).
    let read: 0 | 1 | 2 = 0; // unread, parsed, failed
    let input: unknown;
    let inputError: unknown;
    const getRawInput = async (): Promise<unknown> => {
      if (read === 1) return input;
      if (read === 2) throw inputError;
      try {
        if (body instanceof TRPCError) throw body;
        // Request.json(): UTF-8 decoding without a leading BOM, then JSON.parse.
        let text = body.toString('utf8');
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        input = config.transformer.input.deserialize(JSON.parse(text));
        read = 1;
        return input;
      } catch (cause) {
        inputError =
          cause instanceof TRPCError
            ? cause
            : new TRPCError({
                code: 'BAD_REQUEST',
                message: cause instanceof Error ? cause.message : 'Invalid input',
                cause,
              });
        read = 2;
        throw inputError;
      }
    };
    const result = () => (read === 1 ? input : undefined);

    const lean = direct?.[path];
    if (lean && !(body instanceof TRPCError)) {
      const raw = await getRawInput().catch(() => DECLINE);
      const answer = raw === DECLINE ? DECLINE : await lean(req, res, raw);
      if (answer !== DECLINE) {
        leanAnswer(res, req, path, raw, answer, head);
        return;
      }
    }
    setHeaders(res, head);

    let ctx: Ctx | undefined;
    let status = 200;
    let payload: string;
    try {
      try {
        let failure: TRPCError | undefined;
        let data: unknown;
        try {
          const info: TRPCRequestInfo = {
            accept: null,
            type: 'mutation',
            isBatchCall: false,
            calls: [{ path, getRawInput, result, procedure, batchIndex: 0 }],
            connectionParams: null,
            signal,
            url,
          };
          const made = createContext({ req, res, info });
          ctx = made instanceof Promise ? await made : made;
        } catch (cause) {
          failure = getTRPCErrorFromUnknown(cause);
        }
        try {
          if (failure) throw failure;
          data = await callTRPCProcedure({
            router,
            path,
            getRawInput,
            ctx,
            type: 'mutation',
            signal,
            batchIndex: 0,
          });
        } catch (cause) {
          failure = getTRPCErrorFromUnknown(cause);
          report(failure, req, path, result(), ctx);
        }
        if (failure) {
          const json = {
            error: getErrorShape({ config, error: failure, type: 'mutation', path, input: result(), ctx }),
          };
          status = getHTTPStatusCode(json);
          payload = JSON.stringify(transformTRPCResponse(config, json));
        } else {
          if (isDataStream(data)) {
            throw new TRPCError({ code: 'UNSUPPORTED_MEDIA_TYPE', message: STREAM_RESULT_MESSAGE });
          }
          payload = JSON.stringify({ result: { data: config.transformer.output.serialize(data) } });
        }
      } catch (cause) {
        ({ status, body: payload } = outerFailure(cause, req, ctx));
      }
    } catch (cause) {
      // The adapter's last resort (`internal_exceptionHandler`): no content type, no vary.
      const error = getTRPCErrorFromUnknown(cause);
      onError?.({ error, type: 'unknown', path: undefined, input: undefined, ctx: undefined, req });
      const shape = getErrorShape({
        config,
        error,
        type: 'unknown',
        path: undefined,
        input: undefined,
        ctx: undefined,
      });
      res.statusCode = shape.data.httpStatus;
      res.end(JSON.stringify(transformTRPCResponse(config, { error: shape })));
      return;
    }
    // As the adapter's writeResponse: a status a procedure set stays; headers in its order.
    if (res.statusCode === 200) res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    res.setHeader('vary', 'trpc-accept, accept');
    res.end(payload);
  }

  return function fastMutation(req, res, url, head) {
    if (req.method !== 'POST' || url.search !== '' || req.readableEnded) return false; // batch, …
    const h = req.headers;
    if (h['trpc-accept'] !== undefined || h.accept?.includes('application/jsonl')) return false;
    if (!isJson(h['content-type']) || !hosts.ok(h.host)) return false;
    let path = url.pathname.slice(BASE.length);
    if (path.includes('%')) {
      try {
        path = decodeURIComponent(path);
      } catch {
        return false;
      }
    }
    const procedure = mutations.get(path);
    if (!procedure) return false; // queries, subscriptions, unknown (or lazy) paths, batches
    onHandled?.();
    handle(req, res, url, path, procedure, head).catch(() => {
      // Only if the adapter's own last resort failed (a throwing error formatter): no answer.
      if (!res.writableEnded) res.destroy();
    });
    return true;
  };
}

const signals = new WeakMap<object, AbortSignal>();

/**
 * The procedures' `signal`: one per connection, aborted when the connection closes. The adapter
 * makes one per request (and combines it with others), aborted when the client goes away before
 * the answer is written — with HTTP/1.1 that is the connection closing, so the signal tells the
 * same thing. Creating an AbortSignal costs ~3 µs on Node 20, as much as the rest of this path.
 * The difference: a signal whose answer was written may still abort later, when its connection
 * closes; a mutation that adds abort listeners must remove them when it ends (none does).
 */
function connectionSignal(req: IncomingMessage): AbortSignal {
  const socket = req.socket;
  let signal = signals.get(socket);
  if (signal === undefined) {
    const controller = new AbortController();
    signal = controller.signal;
    signals.set(socket, signal);
    if (socket.destroyed) controller.abort();
    else socket.once('close', () => controller.abort());
  }
  return signal;
}

/** The adapter's test: the media type before any parameter, case-insensitive. */
function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  if (contentType === 'application/json') return true;
  return contentType.toLowerCase().split(';', 1)[0]?.trim() === 'application/json';
}

/**
 * The adapter rebuilds the URL from the Host header and answers 400 when that fails; such
 * requests go to it. Hosts seen are remembered (bounded, so odd hosts cannot grow the map).
 */
class HostCheck {
  private readonly seen = new Map<string, boolean>();
  ok(host: string | undefined): boolean {
    if (host === undefined) return true; // the adapter uses "localhost"
    const known = this.seen.get(host);
    if (known !== undefined) return known;
    let ok = true;
    try {
      new URL('/', `http://${host}`);
    } catch {
      ok = false;
    }
    if (this.seen.size < 64) this.seen.set(host, ok);
    return ok;
  }
}

/**
 * The body as the adapter reads it: everything up to `max` bytes (then a PAYLOAD_TOO_LARGE
 * error, the rest left unread), or null when the request ends early (client gone: 'close'
 * before 'end'; without an 'error' listener Node emits no error on the request).
 */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | TRPCError | null> {
  return new Promise((resolve) => {
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        done();
        resolve(new TRPCError({ code: 'PAYLOAD_TOO_LARGE' }));
      } else if (first === undefined) first = chunk;
      else if (chunks === undefined) chunks = [first, chunk];
      else chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      resolve(chunks ? Buffer.concat(chunks, size) : (first ?? EMPTY));
    };
    const onGone = () => {
      done();
      resolve(null);
    };
    const done = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onGone);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onGone);
  });
}

/** resolveResponse's `isDataStream`: promises or async iterables cannot go in a plain answer. */
function isDataStream(v: unknown): boolean {
  if (!isPlainObjectLike(v)) return false;
  if (Symbol.asyncIterator in v) return true;
  for (const x of Object.values(v)) {
    if (isPromiseLike(x) || (isPlainObjectLike(x) && Symbol.asyncIterator in x)) return true;
  }
  return false;
}

function isPlainObjectLike(v: unknown): v is object {
  return !!v && !Array.isArray(v) && typeof v === 'object';
}

function isPromiseLike(v: unknown): boolean {
  if (!isPlainObjectLike(v) && typeof v !== 'function') return false;
  const p = v as { then?: unknown; catch?: unknown };
  return typeof p.then === 'function' && typeof p.catch === 'function';
}
