import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import { ADMIN_COOKIE, GUEST_COOKIE, readCookie, setCookie } from './cookies.ts';
import { secretsEqual, sign, unsign } from './signed-cookie.ts';

const GUEST_MAX_AGE_S = 30 * 24 * 3600;
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
  }

  guestUserId(req: IncomingMessage): string | null {
    const id = unsign(readCookie(req, GUEST_COOKIE), this.guestSigningKey);
    return id && ID.test(id) ? id : null;
  }

  startGuest(req: IncomingMessage, res: ServerResponse): string {
    const existing = this.guestUserId(req);
    const userId = existing ?? `u_${randomBytes(12).toString('base64url')}`;
    setCookie(res, GUEST_COOKIE, sign(userId, this.guestSigningKey), {
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
    setCookie(res, ADMIN_COOKIE, sign(id, this.adminSigningKey), {
      sameSite: 'strict',
      maxAge: ADMIN_MAX_AGE_S,
      secure: this.d.secure,
    });
    return id;
  }

  /** The admin session id when the cookie is genuine and not revoked. */
  async adminSessionId(req: IncomingMessage): Promise<string | null> {
    const id = unsign(readCookie(req, ADMIN_COOKIE), this.adminSigningKey);
    if (!id || !ID.test(id)) return null;
    return (await this.d.redis.exists(this.d.adminKey(id))) === 1 ? id : null;
  }

  async endAdmin(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const id = unsign(readCookie(req, ADMIN_COOKIE), this.adminSigningKey);
    if (id && ID.test(id)) await this.d.redis.del(this.d.adminKey(id));
    setCookie(res, ADMIN_COOKIE, '', { sameSite: 'strict', maxAge: 0, secure: this.d.secure });
  }
}
