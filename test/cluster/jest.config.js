/** The cluster tier (`npm run test:cluster`): one file at a time, since they share a node and its NodePorts. */
const base = require("../../jest.config");

module.exports = {
    ...base,
    rootDir: "../..",
    roots: ["<rootDir>/test/cluster"],
    testPathIgnorePatterns: ["/node_modules/"],
    maxWorkers: 1,
    testTimeout: 600_000,
    reporters: ["default", "<rootDir>/test/cluster/clusterReporter.js", "<rootDir>/test/summaryReporter.js"],
};
