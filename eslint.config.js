// ESLint for the TypeScript sources (src/, test/, load/), with type information from tsconfig.json.
// Formatting is not lint's job here: no stylistic-formatting rules (the formatter owns layout).
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/**', 'node_modules/**'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'load/**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: fileURLToPath(new URL('.', import.meta.url)) },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // node:test's test()/describe() return a promise the runner itself awaits and reports; every
      // other promise must still be awaited, voided or handled. The allowance goes by name, so it
      // also lets `t.test(...)` through: await a subtest (the runner cancels one its parent outlives).
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] },
          ],
        },
      ],
      // The byte-level code is written to the noUncheckedIndexedAccess discipline: `buf[i]!` marks an
      // index that was bounds-checked. tsconfig.json does not turn that flag on, so to this rule every
      // such `!` is "unnecessary"; removing them would erase the mark, so the rule stays off.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // Same convention as tsc's noUnusedParameters: a leading underscore names a parameter an
      // override or a callback signature requires but this body does not read.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // From strictTypeChecked, where they pay off: a rejection value is unknown like a catch clause's,
      // deprecated APIs (Buffer#slice) are named, and `return await` stays where try/catch needs it.
      '@typescript-eslint/use-unknown-in-catch-callback-variable': 'error',
      '@typescript-eslint/no-deprecated': 'error',
      '@typescript-eslint/return-await': ['error', 'error-handling-correctness-only'],
    },
  },
);
