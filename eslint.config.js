import js from '@eslint/js';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

// The house's walls (docs/architecture.md): which folder of src/ may import what. Paths are resolved, so a rule
// holds however an import is spelled; TypeScript's `.js` specifiers resolve to the `.ts` files.
const SRC = [
  'adapters',
  'alerts',
  'break-glass',
  'config',
  'core',
  'doctor',
  'observability',
  'queue',
  'roles',
  'runs',
  'slack',
  'store',
];
const folders = (...names) => names.map((name) => `./src/${name}`);
const except = (...names) => SRC.filter((name) => !names.includes(name));

const zones = [
  {
    target: './src',
    from: ['./lab', './test', './bench'],
    message: 'src/ ships in the image: the stand-ins, tests and benchmarks stay out of it.',
  },
  {
    target: './src/core',
    from: folders(...except('core', 'config')),
    message: 'core/ is pure: it imports only core/, the topology types and errors.',
  },
  {
    target: './src/core',
    from: './src/config',
    except: ['./topology.ts', './topology'],
    message: 'core/ reads the topology through its types only.',
  },
  {
    target: folders(...except('roles')),
    from: './src/roles',
    message: 'Only the CLI composes the roles.',
  },
  {
    target: './src/adapters',
    from: folders('alerts', 'break-glass', 'observability', 'queue', 'runs', 'slack', 'store'),
    message:
      'An adapter speaks to one outside system for the core ports; it knows nothing of runs, queues or Slack flows.',
  },
  {
    target: './src/doctor',
    from: folders('alerts', 'break-glass', 'observability', 'queue', 'runs', 'slack', 'store'),
    message:
      'doctor/ checks the outside systems through the adapters; it knows nothing of runs, queues or Slack flows.',
  },
  {
    target: './src/store',
    from: folders('adapters', 'break-glass', 'observability', 'queue', 'runs', 'slack'),
    message: 'store/ keeps state in Redis; it calls nothing above it.',
  },
  {
    target: './src/store',
    from: './src/alerts',
    except: ['./alertmanager-payload.ts'],
    message: 'store/ keeps state in Redis; it reads only the alert payload type.',
  },
  {
    target: './src/runs',
    from: folders('adapters', 'alerts', 'break-glass', 'observability', 'slack'),
    message: 'runs/ is the application layer: the surfaces call it, it does not call them.',
  },
  {
    target: folders('slack', 'alerts'),
    from: folders('adapters', 'break-glass', 'observability'),
    message:
      'Slack listeners and the alert route reach runs through runs/, not through adapters or other roots.',
  },
];

// Only src/adapters speaks to Kubernetes, AWS, PostgreSQL and the Slack Web API.
const SDKS = {
  patterns: [
    {
      group: ['@kubernetes/client-node', '@aws-sdk/*', 'pg', '@slack/web-api'],
      message: 'Only src/adapters/ imports an SDK; use a port or an adapter.',
    },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        URL: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  {
    files: ['src/cli.ts', 'bench/**', 'lab/**', 'bin/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [
        createNodeResolver({ extensions: ['.ts', '.js'], extensionAlias: { '.js': ['.ts', '.js'] } }),
      ],
    },
    rules: {
      // Every package imported is declared (types included); what the image runs, in `dependencies`.
      'import-x/no-extraneous-dependencies': ['error', { devDependencies: true, includeTypes: true }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'import-x/no-extraneous-dependencies': ['error', { devDependencies: false, includeTypes: true }],
      'import-x/no-restricted-paths': ['error', { zones }],
      // An import that does not resolve would slip past every zone.
      'import-x/no-unresolved': ['error', { ignore: ['^node:'] }],
    },
  },
  // no-restricted-imports is one rule per file: each block below lists every restriction for its files.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/adapters/**', 'src/core/**', 'src/slack/**', 'src/alerts/**', 'src/roles/**'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', SDKS] },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!\\.|node:)',
              message: 'core/ is pure TypeScript: no packages (ports are how it reaches out).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/slack/**/*.ts', 'src/alerts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            ...SDKS.patterns,
            {
              regex: '(^|/)(store|queue)/',
              allowTypeImports: true,
              message: 'Slack listeners and the alert route start, approve and report runs through runs/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/roles/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            ...SDKS.patterns,
            {
              regex: '^\\./[a-z-]+-role\\.js$',
              allowTypeImports: true,
              message: 'A role does not start another; the CLI composes them.',
            },
          ],
        },
      ],
    },
  },
);
