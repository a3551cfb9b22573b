/** The engine tier (`npm run test:engine`): one file at a time, since the stacks share a node and its NodePorts. */
const base = require("../../jest.config");

module.exports = {
    ...base,
    rootDir: "../..",
    roots: ["<rootDir>/test/engine"],
    testPathIgnorePatterns: ["/node_modules/"],
    maxWorkers: 1,
    testTimeout: 600_000,
    reporters: ["default", "<rootDir>/test/engine/engineReporter.js", "<rootDir>/test/summaryReporter.js"],
};
