import type { CodegenConfig } from '@graphql-codegen/cli';

const scalars = { DateTime: 'string', JSON: 'unknown' };

// Typed documents generated from the checked-in schema.graphql: one set for the
// operations the tests (and the example client) send, one for the dashboard's,
// so a schema change that breaks either fails `npm test` (pretest typechecks both).
const config: CodegenConfig = {
  schema: 'schema.graphql',
  ignoreNoDocuments: true,
  // NodeNext resolution needs extensions on relative imports.
  emitLegacyCommonJSImports: false,
  generates: {
    'test/generated/': {
      documents: ['test/**/*.ts', 'examples/**/*.ts', '!test/generated/**'],
      preset: 'client',
      config: { useTypeImports: true, scalars, enumsAsTypes: true },
      presetConfig: { fragmentMasking: false },
    },
    'web/src/gql/': {
      documents: ['web/src/**/*.{ts,tsx}', '!web/src/gql/**'],
      preset: 'client',
      config: { useTypeImports: true, scalars, enumsAsTypes: true, documentMode: 'string' },
      presetConfig: { fragmentMasking: false },
    },
  },
};

export default config;
