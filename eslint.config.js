// @ts-check
import js from '@eslint/js';
import pluginVue from 'eslint-plugin-vue';
import tseslint from 'typescript-eslint';

const rooms = ['domain', 'db', 'broker', 'ingest', 'rules', 'cases', 'dashboard', 'simulators'];

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'data/',
      'coverage/',
      'src/dashboard/public/vendor/',
      'web/dist/',
      // Compiled from node-red/src by `npm run build -w node-red` (the prepare step).
      'node-red/nodes/**/*.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      // A room's public surface is its index.ts (style.md, lesson 5).
      'no-restricted-imports': [
        'error',
        {
          patterns: rooms.map((room) => ({
            group: [`**/${room}/*`, `!**/${room}/index.js`],
            message: `Import the ${room} room through its index.ts.`,
          })),
        },
      ],
    },
  },
  {
    // Node-RED calls a node's constructor with `this` as the node; its handlers need it by name.
    files: ['node-red/src/**/*.ts'],
    rules: { '@typescript-eslint/no-this-alias': 'off' },
  },
  {
    // Node-RED's settings file is CommonJS, loaded by Node-RED itself.
    files: ['node-red/docker/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['../*'], message: 'domain/ imports nothing outside itself.' }] },
      ],
    },
  },
  {
    files: ['src/simulators/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // `!../domain` re-admits the folder so the index can be re-admitted after it.
              group: ['../*', '!../domain', '../domain/*', '!../domain/index.js'],
              message: 'simulators/ may import only domain/ from the server.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/dashboard/public/**/*.js'],
    languageOptions: {
      globals: {
        window: 'readonly',
        document: 'readonly',
        io: 'readonly',
        navigator: 'readonly',
        localStorage: 'readonly',
        fetch: 'readonly',
        FormData: 'readonly',
      },
    },
  },
  // The web UI (issue #13): Vue single-file components in TypeScript; vue-tsc
  // type-checks them (npm run typecheck), so no-undef is TypeScript's job there.
  ...pluginVue.configs['flat/essential'],
  {
    files: ['web/**/*.vue'],
    languageOptions: {
      parserOptions: {
        parser: tseslint.parser,
        extraFileExtensions: ['.vue'],
        sourceType: 'module',
      },
    },
    rules: { 'no-undef': 'off', 'vue/multi-word-component-names': 'off' },
  },
  {
    files: ['web/**/*.ts', 'web/**/*.vue'],
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/src/*'],
              message: 'The web UI imports wire types from src/domain as `@domain/…` only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['scripts/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    files: ['web/public/sw.js'],
    languageOptions: {
      globals: { self: 'readonly', caches: 'readonly', fetch: 'readonly', URL: 'readonly' },
    },
  },
  {
    // Node-RED's settings file in the compose image: CommonJS, as Node-RED loads it.
    files: ['node-red/docker/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable' },
    },
  },
);
