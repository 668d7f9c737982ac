/** @jest-config-loader ts-node */
/** @jest-config-loader-options {"transpileOnly": true} */
import type { Config } from 'jest';

// ESM TypeScript throughout: ts-jest transpiles each file on its own
// (isolatedModules) and relative imports keep their `.js` suffix in source.
const esmTypeScript = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  testEnvironment: 'node',
};

const config: Config = {
  // The summary reporter's line stays last on stdout (CI reads it); the JUnit
  // reporter writes reports/out/junit/device.xml when device suites ran.
  reporters: ['default', '<rootDir>/scripts/device-junit-reporter.cjs', '<rootDir>/scripts/summary-reporter.cjs'],
  projects: [
    {
      ...esmTypeScript,
      displayName: 'unit',
      testMatch: ['<rootDir>/harness/**/*.test.ts', '<rootDir>/bench/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '\\.device\\.test\\.ts$'],
    },
    {
      ...esmTypeScript,
      displayName: 'device',
      // Suites that talk to a device (the virtual device unless ZLAB_SERIAL names one).
      testMatch: ['<rootDir>/harness/**/*.device.test.ts', '<rootDir>/tests/device/**/*.test.ts'],
      slowTestThreshold: 60,
      globalSetup: '<rootDir>/tests/support/device-global-setup.js',
      globalTeardown: '<rootDir>/tests/support/device-global-teardown.js',
    },
  ],
};

export default config;
