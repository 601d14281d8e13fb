import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed documents for the operations the tests (and the example client) send,
// generated from the checked-in schema.graphql.
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['test/**/*.ts', 'examples/**/*.ts', '!test/generated/**'],
  ignoreNoDocuments: true,
  // NodeNext resolution needs extensions on relative imports.
  emitLegacyCommonJSImports: false,
  generates: {
    'test/generated/': {
      preset: 'client',
      config: { useTypeImports: true, scalars: { DateTime: 'string', JSON: 'unknown' }, enumsAsTypes: true },
      presetConfig: { fragmentMasking: false },
    },
  },
};

export default config;
