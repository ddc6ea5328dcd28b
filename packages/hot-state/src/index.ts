export * from './keys.ts';
export * from './scripts.ts';
