/** Tests run on the TypeScript sources: package names map to each package's src/. */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/shared/src', '<rootDir>/server/src', '<rootDir>/client/src', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
  },
  moduleNameMapper: {
    '^@roomwire/shared$': '<rootDir>/shared/src/index.ts',
    '^@roomwire/server$': '<rootDir>/server/src/index.ts',
    '^@roomwire/client$': '<rootDir>/client/src/index.ts',
    '^@roomwire/client/react$': '<rootDir>/client/src/react/index.ts',
  },
  // A guard against a hang, for each test and hook: integration tests that take seconds on a quiet
  // machine take several times longer on a starved one (another worker, a CPU hog beside CI).
  testTimeout: 60000,
  // Integration tests start redis-server processes and Socket.IO nodes; two workers fit a 2-core machine.
  maxWorkers: 2,
  // How long a worker may take to end once its files are done before jest kills it and warns "failed to
  // exit gracefully". Measured at load average 7-10 with no handle left: the workers emitted 'exit'
  // within 43 ms of being told to end, but tearing down their 300-500 MB heaps took them past jest's
  // 500 ms default. A leak (a timer, socket or process a test left running) outlasts 3 s and still warns.
  workerGracefulExitTimeout: 3000,
};
