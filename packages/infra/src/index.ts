export * from './events.ts';
export * from './heartbeat.ts';
export * from './logger.ts';
export * from './loop.ts';
export * from './metrics-auth.ts';
export * from './nats.ts';
export * from './redis.ts';
export * from './stores.ts';
