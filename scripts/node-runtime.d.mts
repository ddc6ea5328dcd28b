// Types of scripts/node-runtime.mjs (plain JavaScript: it runs before anything is installed).
export const NODE_VERSION: string;
export const MIN_NODE_MAJOR: number;
export function majorOf(version: string): number;
export function nodePackage(platform?: string, arch?: string): string;
export function cachedNodePath(cacheDir?: string, pkg?: string): string;
export function provisionNode(opts?: {
  cacheDir?: string;
  env?: Record<string, string | undefined>;
  onFetch?: (pkg: string) => void;
}): string;
export function nodeBinForThisMachine(say: (line: string) => void): string | null;
export function ensureNode(): Promise<void>;
