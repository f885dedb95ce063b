import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageDir } from '../../scripts/node-red.js';
import { facilityTypes } from '../../src/domain/index.js';

const languages = ['en-US', 'zh-CN'] as const;
const read = (...p: string[]) => readFileSync(path.join(packageDir, ...p), 'utf8');
const manifest = JSON.parse(read('package.json')) as {
  'node-red': { nodes: Record<string, string> };
};
const types = Object.keys(manifest['node-red'].nodes);

/** Every key path of a message catalog (`hub-command.label.name`). */
function keysOf(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [prefix];
  return Object.entries(value).flatMap(([k, v]) => keysOf(v, prefix ? `${prefix}.${k}` : k));
}
const catalog = (lang: string, type: string) =>
  JSON.parse(read('nodes', 'locales', lang, `${type}.json`)) as Record<string, unknown>;

/**
 * Labels and help of every node in zh-CN and en-US (issue #14): the editor
 * shows the one matching the browser, so both must say the same things.
 */
describe('the Node-RED nodes in zh-CN and en-US', () => {
  it.each(types)('%s: both languages have the same messages and a help text', (type) => {
    const [en, zh] = languages.map((lang) => catalog(lang, type));
    expect(keysOf(zh).sort()).toEqual(keysOf(en!).sort());
    // Translated, not copied: the palette label differs.
    expect((zh![type] as { paletteLabel: string }).paletteLabel).not.toBe(
      (en![type] as { paletteLabel: string }).paletteLabel,
    );
    for (const lang of languages) {
      const help = read('nodes', 'locales', lang, `${type}.html`);
      expect(help, `${lang} help`).toContain(`data-help-name="${type}"`);
    }
    // The facility type labels follow the domain's list.
    const labels = (en![type] as { types?: Record<string, string> }).types;
    if (labels) expect(Object.keys(labels).sort()).toEqual([...facilityTypes].sort());
  });

  it.each(types)('%s: every message the editor and the runtime ask for exists', (type) => {
    const known = new Set(keysOf(catalog('en-US', type)));
    const html = read('nodes', `${type}.html`);
    const asked = [
      ...[...html.matchAll(/data-i18n="(?:\[[a-z]+\])?([^"]+)"/g)].map((m) => m[1]!),
      ...[...html.matchAll(/this\._\('([^']+)'\)/g)].map((m) => m[1]!),
    ];
    const source = path.join(packageDir, 'src', `${type}.ts`);
    if (existsSync(source)) {
      const ts = readFileSync(source, 'utf8');
      asked.push(...[...ts.matchAll(/RED\._\('([^']+)'\)/g)].map((m) => m[1]!));
    }
    for (const key of asked) {
      // Keys that end in a computed part ('hub-command.outputs.' + i) name a list.
      const k = key.replace(/\.$/, '');
      expect(
        [...known].some((x) => x === k || x.startsWith(`${k}.`)),
        `${type}: ${key}`,
      ).toBe(true);
    }
  });

  it('has a message catalog and a help text for each node and nothing else', () => {
    for (const lang of languages) {
      const files = readdirSync(path.join(packageDir, 'nodes', 'locales', lang)).sort();
      expect(files).toEqual(types.flatMap((t) => [`${t}.html`, `${t}.json`]).sort());
    }
  });
});
