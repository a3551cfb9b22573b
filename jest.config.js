/** Jest configuration: TypeScript is transpiled by SWC (type-checking is `npm run typecheck`). */
module.exports = {
  testEnvironment: "node",
  // The Pulumi SDK keeps its runtime state in globals shared by every test file of a worker.
  testEnvironmentOptions: { globalsCleanup: "off" },
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  // The cluster and engine tiers run on their own (npm run test:cluster, npm run test:engine).
  testPathIgnorePatterns: ["/node_modules/", "/test/cluster/", "/test/engine/"],
  transform: {
    "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2020", parser: { syntax: "typescript" } } }],
  },
  // Examples import the package by name, as another stack would.
  moduleNameMapper: { "^kaniko-builder$": "<rootDir>/components/index.ts" },
  reporters: ["default", ["<rootDir>/test/summaryReporter.js", { tiers: ["unit", "e2e"] }]],
  testTimeout: 60000,
};
