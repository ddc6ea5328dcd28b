export * from './logger.ts';
export * from './nats.ts';
export * from './redis.ts';
