import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { elevatorFaultCodes, errorCatalog } from '../../src/domain/index.js';
import { configVariables } from '../../src/hub/config.js';

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');

describe('the documentation', () => {
  it('documents every error code of the catalogue in docs/errors.md', () => {
    const doc = read('docs/errors.md');
    for (const code of Object.keys(errorCatalog)) expect(doc, code).toContain(`\`${code}\``);
  });

  it('documents every elevator fault_code of the vocabulary in docs/mqtt.md', () => {
    const doc = read('docs/mqtt.md');
    for (const code of Object.keys(elevatorFaultCodes))
      expect(doc, code).toContain(`| \`${code}\``);
  });

  it('documents every configuration variable in the README table', () => {
    const readme = read('README.md');
    for (const name of configVariables) expect(readme, name).toContain(`| \`${name}\``);
  });
});
