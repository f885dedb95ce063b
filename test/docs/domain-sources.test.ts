import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultRulePack } from '../../src/rules/index.js';

const root = new URL('../../', import.meta.url).pathname;
const domainDoc = readFileSync(join(root, 'docs/domain.md'), 'utf8');
const headings = domainDoc
  .split('\n')
  .filter((line) => line.startsWith('#'))
  .map((line) => line.toLowerCase());
const sourcedSeeds = new Set(
  [...domainDoc.matchAll(/^\| (\d{3}) \|/gm)].map((m) => m[1] as string),
);

function filesUnder(dir: string, ext: RegExp): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && ext.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

/** `docs/domain.md streetlight:` and `(docs/domain.md noise)` name a section of the page. */
function citedSections(text: string): string[] {
  return [...text.matchAll(/docs\/domain\.md,? ([a-z][a-z ]*?)[:)]/g)].map((m) => m[1] as string);
}

function citedSeeds(text: string): string[] {
  return [...text.matchAll(/seeds? (\d{3}(?:(?:, | and )\d{3})*)/g)].flatMap((m) =>
    (m[1] as string).split(/, | and /),
  );
}

describe('docs/domain.md, the page every default cites', () => {
  it('has a section for every facility of every rule source that cites it', () => {
    const sources = defaultRulePack.map((rule) => rule.source);
    const cited = sources.flatMap(citedSections);
    expect(cited.length).toBeGreaterThan(20);
    for (const section of cited)
      expect(
        headings.some((h) => h.includes(section)),
        `no heading for "${section}"`,
      ).toBe(true);
  });

  it('lists every seed that code, rule sources and docs cite under Sources', () => {
    const texts = [
      ...filesUnder('src', /\.ts$/),
      ...filesUnder('docs', /\.md$/),
      join(root, 'README.md'),
    ].map((file) => readFileSync(file, 'utf8'));
    const seeds = new Set(texts.flatMap(citedSeeds));
    expect(seeds.size).toBeGreaterThan(2);
    for (const seed of seeds) expect(sourcedSeeds, `seed ${seed}`).toContain(seed);
  });
});
