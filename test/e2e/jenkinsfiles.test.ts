/**
 * The example Jenkinsfiles and the generated snippet pass npm-groovy-lint (CodeNarc with Jenkinsfile
 * parsing, on the machine's Java); a Jenkinsfile with a syntax error fails it.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderKanikoPodTemplate } from "../../components";
import { TOOLS, describeWithTools, run } from "../helpers/tools";

const ROOT = path.resolve(__dirname, "..", "..");
const LINT = path.join(ROOT, "node_modules", ".bin", "npm-groovy-lint");

function lint(dir: string) {
    return run(LINT, ["--path", dir, "--failon", "warning", "--output", "txt", "--noserver"], { cwd: ROOT });
}

describeWithTools(__filename, "Jenkinsfiles pass npm-groovy-lint", [TOOLS.java], () => {
    let work: string;
    beforeAll(() => {
        work = fs.mkdtempSync(path.join(os.tmpdir(), "kaniko-builder-groovy-"));
    });
    afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

    test("examples/jenkins: no errors, no warnings", () => {
        const files = fs.readdirSync(path.join(ROOT, "examples", "jenkins"));
        expect(files.sort()).toEqual(["declarative", "inline-yaml", "local-registry", "scripted"]);
        const result = lint(path.join(ROOT, "examples", "jenkins"));
        // eslint-disable-next-line no-control-regex
        expect(result.stdout.replace(/\x1b\[[0-9;]*m/g, "")).toMatch(/results in 4 linted files/);
        expect(result.status).toBe(0);
    });

    test("the jenkinsfileSnippet output, inside a pipeline, lints clean too", () => {
        const dir = path.join(work, "snippet");
        fs.mkdirSync(dir);
        const snippet = renderKanikoPodTemplate({ registry: "registry.kaniko.svc.cluster.local:5000", insecureRegistry: true }).jenkinsfileSnippet;
        const body = snippet.trimEnd().split("\n").map((l) => `                ${l}`).join("\n");
        fs.writeFileSync(
            path.join(dir, "Jenkinsfile"),
            `pipeline {\n    agent { label 'kaniko' }\n    stages {\n        stage('Build') {\n            steps {\n${body}\n            }\n        }\n    }\n}\n`,
        );
        const result = run(LINT, ["--path", dir, "--failon", "error", "--output", "txt", "--noserver"], { cwd: ROOT });
        expect(result.status).toBe(0);
    });

    test("a Jenkinsfile with a syntax error fails (the lint can fail)", () => {
        const dir = path.join(work, "broken");
        fs.mkdirSync(dir);
        fs.writeFileSync(path.join(dir, "Jenkinsfile"), "pipeline {\n    agent { label 'kaniko' }\n    stages {\n        stage('Build' {\n        }\n    }\n}\n");
        const result = lint(dir);
        expect(result.status).not.toBe(0);
        expect(result.stdout + result.stderr).toMatch(/error/i);
    });
});
