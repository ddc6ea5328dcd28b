import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import { ADMIN_COOKIE, GUEST_COOKIE, readCookie, setCookie } from './cookies.ts';
import { secretsEqual, sign, unsign } from './signed-cookie.ts';

const GUEST_MAX_AGE_S = 30 * 24 * 3600;
/** Verified guest cookies remembered per process (~200 bytes each): the HMAC is paid once per cookie. */
const VERIFIED_COOKIES = 50_000;
const ADMIN_MAX_AGE_S = 12 * 3600;
const ID = /^[A-Za-z0-9_-]{8,64}$/;

/**
 * Guest sessions are stateless signed cookies (no store round trip on the order path);
 * admin sessions are signed *and* live in Redis, so logout revokes them everywhere
 * (docs/architecture.md#the-http-edge).
 */
export class Sessions {
  // One signing key per cookie purpose: a guest cookie can never pass for an admin one.
  private readonly guestSigningKey: string;
  private readonly adminSigningKey: string;
  // In production the `__Host-` prefix: the browser keeps them Secure, host-only, path `/`
  // (a sibling subdomain cannot plant or overwrite one; issue 10 L4).
  private readonly guestCookie: string;
  private readonly adminCookie: string;
  /** Guest cookies that verified: cookie → (user, issued at), least recently used first. */
  private readonly verified = new Map<string, { userId: string; issuedS: number }>();

  constructor(
    private readonly d: {
      redis: Redis;
      secret: string;
      adminPassword: string;
      secure: boolean;
      adminKey: (id: string) => string;
    },
  ) {
    this.guestSigningKey = `${d.secret}:guest`;
    this.adminSigningKey = `${d.secret}:admin`;
    this.guestCookie = d.secure ? `__Host-${GUEST_COOKIE}` : GUEST_COOKIE;
    this.adminCookie = d.secure ? `__Host-${ADMIN_COOKIE}` : ADMIN_COOKIE;
  }

  /**
   * The guest of a genuine, unexpired cookie: `<userId>:<issued at, unix s>` signed, so the
   * server enforces the 30 days itself, whatever the browser keeps (issue 10 L4).
   */
  guestUserId(req: IncomingMessage): string | null {
    const cookie = readCookie(req, this.guestCookie);
    if (!cookie) return null;
    // A cookie that verified once verifies again: its (user, issued at) is remembered (a bounded
    // LRU) so a shopper's every request does not pay the HMAC again; its age is judged each time.
    let known = this.verified.get(cookie);
    if (known === undefined) {
      const value = unsign(cookie, this.guestSigningKey);
      const m = value ? /^([A-Za-z0-9_-]{8,64}):(\d{1,12})$/.exec(value) : null;
      if (!m?.[1]) return null;
      known = { userId: m[1], issuedS: Number(m[2]) };
      if (this.verified.size >= VERIFIED_COOKIES) {
        const oldest = this.verified.keys().next().value;
        if (oldest !== undefined) this.verified.delete(oldest);
      }
    } else this.verified.delete(cookie); // re-inserted below: most recently used last
    this.verified.set(cookie, known);
    const ageS = Date.now() / 1000 - known.issuedS;
    return ageS >= -300 && ageS <= GUEST_MAX_AGE_S ? known.userId : null;
  }

  startGuest(req: IncomingMessage, res: ServerResponse): string {
    const existing = this.guestUserId(req);
    const userId = existing ?? `u_${randomBytes(12).toString('base64url')}`;
    const issuedAt = Math.floor(Date.now() / 1000);
    setCookie(res, this.guestCookie, sign(`${userId}:${issuedAt}`, this.guestSigningKey), {
      sameSite: 'lax',
      maxAge: GUEST_MAX_AGE_S,
      secure: this.d.secure,
    });
    return userId;
  }

  checkPassword(password: string): boolean {
    return secretsEqual(password, this.d.adminPassword);
  }

  async startAdmin(res: ServerResponse, meta: { ip: string }): Promise<string> {
    const id = randomBytes(18).toString('base64url');
    await this.d.redis.set(
      this.d.adminKey(id),
      JSON.stringify({ ip: meta.ip, at: new Date().toISOString() }),
      'EX',
      ADMIN_MAX_AGE_S,
    );
    setCookie(res, this.adminCookie, sign(id, this.adminSigningKey), {
      sameSite: 'strict',
      maxAge: ADMIN_MAX_AGE_S,
      secure: this.d.secure,
    });
    return id;
  }

  /** The admin session id when the cookie is genuine and not revoked. */
  async adminSessionId(req: IncomingMessage): Promise<string | null> {
    const id = unsign(readCookie(req, this.adminCookie), this.adminSigningKey);
    if (!id || !ID.test(id)) return null;
    return (await this.d.redis.exists(this.d.adminKey(id))) === 1 ? id : null;
  }

  async endAdmin(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const id = unsign(readCookie(req, this.adminCookie), this.adminSigningKey);
    if (id && ID.test(id)) await this.d.redis.del(this.d.adminKey(id));
    setCookie(res, this.adminCookie, '', { sameSite: 'strict', maxAge: 0, secure: this.d.secure });
  }
}
