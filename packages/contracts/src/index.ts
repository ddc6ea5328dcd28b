export * from './errors.ts';
export * from './inputs.ts';
export * from './live.ts';
export * from './messages.ts';
export * from './sale.ts';
