import { describe, expect, it } from 'vitest';
import { natsConnectOptions } from './nats.ts';

describe('natsConnectOptions (README.md#security: credentials travel in the URLs)', () => {
  it('takes user and password out of the seeds', () => {
    expect(
      natsConnectOptions('nats://surge-server:pw-1@nats:4222,nats://surge-server:pw-1@nats2:4222'),
    ).toEqual({
      servers: ['nats://nats:4222', 'nats://nats2:4222'],
      user: 'surge-server',
      pass: 'pw-1',
    });
  });
  it('reads a lone user part as a token, and leaves plain seeds alone', () => {
    expect(natsConnectOptions('nats://s3cret@127.0.0.1:4222')).toEqual({
      servers: ['nats://127.0.0.1:4222'],
      token: 's3cret',
    });
    expect(natsConnectOptions('nats://127.0.0.1:4222, 127.0.0.1:4223')).toEqual({
      servers: ['nats://127.0.0.1:4222', 'nats://127.0.0.1:4223'],
    });
  });
});
