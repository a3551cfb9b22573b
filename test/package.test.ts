/** The package as another stack consumes it. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { recordResources } from "./helpers/pulumiMocks";

const ROOT = path.resolve(__dirname, "..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

test("the built package resolves by name (exports) and exports the components", () => {
    // Node resolves a package's own name through its "exports" map, as a consumer's stack would.
    const script = 'const m = require("kaniko-builder"); console.log(JSON.stringify(Object.keys(m).sort()))';
    const r = spawnSync(process.execPath, ["-e", script], { cwd: ROOT, encoding: "utf8" });
    expect(r.stderr).toBe("");
    const names: string[] = JSON.parse(r.stdout);
    expect(names).toEqual(expect.arrayContaining(["RegistryCredsSecret", "KanikoPodTemplate", "LocalInsecureRegistry", "InvalidInputError", "DOCKER_HUB_KEY"]));
    expect(fs.existsSync(path.join(ROOT, pkg.types))).toBe(true);
    expect(pkg.exports["."].types).toBe(`./${pkg.types}`);
});

test("importing the library entry creates no resources", async () => {
    const mocks = recordResources();
    jest.isolateModules(() => {
        require("../components");
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(mocks.resources).toEqual([]);
});

test("@pulumi/pulumi is a peer dependency (one SDK copy in the consumer), providers are dependencies", () => {
    expect(pkg.peerDependencies["@pulumi/pulumi"]).toBeDefined();
    expect(pkg.dependencies["@pulumi/pulumi"]).toBeUndefined();
    expect(Object.keys(pkg.dependencies)).toEqual(expect.arrayContaining(["@pulumi/docker", "@pulumi/kubernetes"]));
    expect(pkg.engines.node).toBe(">=20");
});
