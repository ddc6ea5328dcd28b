export function haproxyBinary(): string | null;
export const HAPROXY_MISSING: string;
export function haproxyConfig(o: {
  port: number;
  servers: { name: string; port: number }[];
  statsPort?: number;
  bind?: string;
}): string;
