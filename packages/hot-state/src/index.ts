export * from './keys.ts';
export * from './replies.ts';
export * from './scripts.ts';
