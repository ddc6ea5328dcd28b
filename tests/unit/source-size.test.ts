// No source file over ~400 lines: past that a file usually holds more than one idea. Where one
// must be longer, a comment within its first lines says why, starting `Over 400 lines:`.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAX_LINES = 400;
const FOLDERS = ['apps', 'packages', 'scripts', 'tests', 'bench'];
const SOURCE = /\.(ts|tsx|mts|mjs|js|lua)$/;
/** Written by tools, not people (also git-ignored today: this keeps them out if that changes). */
const GENERATED = [/\/generated\//, /\/dist\//];
/** `// Over 400 lines: <why>` (or `*`, `--` in Lua) within the first lines, with a reason. */
const JUSTIFIED = /^\s*(\/\/|\/?\*+|--)\s*Over 400 lines: \S.{15,}/;
const HEAD_LINES = 5;

/** The repository's source files, tracked or new (not ignored), from git. */
function sourceFiles(): string[] {
  const out = execFileSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', ...FOLDERS],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  return [...new Set(out.split('\0'))]
    .filter((f) => SOURCE.test(f) && !GENERATED.some((g) => g.test(`/${f}`)))
    .sort();
}

function lineCount(text: string): number {
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

describe('source files stay small', () => {
  const files = sourceFiles();

  it('sees the sources of every folder and kind', () => {
    for (const folder of FOLDERS)
      expect(
        files.some((f) => f.startsWith(`${folder}/`)),
        folder,
      ).toBe(true);
    for (const ext of ['.ts', '.tsx', '.mjs', '.lua'])
      expect(
        files.some((f) => f.endsWith(ext)),
        ext,
      ).toBe(true);
  });

  it(`no source file is over ${MAX_LINES} lines unless its first lines say why`, () => {
    const tooLong = files.flatMap((f) => {
      const text = readFileSync(path.join(ROOT, f), 'utf8');
      const lines = lineCount(text);
      if (lines <= MAX_LINES) return [];
      const head = text.split('\n').slice(0, HEAD_LINES);
      return head.some((l) => JUSTIFIED.test(l)) ? [] : [`${f}: ${lines} lines`];
    });
    expect(tooLong).toEqual([]);
  });

  it('recognises a justification only in the first lines, and only with a reason', () => {
    const justified = (head: string[]) => head.slice(0, HEAD_LINES).some((l) => JUSTIFIED.test(l));
    expect(justified(['// Over 400 lines: one ordered script of cases over shared state.'])).toBe(true);
    expect(justified(['/**', ' * Over 400 lines: the generated table of every error reason.'])).toBe(true);
    expect(justified(['-- Over 400 lines: one atomic step, which Redis runs as one script.'])).toBe(true);
    expect(justified(['// Over 400 lines:'])).toBe(false);
    expect(justified(['import x;', '', '', '', '', '// Over 400 lines: said too late in the file.'])).toBe(
      false,
    );
  });
});
