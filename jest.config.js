/** Jest configuration: TypeScript is transpiled by SWC (type-checking is `npm run typecheck`). */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2020", parser: { syntax: "typescript" } } }],
  },
  testTimeout: 60000,
};
