// The design lives in the repository: comments and docs cite docs/architecture.md (and README.md,
// docs/benchmarks.md), never documents a clone does not contain — the old spec, stack and style
// notes. And every section they cite exists, so a renamed heading cannot leave a dead pointer.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The one document allowed to speak of the old notes (it says what replaced them, if anything). */
const DESIGN = 'docs/architecture.md';
/** Citations of documents that are not in the repository (written so this file does not match). */
const OUTSIDE = /\bSPEC ?(§|I\d)|\bSTACK\.md\b|\bSTYLE ?§/;
/** CI's script may name the CI machine's own notes: machinery, not the project's design. */
const MACHINE_NOTES = { '.ci/run': /shared\/STACK\.md/g } as Record<string, RegExp>;
/** `some/doc.md#anchor`, as comments and Markdown links write it. */
const ANCHOR = /([\w./-]*\.md)#([\w-]+)/g;
/** A document's name, a comma and a quoted heading: the prose form, once comment markers are joined. */
const PROSE = /([\w./-]*\.md), ["']([^"']+)["']/g;

/** Tracked and new (not ignored) files, from git; binaries skipped. */
function repositoryTexts(): { file: string; text: string }[] {
  const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return [...new Set(out.split('\0'))]
    .filter((f) => f && existsSync(path.join(ROOT, f)))
    .sort()
    .flatMap((file) => {
      const bytes = readFileSync(path.join(ROOT, file));
      return bytes.includes(0) ? [] : [{ file, text: bytes.toString('utf8') }];
    });
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function headings(markdown: string): string[] {
  return markdown
    .split('\n')
    .filter((l) => /^#{1,6} /.test(l))
    .map((l) => l.replace(/^#+ /, '').trim());
}

/** A comment's lines joined back into prose: a citation wrapped over two lines reads as one. */
function unwrapped(text: string): string {
  return text.replace(/\s*\n\s*(\*(?!\/)|\/\/|--|#)?\s*/g, ' ');
}

describe('the design cited is the one in the repository', () => {
  const texts = repositoryTexts();
  const docs = new Map<string, string[]>();
  /** The headings of a cited document, resolved from the root or beside the citing file. */
  const sectionsOf = (cited: string, from: string): string[] | undefined => {
    for (const candidate of [cited, path.posix.join(path.posix.dirname(from), cited)]) {
      const file = path.posix.normalize(candidate);
      if (!docs.has(file) && existsSync(path.join(ROOT, file)))
        docs.set(file, headings(readFileSync(path.join(ROOT, file), 'utf8')));
      if (docs.has(file)) return docs.get(file);
    }
    return undefined;
  };

  it('sees the sources, the docs and the design document', () => {
    const files = texts.map((t) => t.file);
    for (const f of [DESIGN, 'README.md', 'docker-compose.yml', 'prisma/schema.prisma'])
      expect(files, f).toContain(f);
    for (const ext of ['.ts', '.tsx', '.mjs', '.lua', '.json', '.md'])
      expect(
        files.some((f) => f.endsWith(ext)),
        ext,
      ).toBe(true);
  });

  it('nothing outside docs/architecture.md cites the old spec, stack or style notes', () => {
    const cites = texts.flatMap(({ file, text }) => {
      if (file === DESIGN) return [];
      const checked = MACHINE_NOTES[file] ? text.replace(MACHINE_NOTES[file], '') : text;
      return checked
        .split('\n')
        .flatMap((line, i) => (OUTSIDE.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : []));
    });
    expect(cites).toEqual([]);
  });

  it('every cited section of a Markdown document exists', () => {
    const dead = texts.flatMap(({ file, text }) => {
      const found: string[] = [];
      for (const [, doc = '', anchor = ''] of text.matchAll(ANCHOR)) {
        const sections = sectionsOf(doc, file);
        if (sections && !sections.some((h) => slug(h) === anchor)) found.push(`${file}: ${doc}#${anchor}`);
      }
      for (const [, doc = '', title = ''] of unwrapped(text).matchAll(PROSE)) {
        const sections = sectionsOf(doc, file);
        if (sections && !sections.some((h) => h.toLowerCase() === title.toLowerCase()))
          found.push(`${file}: ${doc}, "${title}"`);
      }
      return found;
    });
    expect(dead).toEqual([]);
  });

  it('reads citations the way they are written', () => {
    expect(slug("The worker's batch")).toBe('the-workers-batch');
    expect(slug('Logs, metrics, health and audit')).toBe('logs-metrics-health-and-audit');
    expect(slug('The publish breaker, the sweeper and redelivery')).toBe(
      'the-publish-breaker-the-sweeper-and-redelivery',
    );
    expect(OUTSIDE.test(['SPEC', '§4 step 2'].join(' '))).toBe(true);
    expect(OUTSIDE.test(['see STACK', 'md'].join('.'))).toBe(true);
    expect(OUTSIDE.test(['STYLE', '§2'].join(' '))).toBe(true);
    expect(OUTSIDE.test('const STACK = /"stack":"/g;')).toBe(false);
    const wrapped = [` * each tick (${DESIGN}, "The`, ' * outbox and the sweeper"): check'].join('\n');
    expect([...unwrapped(wrapped).matchAll(PROSE)].map((m) => m[2])).toEqual(['The outbox and the sweeper']);
  });
});
